//! Building a bundle: read every source, validate each policy with the loader verdict uses for it
//! everywhere else, run the bundle's own tests, and pack it reproducibly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::archive::{BundleError, digest_of, write_bundle};
use crate::classify::{FileKind, classify};
use crate::manifest::{BundleManifest, FileEntry, MANIFEST_SCHEMA, NestedSource, Origin, SourceEntry};

/// One `--source NAME=DIR` (or `NAME=oci://REF`, `NAME=FILE.tar`: a bundle, already checked and
/// unpacked).
#[derive(Debug, Clone)]
pub struct SourceDir {
    /// The name files are filed under in the bundle.
    pub name: String,
    /// The directory (for a bundle, where it was unpacked).
    pub dir: PathBuf,
    /// The bundle this source is, when it is one.
    pub bundle: Option<NestedBundle>,
}

/// A bundle used as a source: its files are those its manifest lists, filed as `NAME/SOURCE/PATH`.
#[derive(Debug, Clone)]
pub struct NestedBundle {
    /// The reference or file it came from.
    pub reference: String,
    /// Its digest.
    pub digest: String,
    /// Its manifest.
    pub manifest: BundleManifest,
}

impl NestedBundle {
    /// Its files as (path relative to the source, path on disk under `root`).
    fn files(&self, root: &Path) -> Vec<(String, PathBuf)> {
        let mut files: Vec<(String, PathBuf)> = self
            .manifest
            .sources
            .iter()
            .flat_map(|source| {
                source.files.iter().map(move |file| {
                    let relative = format!("{}/{}", source.name, file.path);
                    let on_disk = root.join(&source.name).join(&file.path);
                    (relative, on_disk)
                })
            })
            .collect();
        files.sort();
        files
    }

    fn origin(&self) -> Origin {
        Origin::Bundle {
            reference: self.reference.clone(),
            digest: self.digest.clone(),
            sources: self
                .manifest
                .sources
                .iter()
                .map(|source| NestedSource { name: source.name.clone(), origin: source.origin.clone() })
                .collect(),
        }
    }
}

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Run the bundle's Rego tests and `kyverno test` suites (a failing test refuses the bundle).
    pub run_tests: bool,
    /// The budget of each Rego test.
    pub test_timeout: Duration,
    /// Default modes per enforcement point, recorded in the manifest.
    pub modes: BTreeMap<String, String>,
}

/// One thing wrong with a source: a file, a position when there is one, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The file, as found on disk.
    pub file: String,
    /// 1-based line (0: the file as a whole).
    pub line: usize,
    /// 1-based column (0: the file as a whole).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
        }
    }
}

/// A test that did not pass at build time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TestFailure {
    /// The test file.
    pub file: String,
    /// The test (Rego rule, or `policy/rule/resource` of a kyverno test row).
    pub test: String,
    /// What happened.
    pub message: String,
}

/// Why a bundle was not built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Bad arguments or unreadable sources (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Policies that do not load: every one listed (exit 2).
    #[error("{} problem(s) in the sources; no bundle was written", .0.len())]
    Invalid(Vec<Problem>),
    /// Tests that fail (exit 1).
    #[error("{} of {} test(s) failed; no bundle was written", .failures.len(), .failures.len() + .passed)]
    TestsFailed {
        /// The failures.
        failures: Vec<TestFailure>,
        /// How many passed.
        passed: usize,
    },
    /// The archive could not be written.
    #[error(transparent)]
    Archive(#[from] BundleError),
}

/// A built bundle.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// Its manifest.
    pub manifest: BundleManifest,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// `sha256:…` of the bytes.
    pub digest: String,
    /// Tests run and passed.
    pub tests_passed: usize,
}

