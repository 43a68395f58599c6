//! `keygate`: an OAuth 2.1 authorization server and OpenID Connect provider.

/// mimalloc instead of glibc's malloc: under load the request path allocates on every worker
/// thread, and glibc's arena locks showed up as futex waits and ~15 % of the CPU in profiles
/// (BENCHMARKS.md, "What changed, and what each step measured").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    keygate::cli::main()
}
