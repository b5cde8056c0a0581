//! `verdict demo`: the main job end to end, explained. Records a flow with a template, two trails (one
//! good, one with a failing scan and a self-approved pull request), evaluates a Rego policy over each
//! trail, enforces an environment policy on a snapshot of what runs in production, puts the admission
//! webhook in front of the cluster (image signatures and the same environment policy, in enforce, warn
//! and audit mode), and verifies the ledger's hash chain.

use std::collections::BTreeMap;

use anyhow::anyhow;
use serde_json::json;
use verdict_core::ExitStatus;
use verdict_ledger::{Artifact, Attestation, Flow, Ledger, LedgerError, Trail};
use verdict_rego::{Limits, RegoPolicy};

use super::ledger::{ledger_error, runtime, with_ledger};
use crate::cli::LedgerOptions;
use crate::error::{CliError, CliResult};
use crate::render::{ERROR, OK, WARNING};

const POLICY: &str = include_str!("../../../../examples/rego/trail-policy.rego");
const TEMPLATE: &str = "version: 1\ntrail:\n  attestations:\n    - name: pull-request\n      type: pull_request\n  artifacts:\n    - name: backend\n      attestations:\n        - name: unit-tests\n          type: junit\n        - name: security-scan\n          type: snyk\n";

fn step(text: &str) {
    anstream::println!("\n== {text}");
}

fn fingerprint(content: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(content.as_bytes()))
}

/// The backend artifact of `version`: the digest of its container image, as CI would report it.
fn backend_fingerprint(version: &str) -> String {
    super::demo_admission::backend_digest(version).trim_start_matches("sha256:").to_owned()
}

fn attestation(
    name: &str,
    kind: &str,
    trail: &str,
    compliant: bool,
    user_data: Option<serde_json::Value>,
) -> Attestation {
    Attestation {
        name: name.to_owned(),
        kind: kind.to_owned(),
        flow: "backend-ci".to_owned(),
        trail: trail.to_owned(),
        fingerprint: None,
        is_compliant: compliant,
        payload: None,
        user_data,
        attachments: Vec::new(),
    }
}

async fn record(ledger: &impl Ledger, org: &str) -> Result<(), LedgerError> {
    let template = verdict_policy::yaml::parse(TEMPLATE).ok().flatten().map(|node| node.to_json());
    let tags = BTreeMap::from([("risk-level".to_owned(), "high".to_owned())]);
    ledger
        .put_flow(
            org,
            Flow {
                name: "backend-ci".into(),
                description: "Backend build".into(),
                tags,
                template,
                archived: false,
            },
        )
        .await?;
    anstream::println!(
        "created flow backend-ci: every trail needs a pull request; the backend artifact needs unit tests and a security scan"
    );
    for (trail, version, scan_ok, approver) in
        [("release-1.4.2", "1.4.2", true, "bob"), ("hotfix-1.4.3", "1.4.3", false, "alice")]
    {
        ledger
            .begin_trail(
                org,
                Trail {
                    name: trail.into(),
                    flow: "backend-ci".into(),
                    description: String::new(),
                    commit: Some(fingerprint(trail)[..40].to_owned()),
                    origin_url: None,
                    user_data: None,
                    template: None,
                },
            )
            .await?;
        let digest = backend_fingerprint(version);
        ledger
            .report_artifact(
                org,
                Artifact {
                    fingerprint: digest.clone(),
                    name: "backend".into(),
                    filename: Some(format!("backend-{version}.tar")),
                    flow: "backend-ci".into(),
                    trail: trail.into(),
                    commit: None,
                    build_url: None,
                    annotations: BTreeMap::new(),
                },
            )
            .await?;
        ledger
            .attest(
                org,
                attestation(
                    "pull-request",
                    "pull_request",
                    trail,
                    true,
                    Some(json!({"author": "alice", "approvers": [approver]})),
                ),
            )
            .await?;
        ledger.attest(org, attestation("backend.unit-tests", "junit", trail, true, None)).await?;
        ledger.attest(org, attestation("backend.security-scan", "snyk", trail, scan_ok, None)).await?;
        anstream::println!(
            "trail {trail}: artifact backend {}…, pull request by alice approved by {approver}, unit tests passed, security scan {}",
            &digest[..12],
            if scan_ok { "clean" } else { "found a high-severity vulnerability" }
        );
    }
    Ok(())
}

/// The environment policy of the demo: what production requires.
const RELEASE_GATE: &str = "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n  trail-compliance:\n    required: true\n  attestations:\n    - name: security-scan\n      type: snyk\n";

