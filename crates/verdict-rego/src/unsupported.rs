//! Load-time detection of calls to functions that do not exist here, so a policy using a builtin verdict
//! lacks fails when it is loaded ("builtin X is not supported") rather than when a rule first reaches it.

use std::collections::BTreeSet;

use regorus::unstable::{Expr, Module, Rule, RuleHead};

use crate::ast::{Visitor, call_name, position, walk_module};
use crate::builtins;
use crate::error::{Location, RegoError};

/// Namespaces of OPA's builtins: a call into one of them that verdict lacks is an unsupported builtin
/// rather than an unknown function.
const OPA_NAMESPACES: &[&str] = &[
    "array",
    "base64",
    "base64url",
    "bits",
    "crypto",
    "glob",
    "graph",
    "graphql",
    "hex",
    "http",
    "io",
    "json",
    "net",
    "numbers",
    "object",
    "opa",
    "providers",
    "rand",
    "regex",
    "rego",
    "semver",
    "strings",
    "time",
    "units",
    "urlquery",
    "uuid",
    "yaml",
];

struct Calls<'a> {
    defined: &'a BTreeSet<String>,
    aliases: &'a BTreeSet<String>,
    file: &'a str,
    found: Vec<RegoError>,
}

impl Visitor for Calls<'_> {
    fn expression(&mut self, expression: &Expr) {
        let Expr::Call { fcn, .. } = expression else { return };
        let name = call_name(fcn);
        let first = name.split('.').next().unwrap_or_default();
        let known = name == "print"
            || regorus::unstable::BUILTINS.contains_key(name.as_str())
            || builtins::arity(&name).is_some()
            || self.defined.contains(&name)
            || first == "data"
            || self.aliases.contains(first);
        if known {
            return;
        }
        let span = fcn.span();
        let (line, column) = position(span);
        let message = if OPA_NAMESPACES.contains(&first) {
            format!("builtin {name} is not supported")
        } else {
            format!("unknown function {name}: not a builtin and not defined in the policy")
        };
        let text = span.source.line(line.saturating_sub(1));
        let caret = format!("{}^", " ".repeat(column.saturating_sub(1) as usize));
        let number = line.to_string();
        let pad = " ".repeat(number.len());
        self.found.push(RegoError::Compile {
            location: Some(Location { file: self.file.to_owned(), line, column }),
            code: "rego_type_error",
            message,
            snippet: format!("{pad} |\n{number} | {text}\n{pad} | {caret}"),
        });
    }
}

/// Every call in `module` to a function that is neither a builtin (regorus's or verdict's) nor defined in
/// the module, nor reached through `data` or an import.
pub fn unsupported_calls(module: &Module, file: &str) -> Vec<RegoError> {
    let mut defined = BTreeSet::new();
    for rule in &module.policy {
        match rule.as_ref() {
            Rule::Spec { head: RuleHead::Func { refr, .. }, .. } => {
                defined.insert(call_name(refr));
            }
            Rule::Default { refr, args, .. } if !args.is_empty() => {
                defined.insert(call_name(refr));
            }
            _ => {}
        }
    }
    let aliases: BTreeSet<String> = module
        .imports
        .iter()
        .map(|import| match &import.r#as {
            Some(alias) => alias.text().to_owned(),
            None => call_name(&import.refr).rsplit('.').next().unwrap_or_default().to_owned(),
        })
        .collect();
    let mut calls = Calls { defined: &defined, aliases: &aliases, file, found: Vec::new() };
    walk_module(module, &mut calls);
    calls.found
}
