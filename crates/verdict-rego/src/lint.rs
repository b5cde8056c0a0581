//! `verdict policy lint`: findings about Rego policies that load but decide badly — above all an `allow`
//! that holds because something is *absent*, the false-positive trap Kosli's documentation warns about.

use serde::Serialize;

use regorus::unstable::{BoolOp, Expr, Literal, LiteralStmt, Module, Rule};

use crate::ast::{Visitor, call_name, position, rule_name, walk_module, walk_rule};
use crate::engine::{add_policy, new_engine};
use crate::error::{EngineMessage, RegoError};
use crate::unsupported::unsupported_calls;

/// How serious a finding is: errors make `policy lint` exit 1.
pub use verdict_core::Severity;

/// One finding, with where it is and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// A stable identifier of the check (`allow-from-absence`, …).
    pub check: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

struct Context<'a> {
    file: &'a str,
    findings: Vec<Finding>,
}

impl Context<'_> {
    fn add(&mut self, check: &'static str, severity: Severity, at: (u32, u32), message: String, hint: &str) {
        let (line, column) = at;
        self.findings.push(Finding {
            check,
            severity,
            file: self.file.to_owned(),
            line,
            column,
            message,
            hint: hint.to_owned(),
        });
    }
}

/// Lints one policy file.
pub fn lint(file: &str, source: &str) -> Vec<Finding> {
    let mut context = Context { file, findings: Vec::new() };
    let mut engine = new_engine();
    if let Err(err) = add_policy(&mut engine, file, source) {
        let parsed = EngineMessage::parse(&format!("{err:#}"));
        let at = parsed.location.map_or((1, 1), |l| (l.line, l.column));
        context.add(
            "parse-error",
            Severity::Error,
            at,
            parsed.message,
            "fix the syntax; policies use Rego v1 (`if`, `contains`)",
        );
        return context.findings;
    }
    let Some(module) = engine.get_modules().first().cloned() else { return context.findings };
    check_package(&module, &mut context);
    check_allow(&module, &mut context);
    check_thresholds(&module, &mut context);
    for error in unsupported_calls(&module, file) {
        if let RegoError::Compile { location: Some(location), message, .. } = &error {
            context.add(
                "unsupported-builtin",
                Severity::Error,
                (location.line, location.column),
                message.clone(),
                "use a builtin verdict supports (see docs/rego-conformance.md), or define the function in the policy",
            );
        }
    }
    context.findings.sort_by_key(|f| (f.line, f.column));
    context.findings
}

fn check_package(module: &Module, context: &mut Context<'_>) {
    let package = call_name(&module.package.refr);
    if package != "policy" {
        context.add(
            "wrong-package",
            Severity::Error,
            position(module.package.refr.span()),
            format!("the package is `{package}`; verdict and Kosli evaluate `package policy`"),
            "write `package policy` as the first line",
        );
    }
}

/// The names of the rules a module defines (`violations`, `deny`, …), whose absence a `not` or a
/// `count(…) == 0` would test.
fn rule_names(module: &Module) -> Vec<String> {
    module.policy.iter().map(|rule| rule_name(rule)).collect()
}

/// The first segment of a reference (`violations` in `violations[_]` or `data.policy.violations`).
fn root_rule<'a>(expr: &Expr, rules: &'a [String]) -> Option<&'a String> {
    let text = call_name(expr);
    let text = text.strip_prefix("data.policy.").unwrap_or(&text);
    let root = text.split(['.', '[']).next().unwrap_or_default();
    rules.iter().find(|rule| rule.split('.').next() == Some(root))
}

struct AbsenceChecks<'a> {
    rules: &'a [String],
    found: Vec<((u32, u32), String)>,
}

impl AbsenceChecks<'_> {
    fn counted_rule(&self, expr: &Expr) -> Option<String> {
        let Expr::Call { fcn, params, .. } = expr else { return None };
        if call_name(fcn) != "count" {
            return None;
        }
        params.first().and_then(|param| root_rule(param, self.rules)).cloned()
    }
}

fn number(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Number { span, .. } => span.text().parse().ok(),
        _ => None,
    }
}