/// Step 4: an environment with the policy attached, a snapshot of both releases running, and the
/// assert verdict for each.
async fn enforce(
    ledger: &impl Ledger,
    org: &str,
) -> Result<(verdict_enforce::SnapshotOutcome, Vec<(String, bool)>), LedgerError> {
    use verdict_ledger::records::{Environment, PolicyRecord, RunningArtifact};
    verdict_enforce::create_environment(
        ledger,
        org,
        Environment {
            name: "production".into(),
            kind: "K8S".into(),
            description: "The production cluster".into(),
            included_environments: Vec::new(),
            tags: Default::default(),
            archived: false,
        },
    )
    .await?;
    let policy = PolicyRecord {
        name: "release-gate".into(),
        source: RELEASE_GATE.into(),
        description: "What may run in production".into(),
        comment: String::new(),
    };
    verdict_enforce::create_policy(ledger, org, policy, "release-gate").await?;
    verdict_enforce::policies::attach_policy(ledger, org, "release-gate", "production", true).await?;
    let running: Vec<RunningArtifact> = ["1.4.2", "1.4.3"]
        .iter()
        .map(|version| RunningArtifact {
            name: format!("registry.example/backend:{version}"),
            fingerprint: backend_fingerprint(version),
            instances: 3,
            started_at: None,
            pods: Vec::new(),
        })
        .collect();
    let outcome = verdict_enforce::report_snapshot(ledger, org, "production", running).await?;
    let asserts = outcome
        .evaluation
        .artifacts
        .iter()
        .map(|a| (a.decision.fingerprint.as_str().to_owned(), a.decision.compliant))
        .collect();
    Ok((outcome, asserts))
}

/// The demo writes example evidence (a flow, an environment named production, a policy attached to it):
/// into a ledger that already holds evidence it would mix with real records, and a second run would
/// fail halfway. Refuse before writing anything.
fn refuse_a_used_ledger(options: &LedgerOptions, location: &str) -> Result<(), CliError> {
    let (flows, environments) = with_ledger(options, async |ledger| {
        let flows = ledger.flows(&options.org).await?;
        let environments = verdict_enforce::environments::environments(ledger, &options.org).await?;
        Ok((flows.len(), environments.len()))
    })?;
    if flows + environments > 0 {
        return Err(CliError::invalid(anyhow!(
            "the ledger at {location} already holds {flows} flow(s) and {environments} environment(s) \
             (an earlier `verdict demo`?); the demo records its example evidence only into a new ledger: \
             give --db a new file, or leave --db out for a temporary one. Nothing was written."
        )));
    }
    Ok(())
}

/// Where to go after the demo: the commands that show what it recorded, and the docs.
fn next_steps(kept: Option<&str>) {
    step("Next steps");
    match kept {
        Some(location) => {
            anstream::println!(
                "The evidence stays in {location}. Look at it with the commands CI and operators use:"
            );
            anstream::println!("  verdict get trail hotfix-1.4.3 --flow backend-ci --db {location}");
            anstream::println!("  verdict get snapshot production --db {location}");
            anstream::println!("  verdict ledger verify --db {location}");
        }
        None => {
            anstream::println!(
                "This ledger was temporary. Keep one to explore with the commands CI and operators use:"
            );
            anstream::println!("  verdict demo --db demo.db");
            anstream::println!("  verdict get trail hotfix-1.4.3 --flow backend-ci --db demo.db");
        }
    }
    anstream::println!(
        "Then record your own pipeline: `verdict create flow --help`, and read docs/ (README's map)."
    );
}

