//! Kosli's artifact fingerprints.
//!
//! A file's fingerprint is the SHA-256 of its content. A directory's is the SHA-256 of a concatenation of
//! hex digests built by walking the tree in lexical byte order (the root itself excluded): for every
//! entry, the digest of its name, then the digest of its content (files, and symbolic links to files), or
//! of its link text (symbolic links to directories, which are not followed), or nothing more
//! (directories, whose entries follow). Excluded paths — the caller's patterns plus `.kosli_ignore` in the
//! root — are skipped with everything under them; `.kosli_ignore` itself is hashed like any file.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use globset::{GlobSet, GlobSetBuilder};
use sha2::{Digest, Sha256};

/// Why a fingerprint could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    /// No path was given.
    #[error("the artifact path is empty")]
    EmptyPath,
    /// An exclude pattern is empty (`--exclude ""` or `--exclude a,,b`).
    #[error("flag '--exclude' was given an empty value")]
    EmptyExclude,
    /// An exclude pattern is not a valid glob.
    #[error("invalid --exclude pattern {pattern:?}: {message}")]
    BadPattern {
        /// The pattern.
        pattern: String,
        /// Why it is invalid.
        message: String,
    },
    /// A directory fingerprint was asked of something that is not a directory.
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// The path (or something under it) could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// What could not be read.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FingerprintError + '_ {
    move |source| FingerprintError::Io { path: path.to_owned(), source }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn file_digest(path: &Path) -> Result<String, FingerprintError> {
    let mut file = fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer).map_err(io(path))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The fingerprint of a file: the SHA-256 of its content.
pub fn file_fingerprint(path: &Path) -> Result<String, FingerprintError> {
    if path.as_os_str().is_empty() {
        return Err(FingerprintError::EmptyPath);
    }
    file_digest(path)
}

/// The exclude patterns of a `.kosli_ignore` file's text: one per line, `#` starts a comment, blank
/// lines are skipped, surrounding white space is trimmed.
pub fn read_ignore_file(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

fn exclusion_set(patterns: &[String]) -> Result<GlobSet, FingerprintError> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        if pattern.is_empty() {
            return Err(FingerprintError::EmptyExclude);
        }
        let pattern = pattern.trim_start_matches("./").trim_end_matches('/');
        let glob = globset::GlobBuilder::new(pattern).literal_separator(true).build().map_err(|err| {
            FingerprintError::BadPattern { pattern: pattern.to_owned(), message: err.kind().to_string() }
        })?;
        builder.add(glob);
    }
    builder
        .build()
        .map_err(|err| FingerprintError::BadPattern { pattern: patterns.join(","), message: err.to_string() })
}

/// The fingerprint of a directory tree, with `excludes` (globs relative to the root) and the patterns
/// of `ROOT/.kosli_ignore` left out.
pub fn dir_fingerprint(root: &Path, excludes: &[String]) -> Result<String, FingerprintError> {
    if root.as_os_str().is_empty() {
        return Err(FingerprintError::EmptyPath);
    }
    if excludes.iter().any(String::is_empty) {
        return Err(FingerprintError::EmptyExclude);
    }
    let metadata = fs::metadata(root).map_err(io(root))?;
    if !metadata.is_dir() {
        return Err(FingerprintError::NotADirectory(root.to_owned()));
    }
    let mut patterns = excludes.to_vec();
    let ignore_file = root.join(".kosli_ignore");
    if ignore_file.is_file() {
        patterns.extend(read_ignore_file(&fs::read_to_string(&ignore_file).map_err(io(&ignore_file))?));
    }
    let excluded = exclusion_set(&patterns)?;
    let mut digests = String::new();
    walk(root, Path::new(""), &excluded, &mut digests)?;
    Ok(sha256_hex(digests.as_bytes()))
}

fn walk(
    dir: &Path,
    relative: &Path,
    excluded: &GlobSet,
    digests: &mut String,
) -> Result<(), FingerprintError> {
    let mut entries: Vec<(Vec<u8>, PathBuf)> = fs::read_dir(dir)
        .map_err(io(dir))?
        .map(|entry| entry.map(|e| (e.file_name().into_encoded_bytes(), e.path())).map_err(io(dir)))
        .collect::<Result<_, _>>()?;
    // Lexical byte order of the names, as Go's filepath.Walk visits them.
    entries.sort();
    for (name, path) in entries {
        let name_text = String::from_utf8_lossy(&name).into_owned();
        let relative = relative.join(&name_text);
        if excluded.is_match(&relative) {
            continue;
        }
        digests.push_str(&sha256_hex(&name));
        let link = fs::symlink_metadata(&path).map_err(io(&path))?;
        if link.file_type().is_symlink() {
            let target = fs::metadata(&path).map_err(io(&path))?;
            if target.is_dir() {
                let text = fs::read_link(&path).map_err(io(&path))?;
                digests.push_str(&sha256_hex(text.as_os_str().as_encoded_bytes()));
            } else {
                digests.push_str(&file_digest(&path)?);
            }
        } else if link.is_dir() {
            walk(&path, &relative, excluded, digests)?;
        } else {
            digests.push_str(&file_digest(&path)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_files_drop_blanks_and_comments() {
        assert_eq!(read_ignore_file(""), Vec::<String>::new());
        assert_eq!(read_ignore_file("logs\n    \n\t\n*/logs\n"), ["logs", "*/logs"]);
        assert_eq!(
            read_ignore_file("logs\n# a line comment\n*/logs # an end of line comment"),
            ["logs", "*/logs"]
        );
    }

    #[test]
    fn an_empty_directory_hashes_the_empty_string() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            dir_fingerprint(dir.path(), &[]).unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn empty_excludes_and_paths_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(dir_fingerprint(dir.path(), &[String::new()]), Err(FingerprintError::EmptyExclude)));
        assert!(matches!(dir_fingerprint(Path::new(""), &[]), Err(FingerprintError::EmptyPath)));
        assert!(matches!(file_fingerprint(Path::new("")), Err(FingerprintError::EmptyPath)));
    }
}
