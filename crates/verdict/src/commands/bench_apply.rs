//! `verdict bench apply`: the Kyverno engine's cost, in-process — every classic policy of a directory
//! (the oracle's, in docs/benchmarks.md) against generated Pods and Deployments.

use std::time::Instant;

use anyhow::anyhow;
use serde_json::{Value, json};
use verdict_core::ExitStatus;
use verdict_kyverno::apply::{apply, expand_paths};
use verdict_kyverno::policy::RuleKind;
use verdict_kyverno::testsuite::ValuesFile;
use verdict_kyverno::{RequestInfo, load_policy_file};

use crate::cli::BenchApplyArgs;
use crate::error::{CliError, CliResult};

/// The `index`-th generated resource: Pods and Deployments in turn, varying images, labels, security
/// contexts and resources so that rules pass, fail and skip.
fn resource(index: usize) -> Value {
    let compliant = index.is_multiple_of(2);
    let image = if compliant {
        format!("ghcr.io/acme/app-{}:1.{}", index % 7, index % 13)
    } else {
        "nginx:latest".to_owned()
    };
    let mut container = json!({
        "name": format!("c{index}"),
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 8080}],
    });
    if compliant {
        container["securityContext"] = json!({"allowPrivilegeEscalation": false, "runAsNonRoot": true,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}, "readOnlyRootFilesystem": true});
        container["resources"] =
            json!({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}});
        container["livenessProbe"] = json!({"httpGet": {"path": "/healthz", "port": 8080}});
        container["readinessProbe"] = json!({"httpGet": {"path": "/ready", "port": 8080}});
    } else {
        container["securityContext"] = json!({"privileged": true});
    }
    let labels = if compliant {
        json!({"app.kubernetes.io/name": format!("app{index}"), "team": "shop"})
    } else {
        json!({"run": "x"})
    };
    let spec =
        json!({"containers": [container], "hostNetwork": !compliant, "automountServiceAccountToken": false});
    let metadata = json!({"name": format!("r{index}"), "namespace": if compliant { "shop" } else { "default" }, "labels": labels});
    if index % 4 < 2 {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
    } else {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
               "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": spec}}})
    }
}

/// Whether `policy` has a CEL rule (timed apart: the two engines differ).
fn is_cel(policy: &verdict_kyverno::Policy) -> bool {
    policy.rules.iter().any(|rule| matches!(&rule.kind, RuleKind::Validate(v) if v.get("cel").is_some()))
}

/// Times `policies` over `resources`: one untimed pass (compiled expressions cached, as in a
/// long-running webhook), then `iterations` timed ones.
fn measure(policies: &[verdict_kyverno::Policy], resources: &[Value], iterations: usize) -> Value {
    let info = RequestInfo { operation: "CREATE".to_owned(), ..RequestInfo::default() };
    let values = ValuesFile::default();
    let results = apply(policies, resources, &values, &info);
    let evaluations = results.len();
    let cel_before = verdict_kyverno::cel::evaluations();
    let cel_nanos_before = verdict_kyverno::cel::evaluation_nanos();
    let started = Instant::now();
    for _ in 0..iterations.max(1) {
        std::hint::black_box(apply(policies, resources, &values, &info));
    }
    let seconds = started.elapsed().as_secs_f64() / iterations.max(1) as f64;
    let cel_expressions = (verdict_kyverno::cel::evaluations() - cel_before) / iterations.max(1) as u64;
    let cel_seconds =
        (verdict_kyverno::cel::evaluation_nanos() - cel_nanos_before) as f64 / 1e9 / iterations.max(1) as f64;
    let rules: usize = policies.iter().map(|p| p.rules.len()).sum();
    let by_status = |status: verdict_kyverno::Status| results.iter().filter(|r| r.result == status).count();
    json!({
        "policies": policies.len(),
        "rules_including_autogen": rules,
        "rule_evaluations": evaluations,
        "results": {"pass": by_status(verdict_kyverno::Status::Pass), "fail": by_status(verdict_kyverno::Status::Fail),
                    "skip": by_status(verdict_kyverno::Status::Skip), "error": by_status(verdict_kyverno::Status::Error)},
        "seconds_per_pass": seconds,
        "mean_us_per_rule_evaluation": seconds * 1e6 / evaluations.max(1) as f64,
        "mean_us_per_resource_all_policies": seconds * 1e6 / resources.len().max(1) as f64,
        "mean_us_per_policy_and_resource": seconds * 1e6 / (resources.len() * policies.len()).max(1) as f64,
        "cel_expressions_per_pass": cel_expressions,
        "mean_us_per_cel_expression": if cel_expressions == 0 { Value::Null } else { json!(seconds * 1e6 / cel_expressions as f64) },
        // The compiled programs alone: binding what each reads, running it, converting the result
        // (the rest of a CEL rule — matching, variables, messages, results — is in the figure above).
        "mean_us_per_cel_evaluation": if cel_expressions == 0 { Value::Null } else { json!(cel_seconds * 1e6 / cel_expressions as f64) },
    })
}

/// Runs the benchmark.
pub fn run(args: &BenchApplyArgs) -> CliResult {
    let mut policies = Vec::new();
    let mut skipped = 0;
    for file in expand_paths(std::slice::from_ref(&args.policies))
        .map_err(|err| CliError::invalid(anyhow!("{err}")))?
    {
        let Ok(source) = std::fs::read_to_string(&file) else {
            skipped += 1;
            continue;
        };
        if !source.contains("kyverno.io/") && !source.contains("admissionregistration.k8s.io/") {
            continue;
        }
        match load_policy_file(&file.display().to_string(), &source) {
            Ok(loaded) => policies.extend(loaded.policies),
            Err(_) => skipped += 1,
        }
    }
    if policies.is_empty() {
        return Err(CliError::invalid(anyhow!("no Kyverno policies under {}", args.policies.display())));
    }
    let resources: Vec<Value> = (0..args.resources).map(resource).collect();
    if let Some(path) = &args.write_resources {
        let text: String = resources.iter().map(|r| format!("---\n{r}\n")).collect();
        std::fs::write(path, text)
            .map_err(|err| CliError::invalid(anyhow!("cannot write {}: {err}", path.display())))?;
    }
    let (cel, classic): (Vec<_>, Vec<_>) = policies.into_iter().partition(is_cel);
    crate::render::print_json(&json!({
        "files_skipped": skipped,
        "resources": resources.len(),
        "classic": measure(&classic, &resources, args.iterations),
        "cel": measure(&cel, &resources, args.iterations),
    }))?;
    Ok(ExitStatus::Ok)
}
