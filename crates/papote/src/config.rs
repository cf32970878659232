//! The one configuration of a Papote node: every field is a `papote serve` flag and a `PAPOTE_*`
//! environment variable, with a default that runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// `papote serve` options.
#[derive(Args, Clone, Debug)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "PAPOTE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Where the data lives: a SQLite file path (created if missing), `sqlite::memory:`, or a
    /// `postgres://` URL.
    #[arg(long, env = "PAPOTE_DATABASE", default_value = "papote.db")]
    pub database: String,

    /// The broker that links several nodes: a `redis://` URL. Without one, this node runs alone
    /// with an in-process broker.
    #[arg(long, env = "PAPOTE_BROKER")]
    pub broker: Option<String>,

    /// Secret for the encrypted cookies (at least 64 bytes, base64 or hex not required: any text).
    /// When empty, a random secret is generated once and kept in the database, so every node
    /// sharing that database agrees on it.
    #[arg(long, env = "PAPOTE_COOKIE_SECRET", default_value = "", hide_env_values = true)]
    pub cookie_secret: String,

    /// Mark cookies `Secure` (set this when the site is served over HTTPS, as it must be in
    /// production).
    #[arg(long, env = "PAPOTE_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// Trust the left-most `X-Forwarded-For` address (only behind a reverse proxy that sets it).
    #[arg(long, env = "PAPOTE_TRUST_PROXY", default_value_t = false)]
    pub trust_proxy: bool,

    /// Seconds a session survives after its last connection closed (then its nickname is free).
    #[arg(long, env = "PAPOTE_SESSION_GRACE_SECS", default_value_t = 120)]
    pub session_grace_secs: u64,

    /// Hours a device stays locked out of entry after declaring an age under 18.
    #[arg(long, env = "PAPOTE_UNDERAGE_LOCK_HOURS", default_value_t = 24)]
    pub underage_lock_hours: u64,

    /// New private conversations a session may open per window (see next option).
    #[arg(long, env = "PAPOTE_NEW_CONVERSATIONS", default_value_t = 5)]
    pub new_conversations: u32,

    /// The window, in seconds, for the new-conversations cap.
    #[arg(long, env = "PAPOTE_NEW_CONVERSATIONS_WINDOW_SECS", default_value_t = 600)]
    pub new_conversations_window_secs: u64,

    /// Messages a member may send per conversation per window (see next option).
    #[arg(long, env = "PAPOTE_MESSAGES_PER_WINDOW", default_value_t = 5)]
    pub messages_per_window: u32,

    /// The window, in seconds, of the message rate limit.
    #[arg(long, env = "PAPOTE_MESSAGE_WINDOW_SECS", default_value_t = 10)]
    pub message_window_secs: u64,

    /// Entries accepted per network address per minute (0: no limit).
    #[arg(long, env = "PAPOTE_ENTRIES_PER_IP_PER_MINUTE", default_value_t = 30)]
    pub entries_per_ip_per_minute: u32,

    /// Work asked of a browser at entry: the largest number the proof of work may need to try
    /// (about half of it on average; 50,000 is a fraction of a second in a browser).
    #[arg(long, env = "PAPOTE_POW_MAX_NUMBER", default_value_t = 50_000)]
    pub pow_max_number: u64,

    /// FOR LOAD TESTS ONLY: accept entries without proof of work. Logged loudly at start.
    #[arg(long, env = "PAPOTE_INSECURE_SKIP_PROOF_OF_WORK", default_value_t = false)]
    pub insecure_skip_proof_of_work: bool,

    /// Extra safety rule files (TOML, same format as `data/safety/`), added to the built-in rules.
    #[arg(long = "safety-rules", env = "PAPOTE_SAFETY_RULES", value_delimiter = ',')]
    pub safety_rules: Vec<PathBuf>,

    /// Serve the web client from this directory instead of the copy embedded in the binary
    /// (for working on the client without rebuilding).
    #[arg(long, env = "PAPOTE_WEB_DIR")]
    pub web_dir: Option<PathBuf>,

    /// Most members in a private room.
    #[arg(long, env = "PAPOTE_PRIVATE_ROOM_MAX_MEMBERS", default_value_t = 20)]
    pub private_room_max_members: usize,

    /// Frames queued for one connection before it is cut off as too slow (it then resumes).
    #[arg(long, env = "PAPOTE_OUTBOX_FRAMES", default_value_t = 1024)]
    pub outbox_frames: usize,
}

impl Config {
    /// A configuration for tests and tools: in-memory database, defaults elsewhere.
    pub fn for_tests() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: "sqlite::memory:".to_owned(),
            broker: None,
            cookie_secret: String::new(),
            secure_cookies: false,
            trust_proxy: false,
            session_grace_secs: 120,
            underage_lock_hours: 24,
            new_conversations: 5,
            new_conversations_window_secs: 600,
            messages_per_window: 5,
            message_window_secs: 10,
            entries_per_ip_per_minute: 0,
            pow_max_number: 1_000,
            // The harness enters hundreds of members; one test checks the proof of work itself.
            insecure_skip_proof_of_work: true,
            safety_rules: Vec::new(),
            web_dir: None,
            outbox_frames: 1024,
            private_room_max_members: 20,
        }
    }

    pub fn session_grace(&self) -> Duration {
        Duration::from_secs(self.session_grace_secs)
    }

    pub fn underage_lock(&self) -> Duration {
        Duration::from_secs(self.underage_lock_hours * 3600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    #[test]
    fn defaults_run_on_localhost_8080_with_a_sqlite_file() {
        let cli = Cli::try_parse_from(["papote"]).expect("defaults parse");
        assert_eq!(cli.config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(cli.config.database, "papote.db");
        assert_eq!(cli.config.session_grace_secs, 120);
        assert_eq!(cli.config.new_conversations, 5);
    }

    #[test]
    fn test_config_matches_flag_defaults_except_storage_and_entry_limit() {
        let cli = Cli::try_parse_from(["papote"]).expect("defaults parse");
        let t = Config::for_tests();
        assert_eq!(t.session_grace_secs, cli.config.session_grace_secs);
        assert_eq!(t.underage_lock_hours, cli.config.underage_lock_hours);
        assert_eq!(t.messages_per_window, cli.config.messages_per_window);
        assert_eq!(t.message_window_secs, cli.config.message_window_secs);
        assert_eq!(t.new_conversations_window_secs, cli.config.new_conversations_window_secs);
        assert_eq!(t.outbox_frames, cli.config.outbox_frames);
    }
}
