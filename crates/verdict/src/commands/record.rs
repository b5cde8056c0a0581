//! Recording an attestation, shared by every `attest` command: user data, attachments (stored before
//! the attestation that names them), `--dry-run`, and the line printed afterwards.

use anyhow::anyhow;
use verdict_core::ExitStatus;
use verdict_ledger::{AttachmentRef, Attestation, Ledger, content_hash};

use super::ledger::with_ledger;
use crate::cli::{AttestCommon, LedgerOptions};
use crate::error::{CliError, CliResult};

/// Records an attestation of `kind` with its processed `payload`: reads `--user-data` and
/// `--attachments`, honours `--dry-run`, stores attachment contents first (the ledger refuses an
/// attestation whose attachments it does not hold), and prints what was recorded.
pub fn record_attestation(
    options: &LedgerOptions,
    common: AttestCommon,
    kind: &str,
    is_compliant: bool,
    payload: Option<serde_json::Value>,
) -> CliResult {
    let user_data =
        common.user_data.as_deref().map(|p| crate::input::read_json(p, "user data")).transpose()?;
    let files = read_attachments(&common.attachments)?;
    let mut attachments: Vec<AttachmentRef> = files.iter().map(|(reference, _)| reference.clone()).collect();
    attachments.sort_by(|a, b| a.name.cmp(&b.name));
    let attestation = Attestation {
        name: common.name.clone(),
        kind: kind.to_owned(),
        flow: common.target.flow,
        trail: common.target.trail,
        fingerprint: super::fingerprint::resolve_optional(common.fingerprint, options)?,
        is_compliant,
        payload,
        user_data,
        attachments,
    };
    let what = format!("{kind} attestation");
    if crate::render::dry_run(options, &what, &attestation)? {
        return Ok(ExitStatus::Ok);
    }
    let recorded = with_ledger(options, async |ledger| {
        for (reference, content) in files {
            let stored = ledger.put_attachment(&options.org, content).await?;
            if stored != reference.sha256 {
                return Err(verdict_ledger::LedgerError::Invalid(format!(
                    "attachment {} was stored as {stored}, not {}",
                    reference.name, reference.sha256
                )));
            }
        }
        ledger.attest(&options.org, attestation).await
    })?;
    let verdict = if is_compliant { "compliant" } else { "NON-COMPLIANT" };
    match common.output {
        crate::cli::ValidateOutput::Json => crate::render::print_json(&recorded)?,
        crate::cli::ValidateOutput::Text => {
            crate::render::recorded_line(&what, &format!("{} ({verdict})", common.name), &recorded)
        }
    }
    Ok(ExitStatus::Ok)
}

/// Reads `--attachments`: each file's reference (name, hash, size) and content. Names must be unique, so
/// a reader can tell attachments apart.
fn read_attachments(paths: &[std::path::PathBuf]) -> Result<Vec<(AttachmentRef, Vec<u8>)>, CliError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let content = std::fs::read(path)
            .map_err(|err| CliError::invalid(anyhow!("cannot read attachment {}: {err}", path.display())))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| CliError::invalid(anyhow!("attachment {} is not a file", path.display())))?;
        if !seen.insert(name.clone()) {
            return Err(CliError::invalid(anyhow!(
                "two attachments are named {name:?}: attachment names must be unique"
            )));
        }
        let reference = AttachmentRef { name, sha256: content_hash(&content), size: content.len() as u64 };
        files.push((reference, content));
    }
    Ok(files)
}
