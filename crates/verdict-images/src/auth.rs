//! Registry credentials: given on the command line, or read from Docker's `config.json` (what `docker
//! login` writes), the way Docker and cosign find them.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;

/// How to authenticate to a registry.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Credentials {
    /// No credentials.
    #[default]
    Anonymous,
    /// HTTP basic (also exchanged for a bearer token where the registry asks for one).
    Basic {
        /// The user.
        username: String,
        /// The password or access token.
        password: String,
    },
    /// A bearer token used as is.
    Bearer(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credentials::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

/// Where Docker keeps its configuration: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(Path::new(&dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| Path::new(&home).join(".docker").join("config.json"))
}

/// The credentials Docker's configuration holds for `registry` (`auths` entries with `auth` =
/// base64 `user:password`, or `identitytoken` / `registrytoken`); anonymous when there are none.
/// A configuration that exists but cannot be read is an error naming the file.
pub fn credentials_for(registry: &str, config: Option<&Path>) -> Result<Credentials, String> {
    let Some(path) = config.map(Path::to_path_buf).or_else(docker_config_path) else {
        return Ok(Credentials::Anonymous);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Credentials::Anonymous),
        Err(err) => return Err(format!("{}: {err}", path.display())),
    };
    let value: Value = serde_json::from_str(&text).map_err(|err| format!("{}: {err}", path.display()))?;
    let auths = value.get("auths").and_then(Value::as_object);
    let aliases: Vec<String> = if registry == "docker.io" {
        vec!["https://index.docker.io/v1/".into(), "index.docker.io".into(), "docker.io".into()]
    } else {
        vec![registry.to_owned(), format!("https://{registry}"), format!("http://{registry}")]
    };
    let Some(entry) = aliases.iter().find_map(|alias| auths.and_then(|a| a.get(alias))) else {
        return Ok(Credentials::Anonymous);
    };
    if let Some(token) = entry.get("registrytoken").and_then(Value::as_str) {
        return Ok(Credentials::Bearer(token.to_owned()));
    }
    if let Some(auth) = entry.get("auth").and_then(Value::as_str) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|err| format!("{}: auths.{registry}.auth is not base64: {err}", path.display()))?;
        let decoded = String::from_utf8(decoded)
            .map_err(|_| format!("{}: auths.{registry}.auth is not UTF-8", path.display()))?;
        let Some((username, password)) = decoded.split_once(':') else {
            return Err(format!("{}: auths.{registry}.auth is not user:password", path.display()));
        };
        // An identity token replaces the password (Docker's `<token>` user convention).
        let password = entry
            .get("identitytoken")
            .and_then(Value::as_str)
            .map_or_else(|| password.to_owned(), str::to_owned);
        return Ok(Credentials::Basic { username: username.to_owned(), password });
    }
    Ok(Credentials::Anonymous)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn docker_config_entries_become_credentials() {
        let dir = std::env::temp_dir().join(format!("verdict-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        let basic = base64::engine::general_purpose::STANDARD.encode("ci:s3cret");
        std::fs::write(
            &path,
            format!(
                r#"{{"auths": {{"ghcr.io": {{"auth": "{basic}"}}, "https://index.docker.io/v1/": {{"auth": "{basic}"}},
                    "quay.io": {{"registrytoken": "tok"}}, "bad.example": {{"auth": "!!"}}}}}}"#
            ),
        )
        .unwrap();
        let basic = Credentials::Basic { username: "ci".into(), password: "s3cret".into() };
        assert_eq!(credentials_for("ghcr.io", Some(&path)).unwrap(), basic);
        assert_eq!(credentials_for("docker.io", Some(&path)).unwrap(), basic);
        assert_eq!(credentials_for("quay.io", Some(&path)).unwrap(), Credentials::Bearer("tok".into()));
        assert_eq!(credentials_for("other.example", Some(&path)).unwrap(), Credentials::Anonymous);
        assert!(credentials_for("bad.example", Some(&path)).unwrap_err().contains("not base64"));
        assert_eq!(
            credentials_for("ghcr.io", Some(&dir.join("missing.json"))).unwrap(),
            Credentials::Anonymous
        );
        std::fs::write(&path, "{").unwrap();
        assert!(credentials_for("ghcr.io", Some(&path)).unwrap_err().contains("config.json"));
        // Secrets never appear in debug output.
        assert!(!format!("{basic:?}").contains("s3cret"));
    }
}
