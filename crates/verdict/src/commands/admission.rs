//! `verdict admission serve|review|validate`: the admission webhook and its offline twin, both on
//! `verdict-admission`'s decision, so a review decided here is decided the same at the cluster.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::anyhow;
use verdict_admission::ledger::{
    AppendDecision, DecisionRecorder, EnvironmentCheck, EnvironmentJudge, environment_outcome,
    environment_request,
};
use verdict_admission::{
    AdmissionConfig, LedgerConfig, LiveEvaluator, Mode, PolicyFile, PolicyJudge, ReloadingCertificate,
    Settings, SourceContents, WebhookConfig, answer, build_judge, decide, load_admission_config,
    parse_review,
};
use verdict_client::HttpLedger;
use verdict_core::ExitStatus;
use verdict_ledger::{Ledger, RecordKind, SqlLedger};

use super::ledger::{ledger_error, require_ledger, runtime, with_ledger};
use crate::cli::{EvalOutput, LedgerOptions};
use crate::cli_admission::{
    AdmissionCommand, AdmissionManifestsArgs, AdmissionReplayArgs, AdmissionReviewArgs, AdmissionServeArgs,
    AdmissionValidateArgs, JudgeArgs, ModeArg,
};
use crate::error::{CliError, CliResult};
use crate::ledger_backend::CliLedger;

/// Runs an `admission` subcommand.
pub fn run(command: AdmissionCommand, options: &LedgerOptions, trust: &crate::cli::BundleTrust) -> CliResult {
    match command {
        AdmissionCommand::Serve(args) => serve(&args, trust),
        AdmissionCommand::Review(args) => review(&args),
        AdmissionCommand::Validate(args) => validate(&args),
        AdmissionCommand::Manifests(args) => manifests(&args),
        AdmissionCommand::Replay(args) => replay(&args, options),
    }
}

/// The effective configuration: the AdmissionConfig file, or the flags.
fn effective_config(args: &JudgeArgs) -> Result<AdmissionConfig, CliError> {
    if let Some(file) = &args.config {
        let source = std::fs::read_to_string(file)
            .map_err(|err| CliError::invalid(anyhow!("cannot read --config {}: {err}", file.display())))?;
        let config = load_admission_config(file, &source).map_err(|diagnostics| {
            let rendered: Vec<String> = diagnostics.iter().map(|d| d.render(&source)).collect();
            CliError::invalid(anyhow!("the admission configuration does not load:\n{}", rendered.join("\n")))
        })?;
        return Ok(match bundle_admission_mode(file) {
            Some(mode) => config.with_default_mode(mode),
            None => config,
        });
    }
    let mode = match args.mode {
        Some(ModeArg::Audit) => Mode::Audit,
        Some(ModeArg::Warn) => Mode::Warn,
        Some(ModeArg::Enforce) => Mode::Enforce,
        None => args.policy.as_deref().and_then(bundle_admission_mode).unwrap_or(Mode::Enforce),
    };
    Ok(AdmissionConfig {
        policies: args.policy.iter().map(|path| PolicyFile { path: path.clone(), mode: None }).collect(),
        trusted_root: args.trusted_root.clone(),
        mode,
        budget: args.budget,
        exempt_namespaces: args.exempt_namespaces.clone(),
        docker_config: args.docker_config.clone(),
        registry_timeout: args.registry_timeout,
        ..AdmissionConfig::default()
    })
}

/// The `admission` mode of the bundle `path` was taken from, when its manifest sets one: the default a
/// configuration without its own `mode` (or `--policy` without `--mode`) takes.
fn bundle_admission_mode(path: &std::path::Path) -> Option<Mode> {
    let (mode, digest) = crate::policy_sources::bundle_mode_of(path, "admission")?;
    tracing::info!("mode {mode}: the admission mode of bundle {digest}");
    Some(match mode.as_str() {
        "audit" => Mode::Audit,
        "warn" => Mode::Warn,
        _ => Mode::Enforce,
    })
}

