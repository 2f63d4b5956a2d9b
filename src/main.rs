fn main() -> std::process::ExitCode {
    registry_drill::cli::main()
}
