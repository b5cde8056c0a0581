//! Custom attestation types: a JSON Schema the attestation data must satisfy, and jq rules (run with
//! jaq) that must each return `true` for the attestation to be compliant. The schema refuses malformed
//! data outright; the rules decide compliance, and a rule that fails to run counts as not satisfied
//! (DESIGN.md rule 2), with the reason.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use serde::Serialize;
use serde_json::Value;

/// Why a type definition or its data is refused.
#[derive(Debug, thiserror::Error)]
pub enum CustomError {
    /// The schema is not a valid JSON Schema.
    #[error("the schema is not a valid JSON Schema: {0}")]
    BadSchema(String),
    /// A jq rule does not compile.
    #[error("jq rule {index} `{rule}` does not compile: {message}")]
    BadRule {
        /// Its position (from 1).
        index: usize,
        /// The rule.
        rule: String,
        /// Why.
        message: String,
    },
    /// The data does not satisfy the schema.
    #[error("the attestation data does not match the schema of type {type_name}:\n{}", .problems.join("\n"))]
    Invalid {
        /// The type.
        type_name: String,
        /// One line per problem, with the JSON path.
        problems: Vec<String>,
    },
}

/// One rule's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleOutcome {
    /// The jq expression.
    pub rule: String,
    /// Whether it returned `true`.
    pub passed: bool,
    /// What it returned instead, or why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn compile(rule: &str) -> Result<jaq_core::compile::Filter<jaq_core::Native<data::JustLut<Val>>>, String> {
    let defs = jaq_core::defs().chain(jaq_std::defs()).chain(jaq_json::defs());
    let funs = jaq_core::funs().chain(jaq_std::funs()).chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let modules =
        loader.load(&arena, File { code: rule, path: () }).map_err(|errors| format!("{errors:?}"))?;
    Compiler::default().with_funs(funs).compile(modules).map_err(|errors| format!("{errors:?}"))
}

/// Checks a type definition: the schema compiles, and every rule compiles.
pub fn check_definition(schema: &Value, rules: &[String]) -> Result<(), CustomError> {
    jsonschema::validator_for(schema).map_err(|err| CustomError::BadSchema(err.to_string()))?;
    for (index, rule) in rules.iter().enumerate() {
        compile(rule).map_err(|message| CustomError::BadRule {
            index: index + 1,
            rule: rule.clone(),
            message,
        })?;
    }
    Ok(())
}

/// Validates `data` against `schema`, then runs every rule on it.
pub fn evaluate(
    type_name: &str,
    schema: &Value,
    rules: &[String],
    data: &Value,
) -> Result<Vec<RuleOutcome>, CustomError> {
    let validator =
        jsonschema::validator_for(schema).map_err(|err| CustomError::BadSchema(err.to_string()))?;
    let problems: Vec<String> = validator
        .iter_errors(data)
        .map(|error| {
            let at = error.instance_path().to_string();
            format!("  at {}: {error}", if at.is_empty() { "/" } else { &at })
        })
        .collect();
    if !problems.is_empty() {
        return Err(CustomError::Invalid { type_name: type_name.to_owned(), problems });
    }
    let input = jaq_json::read::parse_single(data.to_string().as_bytes()).map_err(|err| {
        CustomError::Invalid { type_name: type_name.to_owned(), problems: vec![format!("{err:?}")] }
    })?;
    Ok(rules.iter().map(|rule| run(rule, input.clone())).collect())
}

fn run(rule: &str, input: Val) -> RuleOutcome {
    let outcome =
        |passed: bool, reason: Option<String>| RuleOutcome { rule: rule.to_owned(), passed, reason };
    let filter = match compile(rule) {
        Ok(filter) => filter,
        Err(message) => return outcome(false, Some(format!("does not compile: {message}"))),
    };
    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut outputs = filter.id.run((ctx, input)).map(unwrap_valr);
    match outputs.next() {
        None => outcome(false, Some("returned nothing".to_owned())),
        Some(Err(error)) => outcome(false, Some(format!("failed: {error}"))),
        Some(Ok(value)) if value == Val::from(true) => match outputs.next() {
            None => outcome(true, None),
            Some(_) => outcome(false, Some("returned more than one value".to_owned())),
        },
        Some(Ok(value)) => outcome(false, Some(format!("returned {value}, not true"))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "required": ["coverage"], "properties": {"coverage": {"type": "number", "minimum": 0, "maximum": 100}}})
    }

    #[test]
    fn rules_decide_compliance_and_say_why() {
        let rules = vec![
            ".coverage >= 80".to_owned(),
            ".coverage < 99".to_owned(),
            ".missing.deep | length > 0".to_owned(),
            ".coverage, .coverage".to_owned(),
        ];
        let outcomes = evaluate("coverage", &schema(), &rules, &json!({"coverage": 85})).unwrap();
        assert_eq!(outcomes[0], RuleOutcome { rule: rules[0].clone(), passed: true, reason: None });
        assert!(outcomes[1].passed);
        assert_eq!(outcomes[2].reason.as_deref(), Some("returned false, not true"));
        assert!(!outcomes[3].passed);
        let low = evaluate("coverage", &schema(), &rules[..1], &json!({"coverage": 10})).unwrap();
        assert_eq!(low[0].reason.as_deref(), Some("returned false, not true"));
        let failing = evaluate(
            "coverage",
            &schema(),
            &[".coverage | error(\"boom\")".to_owned()],
            &json!({"coverage": 10}),
        )
        .unwrap();
        assert!(failing[0].reason.as_deref().unwrap().starts_with("failed"), "{failing:?}");
    }

    #[test]
    fn the_schema_refuses_bad_data_naming_the_path() {
        let error = evaluate("coverage", &schema(), &[], &json!({"coverage": 120})).unwrap_err().to_string();
        assert!(error.contains("at /coverage"), "{error}");
        let error = evaluate("coverage", &schema(), &[], &json!({})).unwrap_err().to_string();
        assert!(error.contains("coverage"), "{error}");
    }

    #[test]
    fn definitions_are_checked() {
        assert!(check_definition(&schema(), &[".a == 1".to_owned()]).is_ok());
        assert!(matches!(check_definition(&json!({"type": 12}), &[]), Err(CustomError::BadSchema(_))));
        let error = check_definition(&schema(), &[".a ==".to_owned()]).unwrap_err().to_string();
        assert!(error.contains("jq rule 1 `.a ==` does not compile"), "{error}");
    }
}