/// Builds a bundle of `sources`.
pub fn build(sources: &[SourceDir], options: &BuildOptions) -> Result<BuildReport, BuildError> {
    if sources.is_empty() {
        return Err(BuildError::Usage("give at least one --source NAME=DIR".to_owned()));
    }
    for (point, mode) in &options.modes {
        if !crate::manifest::ENFORCEMENT_POINTS.contains(&point.as_str()) {
            return Err(BuildError::Usage(format!(
                "--mode {point}={mode}: the enforcement points are {}",
                crate::manifest::ENFORCEMENT_POINTS.join(", ")
            )));
        }
        if !crate::manifest::MODES.contains(&mode.as_str()) {
            return Err(BuildError::Usage(format!(
                "--mode {point}={mode}: the modes are {}",
                crate::manifest::MODES.join(", ")
            )));
        }
    }
    let mut names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(BuildError::Usage(format!("source name {:?} is given twice", pair[0])));
    }
    let mut entries = Vec::new();
    let mut files = BTreeMap::new();
    let mut problems = Vec::new();
    let mut on_disk: Vec<(FileKind, PathBuf)> = Vec::new();
    for source in sources {
        validate_name(&source.name)?;
        let found = match &source.bundle {
            Some(bundle) => bundle.files(&source.dir),
            None => walk(&source.dir)?,
        };
        let mut listed = Vec::new();
        for (relative, path) in found {
            let content = std::fs::read(&path)
                .map_err(|err| BuildError::Usage(format!("cannot read {}: {err}", path.display())))?;
            let text = String::from_utf8_lossy(&content);
            let kind = classify(&relative, &text);
            problems.extend(validate(kind, &path, &text));
            on_disk.push((kind, path));
            listed.push(FileEntry {
                path: relative.clone(),
                sha256: hex::encode(Sha256::digest(&content)),
                size: content.len() as u64,
                kind,
            });
            files.insert(format!("{}/{relative}", source.name), content);
        }
        let origin = match (&source.bundle, verdict_evidence::git::origin(&source.dir)) {
            (Some(bundle), _) => bundle.origin(),
            (None, Some(git)) => Origin::Git { url: git.url, commit: git.commit, path: git.path },
            (None, None) => Origin::Directory { sha256: listing_digest(&listed) },
        };
        entries.push(SourceEntry { name: source.name.clone(), origin, files: listed });
    }
    if !problems.is_empty() {
        return Err(BuildError::Invalid(problems));
    }
    let tests_passed = if options.run_tests { run_tests(&on_disk, options.test_timeout)? } else { 0 };
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let manifest =
        BundleManifest { schema: MANIFEST_SCHEMA.to_owned(), sources: entries, modes: options.modes.clone() };
    let bytes = write_bundle(&manifest, &files)?;
    let digest = digest_of(&bytes);
    Ok(BuildReport { manifest, bytes, digest, tests_passed })
}

/// A source name becomes a path segment and a reference (`oci://REF#security/pod.yaml`).
fn validate_name(name: &str) -> Result<(), BuildError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(BuildError::Usage(format!(
            "source name {name:?}: use lower-case letters, digits, '-', '_' or '.', starting with a letter or digit"
        )))
    }
}

/// The hidden directories a source's walk keeps: Kyverno keeps its test suites in `.kyverno-test/`. Every
/// other hidden entry (`.git`, `.scannerwork`, chainsaw's e2e fixtures in `.chainsaw-test/`) is left out.
const KEPT_HIDDEN: [&str; 1] = [".kyverno-test"];

