//! A `verdict server` process for end-to-end tests: started on a free loopback port (it reports the
//! address it bound on stdout), killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Starts `command` (its stderr to `log`) and waits up to 30 s for its first stdout line, which must start
/// with `prefix` followed by the address it bound (what `verdict server` and `verdict admission serve`
/// print); returns the child and that address. Its stdout keeps being drained so it never blocks on a
/// full pipe. Panics (failing the test) otherwise, with the log.
pub fn spawn_announcing(mut command: Command, prefix: &str, log: &Path) -> (Child, String) {
    let stderr = std::fs::File::create(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = sender.send(line);
        let _ = reader.read_to_end(&mut Vec::new());
    });
    let line = match receiver.recv_timeout(Duration::from_secs(30)) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            panic!("{command:?} did not start: {}", std::fs::read_to_string(log).unwrap_or_default());
        }
    };
    let Some(url) = line.trim().strip_prefix(prefix) else {
        let _ = child.kill();
        panic!("unexpected first line {line:?}; log:\n{}", std::fs::read_to_string(log).unwrap_or_default());
    };
    (child, url.to_owned())
}

/// A running server.
pub struct VerdictServer {
    child: Child,
    url: String,
    log: std::path::PathBuf,
}

impl VerdictServer {
    /// Starts `binary server` on `db` (a path or URL), with `extra` arguments; its logs go to `log`.
    /// Panics (failing the test) when it does not report its address within 30 s.
    pub fn start(binary: &Path, db: &str, extra: &[&str], log: &Path) -> Self {
        let mut command = Command::new(binary);
        command
            .args(["--db", db, "server", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("VERDICT_HOST")
            .env("VERDICT_LOG", "info,sqlx=error");
        let (child, url) = spawn_announcing(command, "verdict server listening on ", log);
        VerdictServer { url, child, log: log.to_owned() }
    }

    /// Its base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills it with SIGKILL (no chance to clean up) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits up to `timeout` for it to exit; returns its exit code.
    pub fn terminate(&mut self, timeout: Duration) -> Option<i32> {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for VerdictServer {
    fn drop(&mut self) {
        self.kill();
    }
}
