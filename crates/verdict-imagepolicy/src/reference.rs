//! Image references (`[registry/]repository[:tag][@sha256:digest]`, normalised as Docker does) and the
//! globs rules match them with.

use std::fmt;

use regex::Regex;

/// Why a reference cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {reference:?}: {message}")]
pub struct ReferenceError {
    /// The reference as given.
    pub reference: String,
    /// What is wrong with it.
    pub message: String,
}

/// A parsed image reference. `docker.io` is the default registry and `library/` the default namespace
/// there, so `nginx`, `docker.io/nginx` and `index.docker.io/library/nginx` are one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// The registry host (and port).
    pub registry: String,
    /// The repository path.
    pub repository: String,
    /// The tag, when one was given.
    pub tag: Option<String>,
    /// The digest (`sha256:<hex>`), when one was given.
    pub digest: Option<String>,
}

impl ImageReference {
    /// Parses and normalises `text`.
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        let error =
            |message: &str| ReferenceError { reference: text.to_owned(), message: message.to_owned() };
        if text.is_empty() || text.len() > 1024 || text.chars().any(char::is_whitespace) {
            return Err(error("empty, too long, or contains whitespace"));
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                let hex = digest
                    .strip_prefix("sha256:")
                    .ok_or_else(|| error("the digest must be sha256:<64 hex digits>"))?;
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(error("the digest must be sha256:<64 hex digits>"));
                }
                (rest, Some(format!("sha256:{}", hex.to_ascii_lowercase())))
            }
            None => (text, None),
        };
        let (name, tag) = match rest.rsplit_once(':') {
            // A colon after the last slash separates a tag; before it, it is a registry port.
            Some((name, tag)) if !tag.contains('/') => (name, Some(tag.to_owned())),
            _ => (rest, None),
        };
        if let Some(tag) = &tag {
            let valid = tag.len() <= 128
                && tag.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
                && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            if !valid {
                return Err(error(
                    "a tag is up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'",
                ));
            }
        }
        let (registry, repository) = split_registry(name);
        let (host, port) = registry.split_once(':').map_or((registry.as_str(), None), |(h, p)| (h, Some(p)));
        if host.is_empty()
            || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-".contains(&b))
            || port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(error("a registry is a host name with an optional :port"));
        }
        if repository.is_empty()
            || repository.split('/').any(|part| {
                part.is_empty()
                    || !part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            })
        {
            return Err(error("a repository is lower-case letters, digits, '.', '_', '-' separated by '/'"));
        }
        Ok(ImageReference { registry, repository, tag, digest })
    }

    /// `registry/repository`: what globs are matched against.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// A registry host as the registry client reaches it: host names are case-insensitive and a trailing dot
/// names the same host, and `:443` is the HTTPS default port. Matching the raw text instead would let
/// `GHCR.io/acme/app` or `ghcr.io:443/acme/app` escape a `ghcr.io/**` rule while pulling the same image.
fn normalise_host(registry: &str) -> String {
    let lower = registry.to_ascii_lowercase();
    let (host, port) = lower.split_once(':').map_or((lower.as_str(), None), |(h, p)| (h, Some(p)));
    let trimmed = host.trim_end_matches('.');
    // Shortened only while it still reads as a registry (a dotted name or localhost): `a.` or `a:443`
    // shortened to `a` would read back as a Docker Hub namespace.
    let still_a_registry = trimmed.contains('.') || trimmed == "localhost";
    let host = if still_a_registry { trimmed } else { host };
    match port {
        Some("443") if still_a_registry => host.to_owned(),
        None => host.to_owned(),
        Some(port) => format!("{host}:{port}"),
    }
}

/// Splits `name` into registry and repository with Docker's defaults.
fn split_registry(name: &str) -> (String, String) {
    let (first, rest) = name.split_once('/').unwrap_or(("", name));
    let is_registry = !first.is_empty()
        && (first.contains('.') || first.contains(':') || first.eq_ignore_ascii_case("localhost"));
    let (registry, repository) = if is_registry {
        (normalise_host(first), rest.to_owned())
    } else {
        ("docker.io".to_owned(), name.to_owned())
    };
    let registry = if registry == "index.docker.io" || registry == "registry-1.docker.io" {
        "docker.io".to_owned()
    } else {
        registry
    };
    let repository = if registry == "docker.io" && !repository.contains('/') {
        format!("library/{repository}")
    } else {
        repository
    };
    (registry, repository)
}

/// A pattern over `registry/repository`: `*` matches within one path segment, `**` across segments, `?`
/// one character other than `/`. The pattern's registry is normalised like a reference's (`nginx` means
/// `docker.io/library/nginx`), unless it starts with a wildcard.
#[derive(Debug, Clone)]
pub struct ImageGlob {
    pattern: String,
    regex: Regex,
}

