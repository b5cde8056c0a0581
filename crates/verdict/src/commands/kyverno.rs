//! `verdict apply` and `verdict test`: the Kyverno engine of `verdict-kyverno` on manifests and on
//! `kyverno test` suites; this module only reads files and renders.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::anyhow;
use comfy_table::{Cell, ContentArrangement, Table, presets};
use serde_json::{Value, json};
use verdict_core::ExitStatus;
use verdict_kyverno::apply::{self, ApplyResult, ResourceRef};
use verdict_kyverno::testsuite::{self, Selector, TestError, TestReport, ValuesFile};
use verdict_kyverno::{Policy, RequestInfo, Status, load_policy_file};

use crate::cli_kyverno::{ApplyArgs, ApplyMode, ApplyOutput, OperationArg, TestArgs, TestOutput};
use crate::error::{CliError, CliResult};
use crate::input::{display_name, read_text};
use crate::render::{ERROR, print_json};

fn test_error(err: TestError) -> CliError {
    CliError::invalid(anyhow!("{err}"))
}

/// Loads every policy of `paths` (files, directories, `-`); documents of other kinds are skipped
/// (a directory of policies often holds their tests too) but a file with none is an error. Also
/// returns, for each policy taken from a bundle, the properties that name the bundle.
fn load_policies(args: &ApplyArgs) -> Result<(Vec<Policy>, apply::PolicyProperties), CliError> {
    let mut policies = Vec::new();
    let mut properties = apply::PolicyProperties::new();
    for file in apply::expand_paths(&args.policies).map_err(test_error)? {
        let source = read_text(&file, "policy")?;
        let name = display_name(&file);
        let explicit = args.policies.iter().any(|p| p == &file);
        // A directory of policies also holds tests, resources and indexes: only files that name a
        // Kyverno API are read as policies there.
        if !explicit && !source.contains("kyverno.io/") {
            continue;
        }
        match load_policy_file(&name, &source) {
            Ok(loaded) => {
                if loaded.policies.is_empty() && explicit {
                    let kinds: Vec<String> = loaded.others.iter().map(|o| o.kind.clone()).collect();
                    return Err(CliError::invalid(anyhow!(
                        "{name}: no policy verdict evaluates found (found: {}); verdict apply reads Kyverno ClusterPolicy and Policy, ValidatingPolicy, and Kubernetes ValidatingAdmissionPolicy",
                        if kinds.is_empty() { "nothing".to_owned() } else { kinds.join(", ") }
                    )));
                }
                let bundle = crate::policy_sources::bundle_properties(&file);
                if !bundle.is_empty() {
                    for policy in &loaded.policies {
                        properties.insert(policy.name.clone(), bundle.clone());
                    }
                }
                policies.extend(loaded.policies);
            }
            Err(diagnostics) => {
                crate::render::print_diagnostics(&diagnostics, &source);
                return Err(CliError::invalid(anyhow!("{name}: the policy does not load")));
            }
        }
    }
    if policies.is_empty() {
        return Err(CliError::invalid(anyhow!("no Kyverno policies found in the given paths")));
    }
    Ok((policies, properties))
}

/// Loads every resource, remembering which file each came from (for SARIF locations).
fn load_resources(args: &ApplyArgs) -> Result<(Vec<Value>, BTreeMap<ResourceRef, String>), CliError> {
    let mut resources = Vec::new();
    let mut files = BTreeMap::new();
    for file in apply::expand_paths(&args.resources).map_err(test_error)? {
        let source = read_text(&file, "resource")?;
        let name = display_name(&file);
        for resource in testsuite::parse_resources(&name, &source).map_err(test_error)? {
            // A namespaced resource that names no namespace is in `default`, as the API server puts it.
            let resource = apply::with_default_namespace(resource);
            if resource.get("kind").and_then(Value::as_str).is_none() {
                return Err(CliError::invalid(anyhow!(
                    "{name}: a document has no `kind`: it is not a Kubernetes resource"
                )));
            }
            files.insert(apply::ResourceRef::of(&resource), name.clone());
            resources.push(resource);
        }
    }
    if resources.is_empty() {
        return Err(CliError::invalid(anyhow!("no resources found in the given --resource paths")));
    }
    Ok((resources, files))
}

