//! Thin binary: parse the command line, hand over to the library, map the outcome to an exit code.
fn main() -> std::process::ExitCode {
    township_digest::cli::main()
}
