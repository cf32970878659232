//! The invisible proof-of-work at entry (ALTCHA scheme): the browser finds a number whose SHA-256
//! with the challenge's salt matches, which costs it a fraction of a second and a bot farm a lot.
//! Each solved challenge is accepted once, until it expires.

use std::collections::HashMap;
use std::sync::Mutex;

use altcha_lib_rs::{ChallengeOptions, Payload, create_challenge, verify_solution};
use serde_json::Value;

use crate::clock::now_ms;
use crate::hub::session::lock;

/// How long a challenge stays valid.
pub const CHALLENGE_SECS: i64 = 10 * 60;

pub struct ProofOfWork {
    key: String,
    max_number: u64,
    /// Signatures of solved challenges, with their expiry (Unix ms): no replay.
    spent: Mutex<HashMap<String, i64>>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PowError {
    Missing,
    Invalid,
    Replayed,
}

impl ProofOfWork {
    pub fn new(key: String, max_number: u64) -> ProofOfWork {
        ProofOfWork { key, max_number: max_number.max(1), spent: Mutex::new(HashMap::new()) }
    }

    /// A fresh challenge, as JSON for `GET /api/challenge`.
    pub fn challenge(&self) -> Option<Value> {
        let expires = chrono::Utc::now() + chrono::TimeDelta::seconds(CHALLENGE_SECS);
        let challenge = create_challenge(ChallengeOptions {
            hmac_key: &self.key,
            max_number: Some(self.max_number),
            expires: Some(expires),
            ..Default::default()
        })
        .ok()?;
        serde_json::to_value(challenge).ok()
    }

    /// Checks a solution (the `pow` field of an entry) and spends it here; returns its signature
    /// (several nodes also check it against the others, see `Gate::enter`).
    pub fn verify(&self, solution: Option<&Value>) -> Result<String, PowError> {
        let solution = solution.filter(|v| !v.is_null()).ok_or(PowError::Missing)?;
        let payload: Payload = serde_json::from_value(solution.clone()).map_err(|_| PowError::Invalid)?;
        verify_solution(&payload, &self.key, true).map_err(|_| PowError::Invalid)?;
        let now = now_ms();
        let mut spent = lock(&self.spent);
        if spent.len() > 10_000 {
            spent.retain(|_, expiry| *expiry > now);
        }
        if spent.contains_key(&payload.signature) {
            return Err(PowError::Replayed);
        }
        spent.insert(payload.signature.clone(), now + CHALLENGE_SECS * 1000);
        Ok(payload.signature)
    }

    pub fn tidy(&self) {
        let now = now_ms();
        lock(&self.spent).retain(|_, expiry| *expiry > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use altcha_lib_rs::solve_challenge;

    fn solve(challenge: &Value) -> Value {
        let number = solve_challenge(
            challenge["challenge"].as_str().expect("challenge"),
            challenge["salt"].as_str().expect("salt"),
            None,
            challenge["maxnumber"].as_u64(),
            0,
        )
        .expect("solvable");
        serde_json::json!({
            "algorithm": challenge["algorithm"], "challenge": challenge["challenge"], "number": number,
            "salt": challenge["salt"], "signature": challenge["signature"],
        })
    }

    #[test]
    fn a_solution_is_accepted_once() {
        let pow = ProofOfWork::new("k".into(), 2_000);
        let challenge = pow.challenge().expect("challenge");
        assert!(challenge["salt"].as_str().expect("salt").contains("expires="));
        let solution = solve(&challenge);
        assert!(pow.verify(Some(&solution)).is_ok());
        assert_eq!(pow.verify(Some(&solution)), Err(PowError::Replayed));
        assert_eq!(pow.verify(None), Err(PowError::Missing));
        let mut wrong = solve(&pow.challenge().expect("challenge"));
        wrong["number"] = serde_json::json!(wrong["number"].as_u64().expect("n") + 1);
        assert_eq!(pow.verify(Some(&wrong)), Err(PowError::Invalid));
        // Another server key does not accept it.
        let other = ProofOfWork::new("other".into(), 2_000);
        assert_eq!(other.verify(Some(&solve(&pow.challenge().expect("c")))), Err(PowError::Invalid));
        assert_eq!(pow.verify(Some(&serde_json::json!("garbage"))), Err(PowError::Invalid));
    }
}