/// `verdict apply`.
pub fn apply(args: &ApplyArgs) -> CliResult {
    let (policies, properties) = load_policies(args)?;
    let (resources, files) = load_resources(args)?;
    let values = match &args.values {
        Some(path) => apply::load_values_file(path).map_err(test_error)?,
        None => ValuesFile::default(),
    };
    let operation = match args.operation {
        OperationArg::Create => "CREATE",
        OperationArg::Update => "UPDATE",
        OperationArg::Delete => "DELETE",
    };
    let user = match &args.user_info {
        Some(path) => testsuite::load_user_info(path, operation).map_err(test_error)?,
        None => RequestInfo { operation: operation.to_owned(), ..RequestInfo::default() },
    };
    let results = apply::apply(&policies, &resources, &values, &user);
    let summary = apply::summarize(&results);
    let mode = args.mode.or_else(|| {
        let point = crate::policy_sources::enforcement_point();
        let mode = crate::policy_sources::bundle_mode(point)?;
        anstream::eprintln!("note: mode {mode}, the policy bundle's default for {point} (--mode overrides)");
        // `apply` reports (audit and warn) or fails (enforce).
        Some(if mode == "enforce" { ApplyMode::Enforce } else { ApplyMode::Warn })
    });
    let enforce_all = mode.map(|mode| mode == ApplyMode::Enforce);
    let blocking = results.iter().filter(|r| apply::blocks(r, enforce_all)).count();
    match args.output {
        ApplyOutput::Table => {
            print_apply_table(&results, &summary, policies.len(), resources.len());
            let bundles: std::collections::BTreeSet<String> = properties
                .values()
                .map(|p| {
                    let field = |name: &str| p.get(name).cloned().unwrap_or_default();
                    let commit = p.get("verdict.dev/source-commit").map(|c| format!(" at commit {c}"));
                    format!(
                        "policies from bundle {}, source {}{}",
                        field("verdict.dev/bundle-digest"),
                        field("verdict.dev/bundle-source"),
                        commit.unwrap_or_default()
                    )
                })
                .collect();
            for line in bundles {
                anstream::println!("{line}");
            }
        }
        ApplyOutput::Json => print_json(&json!({
            "results": results, "summary": summary, "blocking": blocking, "policy_bundles": properties,
        }))?,
        ApplyOutput::PolicyReport => print_json(&apply::policy_reports(&results, &properties))?,
        ApplyOutput::Junit => anstream::print!("{}", apply::junit(&results, "verdict apply", &properties)),
        ApplyOutput::Sarif => print_json(&apply::sarif(&results, &files, &properties))?,
    }
    if blocking > 0 && args.output == ApplyOutput::Table {
        anstream::eprintln!(
            "{}{blocking} enforced {} failed{}",
            ERROR.render(),
            if blocking == 1 { "rule" } else { "rules" },
            ERROR.render_reset()
        );
    }
    Ok(if blocking > 0 { ExitStatus::Denied } else { ExitStatus::Ok })
}

/// The result in a table cell (plain: escape codes would break the column widths).
fn status_cell(status: Status) -> &'static str {
    status.as_str()
}

fn print_apply_table(results: &[ApplyResult], summary: &apply::Summary, policies: usize, resources: usize) {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["POLICY", "RULE", "RESOURCE", "RESULT", "ACTION", "MESSAGE"]);
    for result in results {
        table.add_row([
            Cell::new(&result.policy),
            Cell::new(&result.rule),
            Cell::new(result.resource.display()),
            Cell::new(status_cell(result.result)),
            Cell::new(format!("{:?}", result.action)),
            Cell::new(&result.message),
        ]);
    }
    anstream::println!(
        "Applying {policies} {} to {resources} {}…",
        crate::render::plural(policies, "policy", "policies"),
        crate::render::plural(resources, "resource", "resources")
    );
    if !results.is_empty() {
        anstream::println!("{table}");
    }
    anstream::println!(
        "pass: {}, fail: {}, warn: {}, error: {}, skip: {}",
        summary.pass,
        summary.fail,
        summary.warn,
        summary.error,
        summary.skip
    );
}

