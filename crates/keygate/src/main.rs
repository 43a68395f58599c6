//! `keygate`: an OAuth 2.1 authorization server and OpenID Connect provider.

fn main() -> std::process::ExitCode {
    keygate::cli::main()
}
