//! `cachicamo-sidecar`: the command line over the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(&args);
    // Twice as many runtime threads as cores: batches mostly wait on the database and the API,
    // but between waits they parse and plan for milliseconds at a time, and a control-plane
    // request (GetStatus, a selective sync) must not queue behind them for a free thread.
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads((cores * 2).max(4)).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cachicamo-sidecar: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cachicamo-sidecar: {e:#}");
            ExitCode::from(2)
        }
    }
}
