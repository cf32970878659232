//! Anonymous entry: field validation, the adults-only gate and its 24-hour device lock,
//! nickname policy and uniqueness, commune lookup, session creation.

pub mod communes;
pub mod pow;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use papote_safety::{Engine, NameReason};
use rand::Rng;
use serde_json::Value;

use self::communes::{Communes, is_valid_postcode};
use crate::hub::session::Session;
use crate::hub::{Hub, now_ms};
use crate::protocol::{Gender, MemberId, Profile};
use crate::store::EntryRecord;

pub const NICKNAME_MIN_CHARS: usize = 3;
pub const NICKNAME_MAX_CHARS: usize = 20;
pub const AGE_MIN: i64 = 18;
pub const AGE_MAX: i64 = 99;

/// One refused field (or the whole request when `field` is `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryError {
    pub status: u16,
    pub code: &'static str,
    pub field: Option<&'static str>,
    /// The offending piece of a refused nickname, as typed.
    pub part: Option<String>,
}

impl EntryError {
    fn field(status: u16, code: &'static str, field: &'static str) -> EntryError {
        EntryError { status, code, field: Some(field), part: None }
    }

    pub fn internal() -> EntryError {
        EntryError { status: 500, code: "internal", field: None, part: None }
    }
}

/// Who is knocking: what the HTTP layer knows of the request.
#[derive(Clone, Debug)]
pub struct Visitor {
    pub ip: IpAddr,
    pub port: u16,
    pub user_agent: String,
    pub accept_language: String,
    /// The long-lived random id in the device cookie (created on the first visit).
    pub device_id: String,
}

/// The two keys a device is known by: its cookie, and its network address combined with its
/// browser's fingerprint. Either one locked keeps the device out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceKeys {
    pub device: String,
    pub network: String,
}

/// The network part of an address: the whole IPv4 address (carrier-grade NAT is handled by the
/// fingerprint, not by widening), an IPv6 /64 (one subscriber's prefix).
pub fn network_prefix(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

impl DeviceKeys {
    pub fn derive(secret: &[u8; 32], visitor: &Visitor) -> DeviceKeys {
        let hash = |parts: &[&str]| {
            let mut hasher = blake3::Hasher::new_keyed(secret);
            for part in parts {
                hasher.update(part.as_bytes());
                hasher.update(&[0]);
            }
            hasher.finalize().to_hex().to_string()
        };
        DeviceKeys {
            device: hash(&["device", &visitor.device_id]),
            network: hash(&["network", &network_prefix(visitor.ip), &visitor.user_agent, &visitor.accept_language]),
        }
    }
}

/// The nickname's shape, before any policy: 3–20 letters, digits, `-`, `_`, `.`.
pub fn nickname_shape_ok(nickname: &str) -> bool {
    let count = nickname.chars().count();
    (NICKNAME_MIN_CHARS..=NICKNAME_MAX_CHARS).contains(&count)
        && nickname.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && nickname.chars().any(char::is_alphabetic)
}

pub use crate::clock::year_of;

pub struct Gate {
    secret: [u8; 32],
    /// `None` only with `--insecure-skip-proof-of-work` (load tests).
    pow: Option<pow::ProofOfWork>,
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_ip_quota: u32,
    engine: Arc<Engine>,
    lock_duration_ms: i64,
}

/// The validated form, ready to become a session.
struct Form {
    nickname: String,
    gender: Gender,
    age: u8,
    postcode: String,
    commune: &'static communes::Commune,
}

fn as_text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).map(str::trim)
}

