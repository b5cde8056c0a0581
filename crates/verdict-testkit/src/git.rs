//! Git checkouts for tests, made with the `git` binary (verdict itself reads them with gix, without it),
//! and the HTTP Basic credential fake services expect.

use std::path::Path;

/// Runs `git ARGS` in `dir` with a fixed author and committer; returns its trimmed stdout. Panics (the
/// test fails) when git is missing or the command fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .unwrap_or_else(|err| panic!("the git binary makes the test's checkout: {err}"));
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// `Basic base64(user:password)`, as an `Authorization` header value.
pub fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}
