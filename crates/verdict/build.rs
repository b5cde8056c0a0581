//! Stamps the binary with the git commit it was built from and the build date, for `verdict --version`.
//! Reads the repository's files directly: no `git` binary is needed, and a build outside a checkout
//! (a source tarball) says `unknown` rather than failing.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = manifest.ancestors().find_map(git_dir).and_then(|dir| head_commit(&dir));
    let commit = commit.map_or_else(|| "unknown".to_owned(), |sha| sha.chars().take(12).collect());
    println!("cargo:rustc-env=VERDICT_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=VERDICT_BUILD_DATE={}", build_date());
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
}

/// The `.git` directory of a checkout rooted at `dir`, telling cargo to rebuild when HEAD moves.
fn git_dir(dir: &Path) -> Option<PathBuf> {
    let git = dir.join(".git");
    if git.is_dir() {
        for watched in ["HEAD", "packed-refs"] {
            println!("cargo:rerun-if-changed={}", git.join(watched).display());
        }
        return Some(git);
    }
    // A worktree or submodule: `.git` is a file naming the real directory.
    let pointer = std::fs::read_to_string(&git).ok()?;
    let target = pointer.strip_prefix("gitdir:")?.trim();
    Some(dir.join(target))
}

/// The commit HEAD names, following one symbolic ref through loose refs or packed-refs.
fn head_commit(git: &Path) -> Option<String> {
    let head = std::fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref:").map(str::trim) else {
        return Some(head.to_owned());
    };
    let loose = git.join(reference);
    println!("cargo:rerun-if-changed={}", loose.display());
    if let Ok(sha) = std::fs::read_to_string(&loose) {
        return Some(sha.trim().to_owned());
    }
    let packed = std::fs::read_to_string(git.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (sha, name) = line.split_once(' ')?;
        (name.trim() == reference).then(|| sha.to_owned())
    })
}

/// Today's date (UTC), or SOURCE_DATE_EPOCH's for reproducible builds, as YYYY-MM-DD.
fn build_date() -> String {
    let seconds = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|epoch| epoch.parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(0))
        });
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