/// The judge and settings `config` describes ([`build_judge`]); a file that does not load is exit 2.
fn judge(config: &AdmissionConfig) -> Result<(PolicyJudge, Settings), CliError> {
    build_judge(config).map_err(CliError::invalid)
}

fn validate(args: &AdmissionValidateArgs) -> CliResult {
    let config = effective_config(&JudgeArgs {
        config: Some(args.config.clone()),
        policy: None,
        trusted_root: None,
        docker_config: None,
        mode: None,
        budget: std::time::Duration::from_secs(8),
        registry_timeout: std::time::Duration::from_secs(5),
        exempt_namespaces: Vec::new(),
    })?;
    // The policies and trust root it names must load too.
    judge(&config)?;
    anstream::println!(
        "ok: {} ({} image {}, mode {:?})",
        args.config.display(),
        config.policies.len(),
        if config.policies.len() == 1 { "policy" } else { "policies" },
        config.mode
    );
    Ok(ExitStatus::Ok)
}

/// The ledger the configuration names, opened (a database must exist already: the webhook creates no
/// ledger), with the environment it checks (which must exist).
pub(crate) async fn open_ledger(config: &LedgerConfig) -> Result<Arc<CliLedger>, CliError> {
    let ledger = match (&config.host, &config.db) {
        (Some(host), _) => {
            let token = match &config.api_token_file {
                Some(file) => Some(
                    std::fs::read_to_string(file)
                        .map_err(|err| CliError::invalid(anyhow!("cannot read {}: {err}", file.display())))?
                        .trim()
                        .to_owned(),
                ),
                None => std::env::var("VERDICT_API_TOKEN").ok().filter(|token| !token.is_empty()),
            };
            CliLedger::Remote(HttpLedger::new(host, token).map_err(ledger_error)?)
        }
        (None, Some(db)) => {
            require_ledger(db, false)?;
            CliLedger::Local(SqlLedger::open(db).await.map_err(ledger_error)?)
        }
        (None, None) => return Err(CliError::invalid(anyhow!("the ledger needs host or db"))),
    };
    if let Some(environment) = &config.environment {
        verdict_enforce::environments::require_environment(&ledger, &config.org, environment)
            .await
            .map_err(ledger_error)?;
    }
    Ok(Arc::new(ledger))
}

/// The environment check on this ledger: [`environment_request`] asserted, read by [`environment_outcome`].
pub(crate) fn environment_check(
    ledger: Arc<CliLedger>,
    org: String,
    environment: String,
) -> EnvironmentCheck {
    Arc::new(move |digest: String, image: String| {
        let (ledger, org) = (Arc::clone(&ledger), org.clone());
        let request = environment_request(&digest, image, environment.clone());
        Box::pin(async move {
            environment_outcome(verdict_enforce::assert_artifact(ledger.as_ref(), &org, &request).await)
        })
    })
}

/// Appends decisions as `admission_decision` records.
pub(crate) fn decision_appender(ledger: Arc<CliLedger>, org: String) -> AppendDecision {
    Arc::new(move |uid: String, body: serde_json::Value| {
        let (ledger, org) = (Arc::clone(&ledger), org.clone());
        Box::pin(async move {
            ledger
                .append_record(&org, RecordKind::AdmissionDecision, &uid, body)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        })
    })
}

/// Every file the judge is built from: the configuration, the policies, the trust root, the registry
/// credentials.
fn source_files(args: &JudgeArgs, config: &AdmissionConfig) -> Vec<PathBuf> {
    let policies = config.policies.iter().map(|policy| policy.path.clone());
    args.config
        .iter()
        .cloned()
        .chain(policies)
        .chain(config.trusted_root.clone())
        .chain(config.docker_config.clone())
        .collect()
}

/// The policy bundle the webhook's configuration (or its one policy) was taken from, if any.
fn bundle_of(args: &JudgeArgs) -> Option<verdict_admission::decision::PolicyBundle> {
    let path = args.config.as_ref().or(args.policy.as_ref())?;
    crate::policy_sources::admission_bundle(crate::policy_sources::provenance_of(path))
}