/// `verdict test`.
pub fn test(args: &TestArgs) -> CliResult {
    let selector = match &args.test_case_selector {
        Some(text) => {
            Selector::parse(text).map_err(|err| CliError::invalid(anyhow!("--test-case-selector: {err}")))?
        }
        None => Selector::default(),
    };
    let mut files = Vec::new();
    for dir in &args.dirs {
        if !dir.exists() {
            return Err(CliError::invalid(anyhow!("{}: no such file or directory", dir.display())));
        }
        files.extend(testsuite::find_test_files(dir, &args.file_name).map_err(test_error)?);
    }
    if files.is_empty() {
        return Err(CliError::invalid(anyhow!(
            "no {} found under {}",
            args.file_name,
            args.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
        )));
    }
    let mut reports = Vec::new();
    for file in &files {
        let report = testsuite::run_test_file(file, &selector)
            .map_err(|err| CliError::invalid(anyhow!("{}: {err}", file.display())))?;
        reports.push(report);
    }
    let (passed, failed) =
        reports.iter().map(TestReport::counts).fold((0, 0), |(p, f), (a, b)| (p + a, f + b));
    match args.output {
        TestOutput::Table => print_test_tables(&reports, args),
        TestOutput::Json => print_json(&json!({"tests": reports, "passed": passed, "failed": failed}))?,
        TestOutput::Junit => anstream::print!("{}", test_junit(&reports)),
    }
    if args.output == TestOutput::Table {
        anstream::println!("\nTest Summary: {passed} tests passed and {failed} tests failed");
    }
    Ok(if failed > 0 { ExitStatus::Denied } else { ExitStatus::Ok })
}

fn print_test_tables(reports: &[TestReport], args: &TestArgs) {
    for report in reports {
        let dir = Path::new(&report.file).parent().map(|p| p.display().to_string()).unwrap_or_default();
        anstream::println!("Loading test {} ({})…", report.name, dir);
        let mut table = Table::new();
        let mut header = vec!["ID", "POLICY", "RULE", "RESOURCE", "RESULT", "REASON"];
        if args.detailed_results {
            header.push("MESSAGE");
        }
        table
            .load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(header);
        for (index, row) in report.rows.iter().enumerate() {
            if args.fail_only && row.passed {
                continue;
            }
            let result = if row.passed { "Pass" } else { "Fail" };
            let reason = if row.actual == "excluded" {
                "Excluded".to_owned()
            } else if row.passed {
                "Ok".to_owned()
            } else {
                format!("Want {}, got {}", row.expected, row.actual)
            };
            let mut cells = vec![
                Cell::new(index + 1),
                Cell::new(&row.policy),
                Cell::new(&row.rule),
                Cell::new(&row.resource),
                Cell::new(result),
                Cell::new(reason),
            ];
            if args.detailed_results {
                cells.push(Cell::new(&row.message));
            }
            table.add_row(cells);
        }
        anstream::println!("{table}");
    }
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn test_junit(reports: &[TestReport]) -> String {
    let total: usize = reports.iter().map(|r| r.rows.len()).sum();
    let failures: usize = reports.iter().map(|r| r.counts().1).sum();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"verdict test\" tests=\"{total}\" failures=\"{failures}\">\n"
    );
    for report in reports {
        let (_, failed) = report.counts();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">\n",
            xml(&report.name),
            report.rows.len()
        ));
        for row in &report.rows {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(&row.policy),
                xml(&format!("{} {}", row.rule, row.resource))
            ));
            if row.passed {
                out.push_str("/>\n");
            } else {
                out.push_str(&format!(
                    ">\n      <failure message=\"want {}, got {}\">{}</failure>\n    </testcase>\n",
                    xml(&row.expected),
                    xml(&row.actual),
                    xml(&row.message)
                ));
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