impl Gate {
    pub fn new(
        secret: [u8; 32],
        entries_per_ip_per_minute: u32,
        engine: Arc<Engine>,
        lock_hours: u64,
        pow_max_number: Option<u64>,
    ) -> Gate {
        let per_ip = NonZeroU32::new(entries_per_ip_per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)));
        let pow_key = blake3::Hasher::new_keyed(&secret).update(b"proof of work").finalize().to_hex().to_string();
        let pow = pow_max_number.map(|max| pow::ProofOfWork::new(pow_key, max));
        Gate {
            secret,
            pow,
            per_ip,
            per_ip_quota: entries_per_ip_per_minute,
            engine,
            lock_duration_ms: (lock_hours * 3_600_000) as i64,
        }
    }

    /// A proof-of-work challenge for the entry form (`None` when proof of work is off).
    pub fn challenge(&self) -> Option<Value> {
        self.pow.as_ref().and_then(pow::ProofOfWork::challenge)
    }

    fn keyed(&self, parts: &[&str]) -> String {
        let mut hasher = blake3::Hasher::new_keyed(&self.secret);
        for part in parts {
            hasher.update(part.as_bytes());
            hasher.update(&[0]);
        }
        hasher.finalize().to_hex().to_string()
    }

    /// The lock key of a network address alone (bans that include the network).
    pub fn ip_key(&self, ip: IpAddr) -> String {
        self.keyed(&["ip", &network_prefix(ip)])
    }

    /// The lock key of a nickname skeleton (bans: the same nickname or a look-alike stays out).
    pub fn nickname_key(&self, skeleton: &str) -> String {
        self.keyed(&["nickname", skeleton])
    }

    /// Forgets rate-limit state for quiet addresses (call now and then).
    pub fn tidy(&self) {
        if let Some(limiter) = &self.per_ip {
            limiter.retain_recent();
        }
        if let Some(pow) = &self.pow {
            pow.tidy();
        }
    }

    /// Checks a request and, when everything is right, opens the session. On refusal returns every
    /// field error found (the first is the main one), except that a lock or an under-18 age stops
    /// everything at once.
    pub async fn enter(
        &self,
        hub: &Arc<Hub>,
        body: &Value,
        visitor: &Visitor,
    ) -> Result<Arc<Session>, Vec<EntryError>> {
        let too_many = || vec![EntryError { status: 429, code: "too_many_entries", field: None, part: None }];
        if let Some(limiter) = &self.per_ip {
            if limiter.check_key(&visitor.ip).is_err() {
                return Err(too_many());
            }
            // Several nodes: the address's entries are counted site-wide too.
            let broker = hub.broker();
            if broker.is_shared() {
                let key = format!("entry:{}", network_prefix(visitor.ip));
                if let Ok(hits) = broker.hit(&key, std::time::Duration::from_secs(60)).await
                    && hits > u64::from(self.per_ip_quota)
                {
                    return Err(too_many());
                }
            }
        }
        if !body.is_object() {
            return Err(vec![EntryError { status: 400, code: "bad_request", field: None, part: None }]);
        }
        if let Some(pow) = &self.pow {
            let pow_invalid = || vec![EntryError { status: 400, code: "pow_invalid", field: None, part: None }];
            let Ok(signature) = pow.verify(body.get("pow")) else { return Err(pow_invalid()) };
            let broker = hub.broker();
            if broker.is_shared()
                && !broker
                    .first_time(&format!("pow:{signature}"), std::time::Duration::from_secs(pow::CHALLENGE_SECS as u64))
                    .await
                    .unwrap_or(false)
            {
                return Err(pow_invalid());
            }
        }
        let keys = DeviceKeys::derive(&self.secret, visitor);
        let now = now_ms();
        let store = hub.store();
        // The lock comes first: retyping another age changes nothing.
        let ip_key = self.ip_key(visitor.ip);
        match store.entry_lock(&[&keys.device, &keys.network, &ip_key], now).await {
            Ok(Some(lock)) if lock.reason == "underage" => {
                return Err(vec![EntryError::field(403, "entry_locked", "age")]);
            }
            Ok(Some(_)) => return Err(vec![EntryError { status: 403, code: "banned", field: None, part: None }]),
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%error, "entry lock lookup failed");
                return Err(vec![EntryError::internal()]);
            }
        }
        let age = match body.get("age") {
            Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        if let Some(age) = age
            && (0..AGE_MIN).contains(&age)
        {
            let locks = [("device", keys.device.as_str()), ("network", keys.network.as_str())];
            if let Err(error) = store.add_entry_locks(&locks, "underage", now, now + self.lock_duration_ms).await {
                tracing::error!(%error, "could not store an under-age entry lock");
                return Err(vec![EntryError::internal()]);
            }
            return Err(vec![EntryError::field(403, "underage", "age")]);
        }
        let form = self.validate(body, age, now)?;
        let skeleton = uniqueness_key(&form.nickname);
        match store.entry_lock(&[&self.nickname_key(&skeleton)], now).await {
            Ok(Some(_)) => return Err(vec![EntryError::field(403, "nickname_banned", "nickname")]),
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%error, "entry lock lookup failed");
                return Err(vec![EntryError::internal()]);
            }
        }
        let id = MemberId::random();
        if !hub.reserve_nickname(&skeleton, id) {
            return Err(vec![EntryError::field(409, "nickname_taken", "nickname")]);
        }
        // With several nodes, the nickname must also be free on the others.
        if !hub.claim_nickname(&skeleton, id).await {
            hub.release_nickname(&skeleton, id);
            return Err(vec![EntryError::field(409, "nickname_taken", "nickname")]);
        }
        let profile = Profile {
            id,
            nickname: form.nickname,
            gender: form.gender,
            age: form.age,
            city: form.commune.city.to_owned(),
        };
        let record = EntryRecord {
            member_id: id.encode(),
            nickname: profile.nickname.clone(),
            skeleton: skeleton.clone(),
            gender: profile.gender.as_str().to_owned(),
            age: profile.age,
            postcode: form.postcode,
            insee: form.commune.insee.to_owned(),
            city: profile.city.clone(),
            ip: visitor.ip.to_string(),
            port: visitor.port,
            user_agent: visitor.user_agent.chars().take(512).collect(),
            device_key: keys.device,
            network_key: keys.network,
            entered_at: now,
        };
        if let Err(error) = store.record_entry(&record).await {
            hub.release_nickname(&skeleton, id);
            tracing::error!(%error, "could not record an entry");
            return Err(vec![EntryError::internal()]);
        }
        let token = random_token();
        let lang = crate::i18n::Lang::from_accept_language(&visitor.accept_language);
        let session =
            Arc::new(Session::new(profile, token, form.commune.position, skeleton, now, lang, hub.shutdown_token()));
        hub.add_session(Arc::clone(&session));
        hub.register_home(&session).await;
        Ok(session)
    }

    fn validate(&self, body: &Value, age: Option<i64>, now: i64) -> Result<Form, Vec<EntryError>> {
        let mut errors = Vec::new();
        let nickname = as_text(body.get("nickname")).unwrap_or("");
        if !nickname_shape_ok(nickname) {
            errors.push(EntryError::field(400, "invalid_nickname", "nickname"));
        } else if let Err(refusal) = self.engine.check_nickname(nickname, year_of(now)) {
            let code = match refusal.reason {
                NameReason::MinorAge => "nickname_minor",
                _ => "nickname_forbidden",
            };
            errors.push(EntryError { status: 400, code, field: Some("nickname"), part: Some(refusal.part) });
        }
        let gender = as_text(body.get("gender")).and_then(Gender::parse);
        if gender.is_none() {
            errors.push(EntryError::field(400, "invalid_gender", "gender"));
        }
        let age = age.filter(|a| (AGE_MIN..=AGE_MAX).contains(a));
        if age.is_none() {
            errors.push(EntryError::field(400, "invalid_age", "age"));
        }
        let postcode = as_text(body.get("postcode")).unwrap_or("");
        let mut commune = None;
        if !is_valid_postcode(postcode) {
            errors.push(EntryError::field(400, "invalid_postcode", "postcode"));
        } else {
            match Communes::get().for_postcode(postcode) {
                None => errors.push(EntryError::field(404, "unknown_postcode", "postcode")),
                Some(list) => {
                    let chosen = as_text(body.get("commune")).filter(|c| !c.is_empty());
                    commune = match chosen {
                        Some(insee) => list.iter().find(|c| c.insee == insee),
                        None if list.len() == 1 => list.first(),
                        None => None,
                    };
                    if commune.is_none() {
                        errors.push(EntryError::field(400, "invalid_commune", "commune"));
                    }
                }
            }
        }
        if body.get("charter") != Some(&Value::Bool(true)) {
            errors.push(EntryError::field(400, "charter_required", "charter"));
        }
        match (errors.is_empty(), gender, age, commune) {
            (true, Some(gender), Some(age), Some(commune)) => Ok(Form {
                nickname: nickname.to_owned(),
                gender,
                age: age as u8,
                postcode: postcode.to_owned(),
                commune,
            }),
            _ => Err(errors),
        }
    }
}

