//! The ksim binary: see `ksim::cli`.

fn main() -> std::process::ExitCode {
    ksim::cli::main()
}