/// Rebuilds the judge when one of its source files changes (unless `--no-reload`). The ledger section
/// is fixed at start-up (the connection, the environment check and the recorder depend on it): a change
/// to it is refused with a message to restart, and the running configuration stays.
fn reload_on_change<J: verdict_admission::ImageJudge + 'static>(
    live: &Arc<LiveEvaluator<J>>,
    args: &AdmissionServeArgs,
    (started, seen): (&AdmissionConfig, SourceContents),
    trust: &crate::cli::BundleTrust,
    wrap: impl Fn(PolicyJudge) -> J + Send + Sync + 'static,
) {
    let wrap: Arc<dyn Fn(PolicyJudge) -> J + Send + Sync> = Arc::new(wrap);
    poll_bundle(live, args, started, trust, Arc::clone(&wrap));
    if args.no_reload {
        return;
    }
    let judge_args = args.judge.clone();
    let ledger = serde_json::to_value(&started.ledger).unwrap_or_default();
    live.watch(source_files(&judge_args, started), seen, std::time::Duration::from_secs(2), move || {
        let config = effective_config(&judge_args).map_err(|err| err.to_string())?;
        if serde_json::to_value(&config.ledger).unwrap_or_default() != ledger {
            return Err("the `ledger` section changed; restart the webhook to apply it".to_owned());
        }
        let (judge, mut settings) = judge(&config).map_err(|err| err.to_string())?;
        settings.policy_bundle = bundle_of(&judge_args);
        Ok((wrap(judge), settings, source_files(&judge_args, &config)))
    });
}

/// `--config oci://REF:TAG#PATH --bundle-poll D`: asks the registry every D for the bundle behind the tag.
/// A new digest is verified and unpacked (`policy_sources::re_resolve`), its configuration built, and
/// only then made current, atomically; a bundle that does not verify or load keeps the running one
/// (logged, and counted in `verdict_admission_bundle_refreshes_total{outcome="refused"}`), so an
/// unverified policy is never served. The ledger section is fixed at start-up, as for file reloads.
fn poll_bundle<J: verdict_admission::ImageJudge + 'static>(
    live: &Arc<LiveEvaluator<J>>,
    args: &AdmissionServeArgs,
    started: &AdmissionConfig,
    trust: &crate::cli::BundleTrust,
    wrap: Arc<dyn Fn(PolicyJudge) -> J + Send + Sync>,
) {
    let Some((origin, mut serving)) = crate::policy_sources::admission_origin() else { return };
    if args.bundle_poll.is_zero() {
        return;
    }
    let (live, interval, trust) = (Arc::clone(live), args.bundle_poll, trust.clone());
    let judge_args = args.judge.clone();
    let ledger = serde_json::to_value(&started.ledger).unwrap_or_default();
    metrics::gauge!("verdict_admission_bundle_info", "digest" => serving.clone()).set(1.0);
    let spawned = std::thread::Builder::new().name("verdict-bundle-poll".to_owned()).spawn(move || {
        let mut last_refusal: Option<String> = None;
        loop {
            std::thread::sleep(interval);
            let attempt = crate::policy_sources::re_resolve(&origin, &trust).and_then(|(path, digest, provenance)| {
                if digest == serving {
                    return Ok(None);
                }
                let next_args = JudgeArgs { config: Some(path), ..judge_args.clone() };
                let config = effective_config(&next_args)?;
                if serde_json::to_value(&config.ledger).unwrap_or_default() != ledger {
                    return Err(CliError::invalid(anyhow!(
                        "the new bundle's `ledger` section differs; restart the webhook to apply it"
                    )));
                }
                let (judge, mut settings) = judge(&config)?;
                settings.policy_bundle = crate::policy_sources::admission_bundle(provenance);
                Ok(Some((judge, settings, digest)))
            });
            match attempt {
                Ok(None) => {}
                Ok(Some((judge, settings, digest))) => {
                    last_refusal = None;
                    let generation = live.replace(wrap(judge), settings);
                    metrics::gauge!("verdict_admission_bundle_info", "digest" => serving.clone()).set(0.0);
                    metrics::gauge!("verdict_admission_bundle_info", "digest" => digest.clone()).set(1.0);
                    metrics::counter!("verdict_admission_bundle_refreshes_total", "outcome" => "applied").increment(1);
                    tracing::info!(generation, %digest, previous = %serving, "switched to a new policy bundle");
                    serving = digest;
                }
                Err(err) => {
                    // The same refusal on every poll is reported once, until something changes.
                    let message = err.to_string();
                    live.refused(format!("the bundle behind {origin} was not switched to: {message}"));
                    if last_refusal.as_deref() != Some(message.as_str()) {
                        metrics::counter!("verdict_admission_bundle_refreshes_total", "outcome" => "refused")
                            .increment(1);
                        tracing::error!(%serving, "the bundle behind {origin} was not switched to; still serving {serving}: {message}");
                        last_refusal = Some(message);
                    }
                    continue;
                }
            }
        }
    });
    if let Err(err) = spawned {
        tracing::error!("cannot poll {}: {err}", args.bundle_poll.as_secs());
    }
}