impl Visitor for AbsenceChecks<'_> {
    fn statement(&mut self, statement: &LiteralStmt) {
        if let Literal::NotExpr { expr, span } = &statement.literal
            && let Some(rule) = root_rule(expr, self.rules)
        {
            self.found.push((
                position(span),
                format!("`allow` holds when `{rule}` is absent (`not {}`)", call_name(expr)),
            ));
        }
    }

    fn expression(&mut self, expression: &Expr) {
        let Expr::BoolExpr { op, lhs, rhs, span, .. } = expression else { return };
        // count(r) == 0, count(r) <= 0, count(r) < 1, and the same written the other way round.
        let (counted, other, flipped) = match (self.counted_rule(lhs), self.counted_rule(rhs)) {
            (Some(rule), _) => (rule, rhs, false),
            (None, Some(rule)) => (rule, lhs, true),
            (None, None) => return,
        };
        let Some(limit) = number(other) else { return };
        let empty = match (op, flipped) {
            (BoolOp::Eq, _) => limit == 0.0,
            (BoolOp::Le, false) | (BoolOp::Ge, true) => limit == 0.0,
            (BoolOp::Lt, false) | (BoolOp::Gt, true) => limit == 1.0,
            _ => false,
        };
        if empty {
            self.found.push((
                position(span),
                format!("`allow` holds when `{counted}` is empty (`{}`)", span.text()),
            ));
        }
    }
}

fn check_allow(module: &Module, context: &mut Context<'_>) {
    let rules = rule_names(module);
    let allow_rules: Vec<&Rule> =
        module.policy.iter().map(|r| r.as_ref()).filter(|r| rule_name(r) == "allow").collect();
    if allow_rules.is_empty() {
        context.add(
            "missing-allow",
            Severity::Error,
            position(module.package.refr.span()),
            "the policy declares no `allow` rule".to_owned(),
            "add `default allow := false` and an `allow if { … }` rule that states what must be true",
        );
        return;
    }
    let default = allow_rules.iter().find_map(|rule| match rule {
        Rule::Default { value, span, .. } => Some((value.span().text().to_owned(), span)),
        Rule::Spec { .. } => None,
    });
    match default {
        Some((value, span)) if value == "true" => context.add(
            "default-allow-true",
            Severity::Error,
            position(span),
            "`default allow := true` allows everything no rule denies, including inputs the policy never anticipated".to_owned(),
            "write `default allow := false` and state in `allow` what must hold",
        ),
        Some(_) => {}
        None => context.add(
            "no-default-allow",
            Severity::Warning,
            position(allow_rules[0].span()),
            "there is no `default allow := false`: when no `allow` body holds, allow is undefined and the evaluation is an error instead of DENIED".to_owned(),
            "add `default allow := false`",
        ),
    }
    let mut checks = AbsenceChecks { rules: &rules, found: Vec::new() };
    for rule in &allow_rules {
        walk_rule(rule, &mut checks);
    }
    for (at, message) in checks.found {
        context.add(
            "allow-from-absence",
            Severity::Error,
            at,
            format!("{message}: any error or gap in that rule (an undefined field, a typo, missing data) then allows"),
            "derive `allow` from the evidence you require (e.g. `allow if { required_present; all_compliant }`) and keep `violations` for the messages",
        );
    }
}

struct Thresholds {
    reads_params: bool,
    literals: Vec<((u32, u32), String)>,
}

impl Visitor for Thresholds {
    fn expression(&mut self, expression: &Expr) {
        match expression {
            Expr::RefDot { .. } | Expr::RefBrack { .. }
                if call_name(expression).starts_with("data.params") =>
            {
                self.reads_params = true;
            }
            Expr::BoolExpr {
                op: BoolOp::Lt | BoolOp::Le | BoolOp::Gt | BoolOp::Ge, lhs, rhs, span, ..
            } => {
                for side in [lhs, rhs] {
                    if let Expr::Number { span: literal, .. } = side.as_ref() {
                        self.literals.push((
                            position(literal),
                            format!("`{}` compares against the literal {}", span.text(), literal.text()),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

fn check_thresholds(module: &Module, context: &mut Context<'_>) {
    let mut thresholds = Thresholds { reads_params: false, literals: Vec::new() };
    walk_module(module, &mut thresholds);
    if !thresholds.reads_params {
        return;
    }
    for (at, message) in thresholds.literals {
        context.add(
            "threshold-literal",
            Severity::Warning,
            at,
            format!("{message} although the policy reads its settings from data.params"),
            "read the threshold from data.params too (with a `default` for when it is not given), so one policy serves every environment",
        );
    }
}