impl ImageGlob {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Result<Self, String> {
        // A colon in the last path segment would be a tag (a registry port comes before a '/').
        if pattern.contains('@') || pattern.rsplit('/').next().unwrap_or_default().contains(':') {
            return Err(format!(
                "{pattern:?}: a pattern names repositories (registry/path), without a tag or digest"
            ));
        }
        let normalised = if pattern.starts_with('*') {
            pattern.to_owned()
        } else {
            let (registry, repository) = split_registry(pattern);
            format!("{registry}/{repository}")
        };
        let mut regex = String::from("^");
        let mut chars = normalised.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' if chars.peek() == Some(&'*') => {
                    chars.next();
                    regex.push_str(".*");
                }
                '*' => regex.push_str("[^/]*"),
                '?' => regex.push_str("[^/]"),
                other => regex.push_str(&regex::escape(&other.to_string())),
            }
        }
        regex.push('$');
        let regex = Regex::new(&regex).map_err(|err| format!("{pattern:?}: {err}"))?;
        Ok(ImageGlob { pattern: pattern.to_owned(), regex })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the reference's `registry/repository` matches.
    pub fn matches(&self, reference: &ImageReference) -> bool {
        self.regex.is_match(&reference.name())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const D: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000001";

    #[test]
    fn references_normalise_like_docker() {
        for (text, name, tag, digest) in [
            ("nginx", "docker.io/library/nginx", None, None),
            ("nginx:1.25", "docker.io/library/nginx", Some("1.25"), None),
            ("docker.io/nginx", "docker.io/library/nginx", None, None),
            ("index.docker.io/library/nginx:latest", "docker.io/library/nginx", Some("latest"), None),
            ("acme/app", "docker.io/acme/app", None, None),
            (
                "ghcr.io/acme/app:v1@sha256:0000000000000000000000000000000000000000000000000000000000000001",
                "ghcr.io/acme/app",
                Some("v1"),
                Some(D),
            ),
            ("localhost:5000/app", "localhost:5000/app", None, None),
            // Hosts as the registry client reaches them: case, a trailing dot and :443 do not matter.
            ("GHCR.io/acme/app", "ghcr.io/acme/app", None, None),
            ("ghcr.io:443/acme/app:1", "ghcr.io/acme/app", Some("1"), None),
            ("ghcr.io./acme/app", "ghcr.io/acme/app", None, None),
            ("Index.Docker.IO/nginx", "docker.io/library/nginx", None, None),
            ("LOCALHOST:5000/app", "localhost:5000/app", None, None),
            ("registry.example:8443/app", "registry.example:8443/app", None, None),
            ("127.0.0.1:5000/team/app:dev", "127.0.0.1:5000/team/app", Some("dev"), None),
            (
                "localhost/app@sha256:0000000000000000000000000000000000000000000000000000000000000001",
                "localhost/app",
                None,
                Some(D),
            ),
        ] {
            let parsed = ImageReference::parse(text).unwrap();
            assert_eq!(parsed.name(), name, "{text}");
            assert_eq!(parsed.tag.as_deref(), tag, "{text}");
            assert_eq!(parsed.digest.as_deref(), digest, "{text}");
        }
    }

    #[test]
    fn bad_references_are_refused() {
        for text in [
            "",
            "Nginx",
            "acme//app",
            "app:",
            "app:-x",
            "app@sha256:12",
            "app@md5:00",
            "a b",
            "ghcr.io/",
            "app:/x",
        ] {
            assert!(ImageReference::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn globs_match_within_and_across_segments() {
        let cases = [
            ("ghcr.io/acme/*", "ghcr.io/acme/app:1", true),
            ("ghcr.io/acme/*", "ghcr.io/acme/team/app", false),
            ("ghcr.io/acme/**", "ghcr.io/acme/team/app", true),
            (
                "ghcr.io/acme/app",
                "ghcr.io/acme/app@sha256:0000000000000000000000000000000000000000000000000000000000000001",
                true,
            ),
            ("ghcr.io/acme/app", "ghcr.io/acme/application", false),
            ("ghcr.io/acme/ap?", "ghcr.io/acme/app", true),
            ("nginx", "docker.io/library/nginx:1", true),
            ("nginx", "nginx", true),
            ("**", "quay.io/x/y/z", true),
            ("*/acme/*", "ghcr.io/acme/app", true),
            ("ghcr.io/acme/*", "ghcr.io.evil.com/acme/app", false),
            ("localhost:5000/*", "localhost:5000/app", true),
            ("ghcr.io/acme/**", "GHCR.io/acme/app", true),
            ("ghcr.io/acme/*", "ghcr.io:443/acme/app", true),
            ("ghcr.io/acme/*", "ghcr.io./acme/app", true),
            ("GHCR.IO/acme/*", "ghcr.io/acme/app", true),
            ("ghcr.io/acme/*", "ghcr.io:8443/acme/app", false),
        ];
        for (pattern, reference, expected) in cases {
            let glob = ImageGlob::new(pattern).unwrap();
            assert_eq!(
                glob.matches(&ImageReference::parse(reference).unwrap()),
                expected,
                "{pattern} vs {reference}"
            );
        }
    }

    #[test]
    fn globs_name_repositories_only() {
        assert!(ImageGlob::new("ghcr.io/acme/app@sha256:00").is_err());
        assert!(ImageGlob::new("ghcr.io/acme/app:v1").is_err());
        assert!(ImageGlob::new("localhost:5000/app").is_ok());
    }
}
