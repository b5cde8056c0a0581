//! regorus builtins whose results differ from OPA's, replaced by OPA's behaviour (an extension is looked
//! up before a builtin of the same name). Each difference is a policy that would decide otherwise under
//! OPA; the OPA conformance cases pin them.

use anyhow::Result;
use regorus::Value;

use super::args::string;

/// `json.is_valid(x)`: whether `x` is a string holding valid JSON; `false` for anything else (regorus
/// raises an error for a non-string, so a policy testing untyped input failed where OPA says false).
fn json_is_valid(args: &[Value]) -> Result<Value> {
    Ok(Value::from(match args.first() {
        Some(Value::String(text)) => serde_json::from_str::<serde_json::Value>(text).is_ok(),
        _ => false,
    }))
}

/// `yaml.is_valid(x)`: as `json.is_valid`, for YAML.
fn yaml_is_valid(args: &[Value]) -> Result<Value> {
    Ok(Value::from(match args.first() {
        Some(Value::String(text)) => Value::from_yaml_str(text).is_ok(),
        _ => false,
    }))
}

/// `strings.count(search, substring)`: Go's `strings.Count` — non-overlapping occurrences, and for an
/// empty substring the number of characters plus one (regorus counts overlapping matches and panics on
/// an empty substring).
fn strings_count(args: &[Value]) -> Result<Value> {
    let search = string("strings.count", args, 0)?;
    let substring = string("strings.count", args, 1)?;
    let count =
        if substring.is_empty() { search.chars().count() + 1 } else { search.matches(substring).count() };
    Ok(Value::from(count as u64))
}

/// A JSON document or schema given as an object or as a JSON string, as OPA takes both.
fn json_operand(name: &str, value: &Value) -> Result<serde_json::Value> {
    let text = match value {
        Value::String(text) => text.to_string(),
        other => other.to_json_str().map_err(|err| anyhow::anyhow!("{name}: {err}"))?,
    };
    serde_json::from_str(&text).map_err(|err| anyhow::anyhow!("{name}: not JSON: {err}"))
}

/// The JSON type gojsonschema (OPA's validator) names a value by.
fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// `json.match_schema(document, schema)`: `[true, []]`, or `[false, errors]` with OPA's error objects
/// (`error`, `type`, `field`, `desc`; regorus returns `null` and a string). A schema that does not
/// compile is an error.
fn json_match_schema(args: &[Value]) -> Result<Value> {
    let name = "json.match_schema";
    let document = json_operand(name, args.first().unwrap_or(&Value::Undefined))?;
    let schema = json_operand(name, args.get(1).unwrap_or(&Value::Undefined))?;
    let validator = jsonschema::validator_for(&schema).map_err(|err| anyhow::anyhow!("{name}: {err}"))?;
    let errors: Vec<serde_json::Value> = validator
        .iter_errors(&document)
        .map(|error| {
            let pointer = error.instance_path().to_string();
            let field = if pointer.is_empty() {
                "(root)".to_owned()
            } else {
                pointer.trim_start_matches('/').replace('/', ".")
            };
            let (kind, desc) = match error.kind() {
                jsonschema::error::ValidationErrorKind::Type { kind } => {
                    let expected = match kind {
                        jsonschema::error::TypeKind::Single(single) => single.to_string(),
                        jsonschema::error::TypeKind::Multiple(set) => format!("{set:?}"),
                    };
                    let given = json_type(error.instance());
                    ("invalid_type".to_owned(), format!("Invalid type. Expected: {expected}, given: {given}"))
                }
                other => (other.keyword().to_owned(), error.to_string()),
            };
            serde_json::json!({"error": format!("{field}: {desc}"), "type": kind, "field": field, "desc": desc})
        })
        .collect();
    let result = serde_json::json!([errors.is_empty(), errors]);
    Value::from_json_str(&result.to_string()).map_err(|err| anyhow::anyhow!("{name}: {err}"))
}

/// The first `type` in `schema` that names no JSON type, as gojsonschema reports it.
fn invalid_primitive_type(schema: &serde_json::Value) -> Option<String> {
    const VALID: [&str; 7] = ["array", "boolean", "integer", "number", "null", "object", "string"];
    match schema {
        serde_json::Value::Object(map) => {
            let own = match map.get("type") {
                Some(serde_json::Value::String(t)) if !VALID.contains(&t.as_str()) => Some(t.clone()),
                Some(serde_json::Value::Array(types)) => types
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .find(|t| !VALID.contains(t))
                    .map(str::to_owned),
                _ => None,
            };
            own.or_else(|| map.values().find_map(invalid_primitive_type))
        }
        serde_json::Value::Array(items) => items.iter().find_map(invalid_primitive_type),
        _ => None,
    }
}

