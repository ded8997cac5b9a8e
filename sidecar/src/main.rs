//! `cachicamo-sidecar`: the command line over the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// jemalloc rather than glibc's allocator: a batch decodes thousands of small rows and JSON values
/// on one runtime thread and drops them on another, and glibc spent about a third of the
/// sidecar's CPU in malloc and free doing so. With jemalloc the sidecar needs about 40% less CPU
/// for the same sync, and its peak RSS is lower too (BENCHMARKS.md, change 12). It serves the
/// whole process, so `MALLOC_CONF` tunes it.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(&args);
    // Twice as many runtime threads as cores: batches mostly wait on the database and the API,
    // but between waits they decode and plan for milliseconds at a time, and a batch whose
    // answer has arrived should not queue behind them for a free thread. (The control plane
    // has a thread of its own; see `cli::serve`.)
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads((cores * 2).max(4))
        .on_thread_start(lower_priority)
        .enable_all()
        .build()
    {
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

/// Sync work yields the processor to the web server, the database and the control plane (which
/// has a thread of its own, at real-time priority where the sidecar may): a shop's pages and its
/// status display stay quick while a sync keeps the machine busy.
fn lower_priority() {
    // SAFETY: setpriority only reads its arguments; 0 names the calling thread.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, ENGINE_NICE) };
}

/// The nice value of the engine's threads: below normal, far above idle.
const ENGINE_NICE: libc::c_int = 5;

