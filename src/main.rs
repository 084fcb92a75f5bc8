//! The `scs-conformance` binary; everything is in the `scs_conformance_cli` library.

fn main() -> std::process::ExitCode {
    scs_conformance_cli::main()
}
