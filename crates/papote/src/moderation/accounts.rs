//! Moderator accounts (the only accounts): Argon2id passwords, login with lockout, sessions with
//! a CSRF token.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::entry::random_token;
use crate::hub::now_ms;
use crate::store::{AuditEntry, ModeratorRow, Store, StoreError};

pub const ROLES: [&str; 4] = ["moderator", "admin", "legal", "trusted-flagger"];
/// Failed logins before the account locks.
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;
pub const SESSION_MS: i64 = 12 * 3600 * 1000;
pub const PASSWORD_MIN_CHARS: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccountError {
    #[error("unknown role {0:?} (expected one of moderator, admin, legal, trusted-flagger)")]
    Role(String),
    #[error("the name must be 2 to 40 letters, digits, '.', '-' or '_'")]
    Name,
    #[error("the password must have at least {PASSWORD_MIN_CHARS} characters")]
    WeakPassword,
    #[error("a moderator with that name exists")]
    Exists,
    #[error("wrong name or password")]
    BadCredentials,
    #[error("too many failed attempts: locked for a while")]
    Locked,
    #[error("storage failed")]
    Storage,
}

impl From<StoreError> for AccountError {
    fn from(error: StoreError) -> AccountError {
        match error {
            StoreError::Conflict => AccountError::Exists,
            other => {
                tracing::error!(error = %other, "account storage failed");
                AccountError::Storage
            }
        }
    }
}

pub fn hash_password(password: &str) -> Result<String, AccountError> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|_| AccountError::Storage)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A password for a new account: 20 characters from an unambiguous alphabet.
pub fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

fn valid_name(name: &str) -> bool {
    (2..=40).contains(&name.chars().count())
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Argon2 is deliberately slow: run it off the async workers so it never stalls the chat.
async fn verify_off_thread(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.unwrap_or(false)
}

pub async fn add_moderator(store: &dyn Store, name: &str, role: &str, password: &str) -> Result<i64, AccountError> {
    if !ROLES.contains(&role) {
        return Err(AccountError::Role(role.to_owned()));
    }
    if !valid_name(name) {
        return Err(AccountError::Name);
    }
    if password.chars().count() < PASSWORD_MIN_CHARS {
        return Err(AccountError::WeakPassword);
    }
    let owned = password.to_owned();
    let hash =
        tokio::task::spawn_blocking(move || hash_password(&owned)).await.map_err(|_| AccountError::Storage)??;
    let id = store.create_moderator(name, role, &hash, now_ms()).await?;
    store
        .append_audit(&AuditEntry {
            at: now_ms(),
            moderator_id: None,
            moderator: "cli".to_owned(),
            action: "add_moderator".to_owned(),
            target: format!("moderator:{id}"),
            reason: role.to_owned(),
            details: serde_json::json!({"name": name}).to_string(),
        })
        .await?;
    Ok(id)
}

pub fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// A logged-in moderator's session: the cookie token and the CSRF token its forms carry.
pub struct LoginSession {
    pub token: String,
    pub csrf: String,
    pub moderator: ModeratorRow,
}

/// Checks a login. Failures count towards a lockout, even for a correct password while locked;
/// an unknown name costs the same hashing time as a known one.
pub async fn login(store: &dyn Store, name: &str, password: &str) -> Result<LoginSession, AccountError> {
    let now = now_ms();
    let Some(moderator) = store.moderator_by_name(name).await? else {
        let _ = verify_off_thread(
            password,
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ",
        )
        .await;
        return Err(AccountError::BadCredentials);
    };
    if moderator.disabled {
        return Err(AccountError::BadCredentials);
    }
    if moderator.locked_until > now {
        return Err(AccountError::Locked);
    }
    if !verify_off_thread(password, &moderator.password_hash).await {
        let failed = moderator.failed_logins + 1;
        let locked_until = if failed >= MAX_FAILED_LOGINS { now + LOCKOUT_MS } else { 0 };
        store.set_login_failures(moderator.id, if locked_until > 0 { 0 } else { failed }, locked_until).await?;
        if locked_until > 0 {
            store
                .append_audit(&AuditEntry {
                    at: now,
                    moderator_id: Some(moderator.id),
                    moderator: moderator.name.clone(),
                    action: "login_locked".to_owned(),
                    target: format!("moderator:{}", moderator.id),
                    reason: "failed_logins".to_owned(),
                    details: "{}".to_owned(),
                })
                .await?;
            return Err(AccountError::Locked);
        }
        return Err(AccountError::BadCredentials);
    }
    if moderator.failed_logins > 0 {
        store.set_login_failures(moderator.id, 0, 0).await?;
    }
    let token = random_token();
    let csrf = random_token();
    store.create_moderator_session(&token_hash(&token), moderator.id, &csrf, now, now + SESSION_MS).await?;
    Ok(LoginSession { token, csrf, moderator })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("x", "not a hash"));
        assert_eq!(generate_password().len(), 20);
    }

    #[tokio::test]
    async fn five_failures_lock_the_account() {
        let store = SqliteStore::open("sqlite::memory:").await.expect("store");
        add_moderator(&store, "alice", "moderator", "long enough password").await.expect("add");
        assert_eq!(add_moderator(&store, "alice", "admin", "long enough password").await, Err(AccountError::Exists));
        assert_eq!(
            add_moderator(&store, "bob", "boss", "long enough password").await,
            Err(AccountError::Role("boss".into()))
        );
        assert_eq!(add_moderator(&store, "bob", "admin", "short").await, Err(AccountError::WeakPassword));
        assert!(login(&store, "alice", "long enough password").await.is_ok());
        for _ in 0..4 {
            assert_eq!(login(&store, "alice", "nope").await.err(), Some(AccountError::BadCredentials));
        }
        assert_eq!(login(&store, "alice", "nope").await.err(), Some(AccountError::Locked));
        // Locked: even the right password is refused.
        assert_eq!(login(&store, "alice", "long enough password").await.err(), Some(AccountError::Locked));
        assert_eq!(login(&store, "nobody", "whatever").await.err(), Some(AccountError::BadCredentials));
    }
}
