//! `papote-load SCENARIO [options]`: runs one scenario against a Papote server on 127.0.0.x,
//! prints a one-line summary, and optionally writes the full JSON report.
//!
//! The runtime is single-threaded on purpose: pin it with `taskset -c 1` and the server with
//! `taskset -c 0` (see `scripts/bench`).

use std::process::ExitCode;

use clap::Parser;
use papote_load::Options;

#[derive(Parser)]
#[command(name = "papote-load", version, about = "Load generator speaking Papote's real protocol (127.0.0.x only)")]
struct Cli {
    #[command(flatten)]
    options: Options,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let options = cli.options;
    if let Err(error) = options.validate() {
        eprintln!("papote-load: {error}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("papote-load: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let json_path = options.json.clone();
    let report = match runtime.block_on(papote_load::run(options)) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("papote-load: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", report.summary());
    if !report.clients.failures.is_empty() {
        eprintln!("papote-load: failures {:?}", report.clients.failures);
        for error in &report.clients.errors {
            eprintln!("  {error}");
        }
    }
    if let Some(warning) = &report.generator.warning {
        eprintln!("papote-load: WARNING {warning}");
    }
    if let Some(path) = json_path {
        let written = serde_json::to_string_pretty(&report)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(&path, json + "\n"));
        if let Err(error) = written {
            eprintln!("papote-load: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