fn serve(args: &AdmissionServeArgs, trust: &crate::cli::BundleTrust) -> CliResult {
    let config = effective_config(&args.judge)?;
    if args.print_config {
        crate::render::print_json(&config)?;
        return Ok(ExitStatus::Ok);
    }
    // What the watcher compares against is read before the judge is built (from the configuration read
    // again after it), so a change in between is applied rather than lost; at worst it rebuilds once
    // more than needed.
    let seen = SourceContents::read(&source_files(&args.judge, &config));
    let config = effective_config(&args.judge)?;
    let (judge, mut settings) = judge(&config)?;
    settings.policy_bundle = bundle_of(&args.judge);
    let max_body_bytes = usize::try_from(args.max_body_bytes)
        .map_err(|_| CliError::invalid(anyhow!("--max-body-bytes is too large for this machine")))?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(ReloadingCertificate::load(cert, key).map_err(CliError::invalid)?),
        _ => None,
    };
    tracing::info!(
        mode = ?settings.mode,
        budget = ?settings.budget,
        exempt = ?settings.exempt_namespaces,
        ledger = config.ledger.is_some(),
        "admission webhook configured"
    );
    let scheme = if tls.is_some() { "https" } else { "http" };
    let listen = args.listen;
    let ready = move |address| {
        // The one line on stdout: scripts (and tests) read the bound address from it.
        anstream::println!("verdict admission webhook listening on {scheme}://{address}");
    };
    runtime()?.block_on(async {
        let ledger = match &config.ledger {
            Some(ledger_config) => Some((open_ledger(ledger_config).await?, ledger_config)),
            None => None,
        };
        let recorder = ledger.as_ref().filter(|(_, c)| c.record_decisions).map(|(ledger, c)| {
            DecisionRecorder::start(decision_appender(Arc::clone(ledger), c.org.clone()), 10_000, 5)
        });
        let webhook = WebhookConfig { listen, tls, max_body_bytes, recorder };
        let served = match ledger
            .and_then(|(ledger, c)| c.environment.clone().map(|e| (ledger, c.org.clone(), e)))
        {
            Some((ledger, org, environment)) => {
                let check = environment_check(ledger, org, environment.clone());
                let wrap = move |judge| EnvironmentJudge::new(judge, environment.clone(), Arc::clone(&check));
                let live = LiveEvaluator::new(wrap(judge), settings);
                reload_on_change(&live, args, (&config, seen), trust, wrap);
                verdict_admission::serve(webhook, live, ready).await
            }
            None => {
                let live = LiveEvaluator::new(judge, settings);
                reload_on_change(&live, args, (&config, seen), trust, |judge| judge);
                verdict_admission::serve(webhook, live, ready).await
            }
        };
        served.map_err(|err| CliError::unavailable(anyhow!("cannot serve on {listen}: {err}")))
    })?;
    Ok(ExitStatus::Ok)
}