/// Runs the demo against `--db`, or a temporary ledger that is removed afterwards.
pub fn run(options: &LedgerOptions) -> CliResult {
    let temporary = match &options.db {
        Some(_) => None,
        None => Some(
            tempfile::tempdir()
                .map_err(|err| CliError::invalid(anyhow!("cannot create a temporary directory: {err}")))?,
        ),
    };
    let options = match &temporary {
        Some(dir) => LedgerOptions {
            db: Some(dir.path().join("demo.db").display().to_string()),
            org: options.org.clone(),
            org_flag: options.org_flag.clone(),
            host: None,
            api_token: None,
            dry_run: false,
            may_create: true,
        },
        None => LedgerOptions { host: None, dry_run: false, ..options.clone() },
    };
    let location = options.db.clone().unwrap_or_default();
    anstream::println!(
        "verdict demo — ledger: {location}{}",
        if temporary.is_some() { " (temporary)" } else { "" }
    );
    if temporary.is_none() {
        refuse_a_used_ledger(&options, &location)?;
    }
    step("1. Record evidence (what CI would report with `verdict create flow`, `begin trail`, `attest …`)");
    with_ledger(&options, async |ledger| record(ledger, &options.org).await)?;

    step("2. Compute each trail's compliance from its template (`verdict get trail`)");
    let documents = with_ledger(&options, async |ledger| {
        let mut documents = Vec::new();
        for trail in ["release-1.4.2", "hotfix-1.4.3"] {
            documents.push(ledger.trail_document(&options.org, "backend-ci", trail).await?);
        }
        Ok(documents)
    })?;
    for document in &documents {
        anstream::println!(
            "trail {}: {}",
            document["name"].as_str().unwrap_or_default(),
            document["compliance_status"]["status"].as_str().unwrap_or_default()
        );
    }

    step(
        "3. Evaluate the Rego policy examples/rego/trail-policy.rego over each trail (`verdict evaluate trail`)",
    );
    let policy = RegoPolicy::load("examples/rego/trail-policy.rego", POLICY)
        .map_err(|err| CliError::invalid(anyhow!("{err}")))?;
    for document in &documents {
        let name = document["name"].as_str().unwrap_or_default();
        let decision = policy
            .evaluate(regorus::Value::from(json!({ "trail": document })), &Limits::default())
            .map_err(|err| CliError::invalid(anyhow!("{err}")))?;
        if decision.allow {
            anstream::println!(
                "{}ALLOWED{} {name}: compliant, and the pull request was approved by someone other than its author",
                OK.render(),
                OK.render_reset()
            );
        } else {
            anstream::println!("{}DENIED{}  {name}:", ERROR.render(), ERROR.render_reset());
            for violation in decision.violations.iter().flatten() {
                anstream::println!("        - {violation}");
            }
        }
    }

    step(
        "4. Enforce where it runs: environment production with an environment policy attached, a snapshot, and `verdict assert`",
    );
    let (outcome, asserts) = with_ledger(&options, async |ledger| enforce(ledger, &options.org).await)?;
    anstream::println!(
        "created environment production (K8S) and policy release-gate v1 (provenance, trail compliance, a clean snyk scan); attached it"
    );
    anstream::println!(
        "snapshot production#{}: {} running; each artifact's trail now records that it started running in production",
        outcome.number,
        outcome.evaluation.artifacts.len()
    );
    for verdict in &outcome.evaluation.artifacts {
        let name = &verdict.decision.name;
        if verdict.decision.compliant {
            anstream::println!("{}COMPLIANT{}     {name}", OK.render(), OK.render_reset());
        } else {
            anstream::println!("{}NON-COMPLIANT{} {name}:", ERROR.render(), ERROR.render_reset());
            for reason in &verdict.decision.reasons {
                anstream::println!("        - {reason}");
            }
        }
    }
    anstream::println!(
        "snapshot production#{} is {} (so `verdict assert snapshot production` exits 1)",
        outcome.number,
        outcome.evaluation.status
    );
    let db_flag = if temporary.is_none() { format!(" --db {location}") } else { String::new() };
    for (fingerprint, allowed) in asserts {
        anstream::println!(
            "{} ({}):\n  verdict assert artifact --fingerprint {fingerprint} --environment production{db_flag}",
            if allowed { "exits 0" } else { "exits 1" },
            if allowed { "may run" } else { "may not run here" }
        );
    }

    step(
        "5. Guard the cluster (`verdict admission serve`): the webhook over HTTPS checks each image's signature and production's policies",
    );
    let db = options.db.clone().unwrap_or_default();
    let admission = runtime()?.block_on(super::demo_admission::run(&db, &options.org))?;
    anstream::println!(
        "backend 1.4.2 is signed by the release key and attested with SLSA provenance built from main (key-based, no transparency log: the policy says `ignoreTlog: true`); 1.4.3 is neither"
    );
    for answer in &admission.answers {
        let mode = format!("{:?}", answer.mode).to_lowercase();
        let version = answer.image.rsplit(':').next().unwrap_or_default();
        match (answer.allowed, answer.warnings.is_empty()) {
            (true, true) => {
                anstream::println!(
                    "{}ADMITTED{} ({mode:7}) backend {version}",
                    OK.render(),
                    OK.render_reset()
                )
            }
            (true, false) => {
                anstream::println!(
                    "{}ADMITTED{} ({mode:7}) backend {version}, with warnings:",
                    WARNING.render(),
                    WARNING.render_reset()
                );
                for warning in &answer.warnings {
                    anstream::println!("        - {warning}");
                }
            }
            (false, _) => {
                anstream::println!(
                    "{}DENIED{}   ({mode:7}) backend {version}:",
                    ERROR.render(),
                    ERROR.render_reset()
                );
                // One line per failed check: the message joins them with "; " before the image.
                let message = answer.message.as_deref().unwrap_or_default();
                let split = message.replace(&format!("; {}", answer.image), &format!("\n{}", answer.image));
                for line in split.lines() {
                    anstream::println!("        {line}");
                }
            }
        }
    }
    anstream::println!(
        "{} admission decisions recorded in the ledger (`verdict admission replay` re-judges them)",
        admission.recorded
    );

    step("6. Verify the ledger's hash chain (`verdict ledger verify`)");
    let report = with_ledger(&options, async |ledger| Ledger::verify(ledger).await)?;
    match &report.problem {
        None => anstream::println!(
            "{} entries, each chained to the one before; head {}",
            report.count,
            report.head_hash
        ),
        Some(problem) => {
            return Err(ledger_error(LedgerError::Invalid(format!("the ledger does not verify: {problem}"))));
        }
    }
    next_steps(temporary.is_none().then_some(location.as_str()));
    Ok(ExitStatus::Ok)
}
