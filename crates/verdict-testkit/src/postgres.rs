//! A throwaway PostgreSQL cluster for tests: `initdb` and `pg_ctl` on a free loopback port in a temporary
//! directory, stopped when dropped. As root, the server runs as the `postgres` user (initdb refuses root).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running cluster; stopped (immediately) and deleted when dropped.
pub struct PostgresCluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("VERDICT_PG_BIN") {
        return Some(dir.into());
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .collect();
    versions.sort();
    versions.into_iter().rev().find(|dir| dir.join("initdb").exists())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(55432)
}

impl PostgresCluster {
    fn run(&self, program: &str, args: &[&str]) -> std::process::Output {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        command.args(args).current_dir(&self.dir);
        command.output().unwrap_or_else(|err| panic!("cannot run {}: {err}", path.display()))
    }

    /// Starts a cluster, or returns `None` when PostgreSQL is not installed — unless
    /// `VERDICT_REQUIRE_POSTGRES=1`, which turns a missing PostgreSQL into a test failure.
    pub fn start() -> Option<Self> {
        let required = std::env::var("VERDICT_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
        let Some(bin) = bin_dir() else {
            assert!(
                !required,
                "VERDICT_REQUIRE_POSTGRES=1 but no PostgreSQL binaries were found under /usr/lib/postgresql"
            );
            eprintln!(
                "PostgreSQL is not installed; skipping (set VERDICT_REQUIRE_POSTGRES=1 to fail instead)"
            );
            return None;
        };
        // A directory the postgres user can reach: not under a root-only temporary directory.
        let dir = Path::new("/tmp").join(format!("verdict-pg-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown").args(["postgres:postgres"]).arg(&dir).status();
            assert!(status.is_ok_and(|s| s.success()), "cannot hand {} to the postgres user", dir.display());
        }
        let mut cluster = PostgresCluster { bin, dir, port: free_port(), as_postgres };
        let data = cluster.dir.join("data").display().to_string();
        let out = cluster.run("initdb", &["-D", &data, "-A", "trust", "-U", "verdict", "--no-sync"]);
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let log = cluster.dir.join("server.log").display().to_string();
        // The port was free when chosen, but tests run in parallel: another may take it while initdb
        // runs. Then start again on another port.
        for attempt in 1..=5 {
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
                cluster.port,
                cluster.dir.display()
            );
            // pg_ctl appends to its log: each attempt reads only its own.
            let _ = std::fs::remove_file(&log);
            let out =
                cluster.run("pg_ctl", &["-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start"]);
            if out.status.success() {
                break;
            }
            let server_log = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(
                attempt < 5 && server_log.contains("Address already in use"),
                "pg_ctl start failed: {}\n{server_log}",
                String::from_utf8_lossy(&out.stderr),
            );
            cluster.port = free_port();
        }
        Some(cluster)
    }

    /// The URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://verdict@127.0.0.1:{}/postgres", self.port)
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