fn review(args: &AdmissionReviewArgs) -> CliResult {
    let body = if args.review.as_os_str() == "-" {
        let mut buffer = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut buffer)
            .map_err(|err| CliError::invalid(anyhow!("cannot read the review from stdin: {err}")))?;
        buffer
    } else {
        std::fs::read(&args.review)
            .map_err(|err| CliError::invalid(anyhow!("cannot read {}: {err}", args.review.display())))?
    };
    let request =
        parse_review(&body).map_err(|err| CliError::invalid(anyhow!("{}: {err}", args.review.display())))?;
    let config = effective_config(&args.judge)?;
    let (judge, mut settings) = judge(&config)?;
    settings.policy_bundle = bundle_of(&args.judge);
    let decision = runtime()?.block_on(async {
        let environment = config.ledger.as_ref().and_then(|c| c.environment.clone().map(|e| (c, e)));
        match environment {
            Some((ledger_config, environment)) => {
                let ledger = open_ledger(ledger_config).await?;
                let check = environment_check(ledger, ledger_config.org.clone(), environment.clone());
                Ok::<_, CliError>(
                    decide(&request, &EnvironmentJudge::new(judge, environment, check), &settings).await,
                )
            }
            None => Ok(decide(&request, &judge, &settings).await),
        }
    })?;
    match args.output {
        EvalOutput::Json => crate::render::print_json(&serde_json::json!({
            "decision": decision,
            "review": answer(&request, &decision),
        }))?,
        EvalOutput::Table => {
            let verdict = if decision.admitted { "ADMITTED" } else { "DENIED" };
            anstream::println!(
                "{verdict}: {} {}/{} ({}, mode {:?})",
                decision.kind,
                decision.namespace.as_deref().unwrap_or("-"),
                decision.name,
                decision.operation,
                decision.mode
            );
            for image in &decision.images {
                let outcome = if image.allowed { "ok" } else { "FAILED" };
                anstream::println!("  {outcome}  {}  ({})", image.image, image.path);
            }
            for reason in &decision.reasons {
                anstream::println!("  • {reason}");
            }
            for (mode, note) in &decision.notes {
                anstream::println!("  • ({}) {note}", format!("{mode:?}").to_lowercase());
            }
        }
    }
    Ok(if decision.admitted { ExitStatus::Ok } else { ExitStatus::Denied })
}

/// The kustomize base, file by file: one source for `kubectl apply -k deploy/kubernetes` and
/// `verdict admission manifests`.
const BASE: [&str; 6] = [
    include_str!("../../../../deploy/kubernetes/namespace.yaml"),
    include_str!("../../../../deploy/kubernetes/serviceaccount.yaml"),
    include_str!("../../../../deploy/kubernetes/service.yaml"),
    include_str!("../../../../deploy/kubernetes/deployment.yaml"),
    include_str!("../../../../deploy/kubernetes/poddisruptionbudget.yaml"),
    include_str!("../../../../deploy/kubernetes/validatingwebhookconfiguration.yaml"),
];
const CONFIG: [(&str, &str); 2] = [
    ("admission.yaml", include_str!("../../../../deploy/kubernetes/admission.yaml")),
    ("image-policy.yml", include_str!("../../../../deploy/kubernetes/image-policy.yml")),
];