/// The key that makes two nicknames "the same" for uniqueness: `Lola`, `LOLA`, `L0la`, `IoIa`
/// and a Cyrillic `Lоla` share it, as do `Alice` and `ALICE`. Confusable skeleton (Unicode TR39)
/// of the case-folded compatibility form; then `i` and `l` are one letter, because a capital `I`
/// is drawn like an `l` while their small forms are not confused.
pub fn uniqueness_key(nickname: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let folded: String = nickname.nfkc().collect::<String>().to_lowercase();
    let skeleton: String = unicode_security::skeleton(&folded).collect();
    skeleton.to_lowercase().replace('i', "l")
}

/// 128 random bits, hex: session secrets and device ids.
pub fn random_token() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nickname_shapes() {
        for good in ["Lea", "Marius_13", "jean-paul", "Zoé.B", "Ñandú", "abc"] {
            assert!(nickname_shape_ok(good), "{good}");
        }
        for bad in ["", "ab", "a b c", "<script>", "aaaaaaaaaaaaaaaaaaaaa", "123", "---", "emoji😀", "tab\tx"] {
            assert!(!nickname_shape_ok(bad), "{bad}");
        }
    }

    #[test]
    fn look_alike_nicknames_share_a_uniqueness_key() {
        let lola = uniqueness_key("Lola");
        for twin in ["L0la", "LOLA", "lola", "IoIa", "Ｌｏｌａ", "Lоla" /* Cyrillic о */] {
            assert_eq!(uniqueness_key(twin), lola, "{twin}");
        }
        assert_eq!(uniqueness_key("ALICE"), uniqueness_key("Alice"));
        assert_eq!(uniqueness_key("AL1CE"), uniqueness_key("alice"));
        for other in ["Lolo", "Lila", "Lolaa"] {
            assert_ne!(uniqueness_key(other), lola, "{other}");
        }
    }

    #[test]
    fn device_keys_separate_cookie_and_network_fingerprint() {
        let secret = [7u8; 32];
        let visitor = Visitor {
            ip: "203.0.113.9".parse().expect("ip"),
            port: 5000,
            user_agent: "Firefox".into(),
            accept_language: "fr".into(),
            device_id: "abc".into(),
        };
        let keys = DeviceKeys::derive(&secret, &visitor);
        // A private window: new cookie, same network and browser → same network key.
        let private = Visitor { device_id: "new".into(), port: 6000, ..visitor.clone() };
        let k2 = DeviceKeys::derive(&secret, &private);
        assert_ne!(keys.device, k2.device);
        assert_eq!(keys.network, k2.network);
        // A stranger behind the same carrier NAT with another browser → different keys.
        let stranger = Visitor { device_id: "zzz".into(), user_agent: "Chrome".into(), ..visitor.clone() };
        let k3 = DeviceKeys::derive(&secret, &stranger);
        assert_ne!(keys.network, k3.network);
        assert_ne!(keys.device, k3.device);
    }

    #[test]
    fn ipv6_networks_are_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        assert_eq!(network_prefix(a), network_prefix(b));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        assert_eq!(network_prefix(mapped), "192.0.2.1");
    }
}
