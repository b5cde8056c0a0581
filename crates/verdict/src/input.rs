//! Reading input files (or stdin) with errors that name the file.

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::{Context, anyhow, bail};

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

/// A JSON file, with its role (`what`) and path in errors.
pub fn read_json(path: &Path, what: &str) -> Result<serde_json::Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| CliError::invalid(anyhow!("cannot read {what} {}: {err}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|err| CliError::invalid(anyhow!("{what} {} is not JSON: {err}", path.display())))
}

/// YAML text as JSON, with file:line:column in errors; `what` names the file's role.
pub fn yaml_as_json(path: &Path, text: &str, what: &str) -> Result<serde_json::Value, CliError> {
    let node = verdict_policy::yaml::parse(text)
        .map_err(|err| {
            CliError::invalid(anyhow!(
                "{}:{}:{}: {}",
                path.display(),
                err.position.line,
                err.position.column,
                err.message
            ))
        })?
        .ok_or_else(|| CliError::invalid(anyhow!("{what} {} is empty", path.display())))?;
    Ok(node.to_json())
}