fn manifests(args: &AdmissionManifestsArgs) -> CliResult {
    let namespace = &args.namespace;
    let label = !namespace.is_empty()
        && namespace.len() <= 63
        && namespace.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !namespace.starts_with('-')
        && !namespace.ends_with('-');
    if !label {
        return Err(CliError::invalid(anyhow!(
            "--namespace {namespace:?} is not a Kubernetes namespace name (up to 63 lower-case letters, digits and '-', not at either end)"
        )));
    }
    let mut documents: Vec<String> = Vec::new();
    let mut config_map = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: verdict-admission\n  namespace: {}\ndata:\n",
        namespace
    );
    for (name, content) in CONFIG {
        config_map.push_str(&format!("  {name}: |\n"));
        for line in content.replace("verdict-system", namespace).lines() {
            config_map.push_str(&format!("    {line}\n"));
        }
    }
    for document in BASE {
        documents.push(document.replace("verdict-system", namespace));
        if document.contains("kind: ServiceAccount") {
            documents.push(config_map.clone());
        }
    }
    anstream::print!("{}", documents.iter().map(|d| d.trim_end()).collect::<Vec<_>>().join("\n---\n"));
    anstream::println!();
    Ok(ExitStatus::Ok)
}

fn replay(args: &AdmissionReplayArgs, options: &LedgerOptions) -> CliResult {
    let config = effective_config(&args.judge)?;
    let (judge, settings) = judge(&config)?;
    let decisions = with_ledger(options, async |ledger| {
        ledger.latest_records(&options.org, RecordKind::AdmissionDecision).await
    })?;
    let (since, recent) = verdict_admission::replay::recent(decisions, args.since);
    if recent.is_empty() && !args.allow_empty {
        return Err(CliError::invalid(anyhow!(
            "no admission decisions recorded in org {} since {since}: nothing to replay, so nothing says enforcing is safe (--allow-empty to accept)",
            options.org
        )));
    }
    // As the webhook would judge: the candidate's environment policies too, when it names an environment.
    let environment = config.ledger.as_ref().and_then(|c| c.environment.clone().map(|e| (c, e)));
    let replayed = runtime()?.block_on(async {
        match environment {
            Some((ledger_config, environment)) => {
                let ledger = open_ledger(ledger_config).await?;
                let check = environment_check(ledger, ledger_config.org.clone(), environment.clone());
                let judge = EnvironmentJudge::new(judge, environment, check);
                Ok::<_, CliError>(verdict_admission::replay::replay(&recent, &judge, &settings).await)
            }
            None => Ok(verdict_admission::replay::replay(&recent, &judge, &settings).await),
        }
    })?;
    let blocked: Vec<_> = replayed.iter().filter(|r| !r.passes_now).collect();
    // Which policy versions the decisions were made under, and which one is the candidate.
    let candidate_bundle = bundle_of(&args.judge);
    let mut decided_under: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for outcome in &replayed {
        *decided_under
            .entry(outcome.bundle_then.clone().unwrap_or_else(|| "no bundle".to_owned()))
            .or_default() += 1;
    }
    match args.output {
        EvalOutput::Json => crate::render::print_json(&serde_json::json!({
            "decisions": replayed.len(),
            "would_block": blocked.len(),
            "candidate_bundle": candidate_bundle,
            "decided_under": decided_under,
            "replayed": replayed,
        }))?,
        EvalOutput::Table => {
            anstream::println!(
                "{} decisions since {} replayed: enforce would block {}",
                replayed.len(),
                since,
                blocked.len()
            );
            if candidate_bundle.is_some() || decided_under.keys().any(|k| k != "no bundle") {
                let candidate = candidate_bundle.as_ref().map_or("no bundle", |b| b.digest.as_str());
                let then: Vec<String> = decided_under.iter().map(|(b, n)| format!("{b} ({n})")).collect();
                anstream::println!("  candidate: {candidate}; decided under: {}", then.join(", "));
            }
            for outcome in &blocked {
                let then = if outcome.admitted_then { "admitted then" } else { "denied then" };
                let under =
                    outcome.bundle_then.as_ref().map(|b| format!(" under bundle {b}")).unwrap_or_default();
                anstream::println!(
                    "  BLOCK {} ({}, {then}{under}, uid {})",
                    outcome.workload,
                    outcome.recorded_at,
                    outcome.uid
                );
                for reason in &outcome.reasons {
                    anstream::println!("    • {reason}");
                }
            }
        }
    }
    Ok(if blocked.is_empty() { ExitStatus::Ok } else { ExitStatus::Denied })
}