/// `json.verify_schema(schema)`: `[true, null]`, or `[false, message]` in gojsonschema's words for the
/// common mistake (a `type` that names no JSON type), else the compiler's.
fn json_verify_schema(args: &[Value]) -> Result<Value> {
    let name = "json.verify_schema";
    let schema = json_operand(name, args.first().unwrap_or(&Value::Undefined))?;
    let result = match jsonschema::validator_for(&schema) {
        Ok(_) => serde_json::json!([true, null]),
        Err(err) => {
            let message = match invalid_primitive_type(&schema) {
                Some(given) => format!(
                    "jsonschema: has a primitive type that is NOT VALID -- given: /{given}/ Expected valid values are:[array boolean integer number null object string]"
                ),
                None => format!("jsonschema: {err}"),
            };
            serde_json::json!([false, message])
        }
    };
    Value::from_json_str(&result.to_string()).map_err(|err| anyhow::anyhow!("{name}: {err}"))
}

pub const FUNCTIONS: &[super::Builtin] = &[
    ("json.match_schema", 2, json_match_schema),
    ("json.verify_schema", 1, json_verify_schema),
    ("json.is_valid", 1, json_is_valid),
    ("yaml.is_valid", 1, yaml_is_valid),
    ("strings.count", 2, strings_count),
];

/// The regorus builtins these replace (allowed to shadow one).
#[cfg(test)]
pub const REPLACED: &[&str] =
    &["json.is_valid", "yaml.is_valid", "strings.count", "json.match_schema", "json.verify_schema"];

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::from(text)
    }

    #[test]
    fn validity_is_false_for_non_strings() {
        assert_eq!(json_is_valid(&[Value::from(1u64)]).unwrap(), Value::from(false));
        assert_eq!(json_is_valid(&[s("{\"a\": 1}")]).unwrap(), Value::from(true));
        assert_eq!(json_is_valid(&[s("{")]).unwrap(), Value::from(false));
        assert_eq!(yaml_is_valid(&[Value::from(1u64)]).unwrap(), Value::from(false));
        assert_eq!(yaml_is_valid(&[s("a: 1")]).unwrap(), Value::from(true));
        assert_eq!(yaml_is_valid(&[s("a: [1")]).unwrap(), Value::from(false));
    }

    #[test]
    fn schema_matches_have_opas_shape() {
        let schema =
            Value::from_json_str(r#"{"properties": {"id": {"type": "integer"}}, "required": ["id"]}"#)
                .unwrap();
        let good = Value::from_json_str(r#"{"id": 5}"#).unwrap();
        assert_eq!(
            json_match_schema(&[good, schema.clone()]).unwrap(),
            Value::from_json_str("[true, []]").unwrap()
        );
        let bad = Value::from_json_str(r#"{"id": "foo"}"#).unwrap();
        let expected = r#"[false, [{"desc": "Invalid type. Expected: integer, given: string", "error": "id: Invalid type. Expected: integer, given: string", "field": "id", "type": "invalid_type"}]]"#;
        assert_eq!(json_match_schema(&[bad, schema]).unwrap(), Value::from_json_str(expected).unwrap());
        let broken = Value::from_json_str(r#"{"type": "unknown"}"#).unwrap();
        assert!(json_match_schema(&[Value::from_json_str("{}").unwrap(), broken]).is_err());
    }

    #[test]
    fn schema_verification_names_the_bad_type() {
        let good = Value::from_json_str(r#"{"type": "boolean"}"#).unwrap();
        assert_eq!(json_verify_schema(&[good]).unwrap(), Value::from_json_str("[true, null]").unwrap());
        let bad = Value::from_json_str(r#"{"properties": {"a": {"type": "unknown_type"}}}"#).unwrap();
        let Value::Array(result) = json_verify_schema(&[bad]).unwrap() else { panic!() };
        assert_eq!(result[0], Value::from(false));
        assert!(format!("{:?}", result[1]).contains("given: /unknown_type/"));
    }

    #[test]
    fn counts_are_go_strings_count() {
        let count = |a: &str, b: &str| strings_count(&[s(a), s(b)]).unwrap();
        assert_eq!(count("cheese", "e"), Value::from(3u64));
        assert_eq!(count("aaaa", "aa"), Value::from(2u64), "non-overlapping");
        assert_eq!(count("five", ""), Value::from(5u64), "characters plus one");
        assert_eq!(count("héllo", ""), Value::from(6u64), "characters, not bytes");
        assert!(strings_count(&[Value::from(1u64), s("a")]).is_err());
    }
}
