//! Thin binary: check the CPU, read the environment once, parse the command line, hand over to
//! the library, map the outcome to an exit code.
use std::process::ExitCode;

// The command line and the subcommands live in the binary: the library never sees clap.
mod cli;
mod commands;

fn main() -> ExitCode {
    // First of all: this binary is compiled for a baseline instruction set (.cargo/config.toml,
    // x86-64-v3 unless built with other RUSTFLAGS). On an older CPU the first instruction
    // beyond it would kill the process with SIGILL, so check before anything else runs, in
    // code that only tests bits, and leave with a message instead.
    township_digest::platform::exit_if_cpu_lacks_build_features();
    // A closed pipe (`township-digest models list | head`) ends us quietly, as it ends any Unix
    // tool, instead of a panic in `println!` (Rust ignores SIGPIPE by default).
    // SAFETY: setting a signal's disposition to the default before any thread exists.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    run()
}

#[inline(never)]
fn run() -> ExitCode {
    let settings = township_digest::settings::Settings::from_env();
    if !settings.candle_threads_set {
        // Before any thread exists (the reason is on `Settings::candle_threads_set`).
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    commands::main(settings)
}
