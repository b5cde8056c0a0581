//! Reading input files (or stdin) with errors that name the file.

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::{Context, bail};

use crate::error::CliError;

/// Reads a UTF-8 text file, or stdin when the path is `-` (refusing an interactive terminal).
pub fn read_text(path: &Path, what: &str) -> Result<String, CliError> {
    read(path, what).map_err(CliError::invalid)
}

fn read(path: &Path, what: &str) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            bail!(
                "the {what} is read from stdin, which is a terminal: pipe a file in, or pass its path instead of `-`"
            );
        }
        let mut text = String::new();
        stdin
            .lock()
            .read_to_string(&mut text)
            .with_context(|| format!("cannot read the {what} from stdin"))?;
        return Ok(text);
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))?;
    String::from_utf8(bytes).with_context(|| format!("{what} {} is not UTF-8 text", path.display()))
}

/// How a file is named in messages.
pub fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" { "<stdin>".to_owned() } else { path.display().to_string() }
}