/// Every regular file below `dir`, sorted by `/`-separated relative path (see [`KEPT_HIDDEN`]); a
/// symbolic link is refused (its target is not in the
/// source, so the bundle would not be reproducible from it).
fn walk(dir: &Path) -> Result<Vec<(String, PathBuf)>, BuildError> {
    let metadata = std::fs::metadata(dir)
        .map_err(|err| BuildError::Usage(format!("source directory {}: {err}", dir.display())))?;
    if !metadata.is_dir() {
        return Err(BuildError::Usage(format!("source {} is not a directory", dir.display())));
    }
    let mut found = Vec::new();
    let mut pending = vec![(String::new(), dir.to_path_buf())];
    while let Some((prefix, current)) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .map_err(|err| BuildError::Usage(format!("cannot list {}: {err}", current.display())))?;
        for entry in entries {
            let entry = entry
                .map_err(|err| BuildError::Usage(format!("cannot list {}: {err}", current.display())))?;
            let name = entry.file_name().to_str().map(str::to_owned).ok_or_else(|| {
                BuildError::Usage(format!("{}: a file name is not UTF-8", current.display()))
            })?;
            if name.starts_with('.') && !KEPT_HIDDEN.contains(&name.as_str()) {
                continue;
            }
            let relative = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
            let kind = entry
                .file_type()
                .map_err(|err| BuildError::Usage(format!("{}: {err}", entry.path().display())))?;
            if kind.is_symlink() {
                return Err(BuildError::Usage(format!(
                    "{} is a symbolic link: copy the file into the source instead",
                    entry.path().display()
                )));
            } else if kind.is_dir() {
                pending.push((relative, entry.path()));
            } else if kind.is_file() {
                found.push((relative, entry.path()));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The digest naming a source outside git: its files' paths and digests, in order.
fn listing_digest(files: &[FileEntry]) -> String {
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.path.as_bytes());
        hasher.update([0]);
        hasher.update(file.sha256.as_bytes());
        hasher.update([b'\n']);
    }
    hex::encode(hasher.finalize())
}

fn from_diagnostics(diagnostics: Vec<verdict_policy::diagnostic::Diagnostic>) -> Vec<Problem> {
    diagnostics
        .into_iter()
        .filter(|d| d.severity == verdict_policy::diagnostic::Severity::Error)
        .map(|d| Problem { file: d.file, line: d.line, column: d.column, message: d.message })
        .collect()
}

/// What is wrong with one file, by the loader of its kind.
fn validate(kind: FileKind, path: &Path, text: &str) -> Vec<Problem> {
    let file = path.display().to_string();
    match kind {
        FileKind::EnvironmentPolicy => {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            verdict_policy::load_policy(&file, &name, text).err().map(from_diagnostics).unwrap_or_default()
        }
        FileKind::Rego | FileKind::RegoTest => verdict_rego::lint::lint(&file, text)
            .into_iter()
            .filter(|finding| matches!(finding.check, "parse-error" | "unsupported-builtin"))
            .map(|finding| Problem {
                file: finding.file,
                line: finding.line as usize,
                column: finding.column as usize,
                message: finding.message,
            })
            .collect(),
        FileKind::ImagePolicy => verdict_imagepolicy::load_image_policy(&file, text)
            .err()
            .map(from_diagnostics)
            .unwrap_or_default(),
        FileKind::AdmissionConfig => verdict_admission::config::load_admission_config(path, text)
            .err()
            .map(from_diagnostics)
            .unwrap_or_default(),
        FileKind::KyvernoPolicy => {
            verdict_kyverno::load_policy_file(&file, text).err().map(from_diagnostics).unwrap_or_default()
        }
        FileKind::KyvernoTest | FileKind::Data => Vec::new(),
    }
}

/// Runs the Rego tests (every Rego file loaded together, as `policy test` does) and the `kyverno test`
/// suites; the number passed, or every failure.
fn run_tests(files: &[(FileKind, PathBuf)], timeout: Duration) -> Result<usize, BuildError> {
    let mut failures = Vec::new();
    let mut passed = 0;
    // Kosli-style policies are each `package policy`: loading every Rego file of a bundle into one engine
    // would merge unrelated policies. Each directory with tests is run as `policy test DIR` runs it: its
    // own Rego files together.
    let mut test_dirs: Vec<&Path> = files
        .iter()
        .filter(|(kind, _)| *kind == FileKind::RegoTest)
        .filter_map(|(_, path)| path.parent())
        .collect();
    test_dirs.sort();
    test_dirs.dedup();
    for dir in test_dirs {
        let rego: Vec<verdict_rego::testing::SourceFile> = files
            .iter()
            .filter(|(kind, path)| {
                matches!(kind, FileKind::Rego | FileKind::RegoTest) && path.parent() == Some(dir)
            })
            .filter_map(|(_, path)| {
                std::fs::read_to_string(path).ok().map(|source| verdict_rego::testing::SourceFile {
                    path: path.display().to_string(),
                    source,
                })
            })
            .collect();
        match verdict_rego::testing::run_tests(&rego, timeout) {
            Ok(results) => {
                for result in results {
                    if result.outcome == verdict_rego::testing::Outcome::Pass {
                        passed += 1;
                    } else {
                        failures.push(TestFailure {
                            file: result.file,
                            test: result.name,
                            message: result.message.unwrap_or_else(|| format!("{:?}", result.outcome)),
                        });
                    }
                }
            }
            Err(err) => failures.push(TestFailure {
                file: dir.display().to_string(),
                test: "rego".into(),
                message: err.to_string(),
            }),
        }
    }
    for (_, path) in files.iter().filter(|(kind, _)| *kind == FileKind::KyvernoTest) {
        let file = path.display().to_string();
        match verdict_kyverno::testsuite::run_test_file(
            path,
            &verdict_kyverno::testsuite::Selector::default(),
        ) {
            Ok(report) => {
                for row in report.rows {
                    if row.passed {
                        passed += 1;
                    } else {
                        failures.push(TestFailure {
                            file: file.clone(),
                            test: format!("{}/{}/{}", row.policy, row.rule, row.resource),
                            message: format!(
                                "expected {}, got {}: {}",
                                row.expected, row.actual, row.message
                            ),
                        });
                    }
                }
            }
            Err(err) => failures.push(TestFailure {
                file: file.clone(),
                test: "suite".into(),
                message: err.to_string(),
            }),
        }
    }
    if failures.is_empty() { Ok(passed) } else { Err(BuildError::TestsFailed { failures, passed }) }
}
