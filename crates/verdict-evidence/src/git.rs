//! What a git checkout says about a commit, read with gix (no `git` binary): its message and the branch
//! checked out, for `attest jira`; its origin, for bundle manifests.

use std::path::Path;

/// A commit as `attest jira` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The full SHA.
    pub sha: String,
    /// The whole message.
    pub message: String,
    /// The branch HEAD is on, when it is on one (not in CI's detached HEAD).
    pub branch: Option<String>,
}

/// Why the checkout could not be read.
#[derive(Debug, thiserror::Error)]
#[error("git repository {path}: {message}")]
pub struct GitError {
    /// The directory looked at.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// The commit `revision` (a SHA or prefix, a branch, `HEAD`; default `HEAD`) of the repository containing
/// `dir`.
pub fn commit_info(dir: &Path, revision: Option<&str>) -> Result<CommitInfo, GitError> {
    let error = |message: String| GitError { path: dir.display().to_string(), message };
    let repo = gix::discover(dir).map_err(|err| error(format!("not a git checkout: {err}")))?;
    let spec = revision.unwrap_or("HEAD");
    let id =
        repo.rev_parse_single(spec).map_err(|err| error(format!("cannot find commit {spec:?}: {err}")))?;
    let commit = id
        .object()
        .map_err(|err| error(format!("cannot read {spec}: {err}")))?
        .try_into_commit()
        .map_err(|err| error(format!("{spec} is not a commit: {err}")))?;
    let message =
        commit.message_raw().map_err(|err| error(format!("cannot read {spec}'s message: {err}")))?;
    let branch = repo.head_name().ok().flatten().map(|name| name.shorten().to_string());
    Ok(CommitInfo { sha: commit.id.to_string(), message: message.to_string(), branch })
}

/// Where a directory's content comes from, when it is inside a git checkout.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GitOrigin {
    /// The `origin` remote's URL (else the first remote's), if any.
    pub url: Option<String>,
    /// The commit checked out.
    pub commit: String,
    /// The directory's path inside the repository (`""` for its root).
    pub path: String,
}

/// The git origin of `dir`, or `None` when it is not inside a git checkout (or the checkout has no
/// commit yet).
pub fn origin(dir: &Path) -> Option<GitOrigin> {
    let repo = gix::discover(dir).ok()?;
    let commit = repo.head_id().ok()?.to_string();
    let url = repo
        .find_default_remote(gix::remote::Direction::Fetch)
        .and_then(Result::ok)
        .and_then(|remote| remote.url(gix::remote::Direction::Fetch).map(|url| url.to_bstring().to_string()));
    let root = repo.workdir().and_then(|root| root.canonicalize().ok());
    let path = match (root, dir.canonicalize().ok()) {
        (Some(root), Some(dir)) => {
            dir.strip_prefix(&root).map(|p| p.display().to_string()).unwrap_or_default()
        }
        _ => String::new(),
    };
    Some(GitOrigin { url, commit, path })
}
