//! The `papote` command: `serve` (the default) runs a node; `safety` runs the safety engine on
//! text from the command line, for moderators and rule authors.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use papote::app;
use papote::config::Config;
use papote_safety::Context;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "papote", version, about = "Papote: anonymous real-time chat, safe by design")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the site (the default when no command is given).
    Serve(Box<Config>),
    /// Run the safety engine on text.
    Safety {
        #[command(subcommand)]
        command: SafetyCommand,
    },
    /// Manage moderator accounts (the only accounts).
    Admin {
        /// The database, as for `serve`.
        #[arg(long, env = "PAPOTE_DATABASE", default_value = "papote.db", global = true)]
        database: String,
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a moderator. The password is read from stdin (one line), or generated and printed
    /// once with `--generate-password`.
    AddModerator {
        name: String,
        #[arg(long, value_parser = ["moderator", "admin", "legal", "trusted-flagger"])]
        role: String,
        #[arg(long)]
        generate_password: bool,
    },
}

#[derive(Subcommand)]
enum SafetyCommand {
    /// Read one message per line on stdin; write one JSON verdict per line on stdout.
    Check {
        #[arg(long, value_enum, default_value_t = ContextArg::Room)]
        context: ContextArg,
    },
    /// Show the folded forms of a text, every rule that matches with its span, and the verdict in
    /// a room and in a private conversation.
    Explain { text: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum ContextArg {
    Room,
    Dm,
}

impl From<ContextArg> for Context {
    fn from(value: ContextArg) -> Context {
        match value {
            ContextArg::Room => Context::Room,
            ContextArg::Dm => Context::Dm,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Safety { command }) => safety(command),
        Some(Command::Admin { database, command }) => admin(&database, command),
        Some(Command::Serve(config)) => serve(*config),
        None => match Cli::try_parse_from(["papote", "serve"]) {
            Ok(Cli { command: Some(Command::Serve(config)) }) => serve(*config),
            Ok(_) => ExitCode::FAILURE,
            Err(error) => error.exit(),
        },
    }
}

fn serve(config: Config) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("PAPOTE_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("papote: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(config.listen).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("papote: cannot listen on {}: {error}", config.listen);
                return ExitCode::FAILURE;
            }
        };
        println!("Papote: http://{}", config.listen);
        match app::run(listener, config, shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("papote: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

fn admin(database: &str, command: AdminCommand) -> ExitCode {
    let AdminCommand::AddModerator { name, role, generate_password } = command;
    let password = if generate_password {
        papote::moderation::accounts::generate_password()
    } else {
        let mut line = String::new();
        if std::io::stdin().read_line(&mut line).is_err() {
            eprintln!("papote: could not read the password from stdin");
            return ExitCode::FAILURE;
        }
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("papote: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let store = match papote::store::open(database).await {
            Ok(store) => store,
            Err(error) => {
                eprintln!("papote: {error}");
                return ExitCode::FAILURE;
            }
        };
        match papote::moderation::accounts::add_moderator(store.as_ref(), &name, &role, &password).await {
            Ok(id) => {
                println!("moderator {name} ({role}) created with id {id}");
                if generate_password {
                    println!("password (shown once): {password}");
                }
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("papote: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}

fn safety(command: SafetyCommand) -> ExitCode {
    let engine = papote_safety::Engine::builtin();
    match command {
        SafetyCommand::Check { context } => {
            let stdin = std::io::stdin();
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            for line in stdin.lock().lines() {
                let Ok(line) = line else {
                    eprintln!("papote: stdin is not UTF-8 text");
                    return ExitCode::FAILURE;
                };
                let verdict = engine.check(&line, context.into());
                let out = serde_json::json!({
                    "action": verdict.action,
                    "categories": verdict.categories,
                    "rules": verdict.rules,
                });
                if writeln!(stdout, "{out}").is_err() {
                    return ExitCode::FAILURE;
                }
            }
            if stdout.flush().is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        SafetyCommand::Explain { text } => match serde_json::to_string_pretty(&engine.explain(&text)) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(_) => ExitCode::FAILURE,
        },
    }
}
