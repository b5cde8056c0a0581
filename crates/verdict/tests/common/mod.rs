//! Where an end-to-end test's commands go: the embedded SQLite ledger, a `verdict server` on SQLite, or a
//! `verdict server` on a throwaway PostgreSQL cluster. Tests written against [`Env`] run unchanged on all
//! three.

#![allow(dead_code, unused_macros)]

use assert_cmd::Command;
use serde_json::Value;
use verdict_testkit::postgres::PostgresCluster;
use verdict_testkit::server::VerdictServer;

/// The org every test works in.
pub const ORG: &str = "acme";

/// A ledger and the way the CLI reaches it.
pub struct Env {
    pub dir: tempfile::TempDir,
    /// The database (file path or URL).
    pub db: String,
    /// The server, when commands go through one.
    pub server: Option<VerdictServer>,
    /// A `policy` token for [`ORG`] (evidence and enforcement), when there is a server.
    pub token: Option<String>,
    // Dropped last: the server must stop before its database.
    _postgres: Option<PostgresCluster>,
}

/// The `verdict` binary.
pub fn binary() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("verdict")
}

/// Creates a token for `org` with `role` in the database `db`.
pub fn create_token(db: &str, org: &str, role: &str) -> String {
    let output = Command::cargo_bin("verdict")
        .unwrap()
        .args(["--db", db, "--org", org, "server", "token", "create", "--role", role])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

impl Env {
    /// Commands on an embedded SQLite file.
    pub fn embedded() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.db").display().to_string();
        Env { dir, db, server: None, token: None, _postgres: None }
    }

    /// Commands through a server on an SQLite file.
    pub fn server_sqlite() -> Self {
        let mut env = Self::embedded();
        env.start_server(&[]);
        env
    }

    /// Commands through a server on PostgreSQL; `None` when PostgreSQL is not installed (and not
    /// required by `VERDICT_REQUIRE_POSTGRES=1`).
    pub fn server_postgres() -> Option<Self> {
        let cluster = PostgresCluster::start()?;
        let dir = tempfile::tempdir().unwrap();
        let mut env = Env { dir, db: cluster.url(), server: None, token: None, _postgres: Some(cluster) };
        env.start_server(&[]);
        Some(env)
    }

    /// Starts (or restarts) the server on this env's database, with a `policy` token for [`ORG`].
    pub fn start_server(&mut self, extra: &[&str]) {
        self.server = None;
        let log = self.dir.path().join("server.log");
        self.server = Some(VerdictServer::start(&binary(), &self.db, extra, &log));
        if self.token.is_none() {
            self.token = Some(create_token(&self.db, ORG, "policy"));
        }
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        self.server.as_ref().map(VerdictServer::url).unwrap()
    }

    /// A `verdict` command aimed at this env's ledger, in [`ORG`].
    pub fn verdict(&self) -> Command {
        let mut command = Command::cargo_bin("verdict").unwrap();
        command
            .env("NO_COLOR", "1")
            .env("VERDICT_ORG", ORG)
            .env_remove("VERDICT_DB")
            .env_remove("VERDICT_HOST")
            .env_remove("VERDICT_API_TOKEN")
            .env_remove("VERDICT_DRY_RUN");
        match (&self.server, &self.token) {
            (Some(server), Some(token)) => {
                command.env("VERDICT_HOST", server.url()).env("VERDICT_API_TOKEN", token);
            }
            _ => {
                command.env("VERDICT_DB", &self.db);
            }
        }
        command
    }

    /// How many entries the chain holds, verified directly in the database (exit 0 required).
    pub fn entries(&self) -> u64 {
        let output = Command::cargo_bin("verdict")
            .unwrap()
            .args(["--db", &self.db, "ledger", "verify", "-o", "json"])
            .env_remove("VERDICT_HOST")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stdout));
        serde_json::from_slice::<Value>(&output.stdout).unwrap()["count"].as_u64().unwrap()
    }

    /// A file in the test's directory.
    pub fn write(&self, name: &str, content: &[u8]) -> std::path::PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

/// Defines one test per scenario and backend: `embedded::NAME`, `server_sqlite::NAME` and
/// `server_postgres::NAME` (skipped without PostgreSQL unless `VERDICT_REQUIRE_POSTGRES=1`).
macro_rules! on_every_backend {
    ($($scenario:ident),*) => {
        mod embedded {
            $(#[test]
            fn $scenario() {
                super::$scenario(&super::Env::embedded());
            })*
        }
        mod server_sqlite {
            $(#[test]
            fn $scenario() {
                super::$scenario(&super::Env::server_sqlite());
            })*
        }
        mod server_postgres {
            $(#[test]
            fn $scenario() {
                if let Some(env) = super::Env::server_postgres() {
                    super::$scenario(&env);
                }
            })*
        }
    };
}

/// Runs `args`; the command must exit 0.
pub fn ok(env: &Env, args: &[&str]) {
    let output = env.verdict().args(args).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// Runs `args` with `-o json`; it must exit 0 or 1 (a decision), and its stdout is the JSON returned.
pub fn json(env: &Env, args: &[&str]) -> Value {
    let output = env.verdict().args(args).args(["-o", "json"]).output().unwrap();
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&output.stdout)))
}
