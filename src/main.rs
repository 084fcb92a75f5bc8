//! The `scs-conformance` command line: argument parsing and dispatch only; the work is done by
//! the `scs_conformance` library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
