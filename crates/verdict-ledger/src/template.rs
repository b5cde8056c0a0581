//! Checks flow and trail templates (Kosli's `version: 1` format) when they are recorded, so a mistake
//! is reported at `create flow` / `begin trail` with the path of the offending field rather than showing
//! up later as a trail that can never be compliant.

use std::collections::BTreeSet;

use serde_json::Value;

fn keys_allowed(value: &Value, path: &str, allowed: &[&str]) -> Result<(), String> {
    let Some(map) = value.as_object() else {
        return Err(format!("template: {path} must be a mapping"));
    };
    for key in map.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(format!("template: unknown key {path}.{key} (allowed here: {})", allowed.join(", ")));
        }
    }
    Ok(())
}

fn name_of<'v>(item: &'v Value, path: &str) -> Result<&'v str, String> {
    match item.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => Ok(name),
        Some(_) => Err(format!("template: {path}.name must be a non-empty string")),
        None => Err(format!("template: {path} needs a name")),
    }
}

fn list<'v>(value: Option<&'v Value>, path: &str) -> Result<&'v [Value], String> {
    match value {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(format!("template: {path} must be a list")),
    }
}

fn attestation_slots(value: Option<&Value>, path: &str) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for (index, slot) in list(value, path)?.iter().enumerate() {
        let here = format!("{path}[{index}]");
        keys_allowed(slot, &here, &["name", "type"])?;
        let name = name_of(slot, &here)?;
        match slot.get("type") {
            Some(Value::String(kind)) if !kind.trim().is_empty() => {}
            None => {}
            Some(_) => return Err(format!("template: {here}.type must be a non-empty string")),
        }
        if !seen.insert(name) {
            return Err(format!("template: duplicate attestation name {name:?} in {path}"));
        }
    }
    Ok(())
}

/// Checks a template: `version: 1`, `trail.attestations[{name, type}]`,
/// `trail.artifacts[{name, attestations[...]}]`, names unique within their list, no unknown keys.
pub fn validate_template(template: &Value) -> Result<(), String> {
    keys_allowed(template, "template", &["version", "trail"])?;
    match template.get("version") {
        Some(version) if version.as_i64() == Some(1) || version.as_str() == Some("1") => {}
        Some(other) => return Err(format!("template: version must be 1, not {other}")),
        None => return Err("template: version is required (write `version: 1`)".to_owned()),
    }
    let Some(trail) = template.get("trail").filter(|t| !t.is_null()) else { return Ok(()) };
    keys_allowed(trail, "trail", &["attestations", "artifacts"])?;
    attestation_slots(trail.get("attestations"), "trail.attestations")?;
    let mut seen = BTreeSet::new();
    for (index, artifact) in list(trail.get("artifacts"), "trail.artifacts")?.iter().enumerate() {
        let here = format!("trail.artifacts[{index}]");
        keys_allowed(artifact, &here, &["name", "attestations"])?;
        let name = name_of(artifact, &here)?;
        if !seen.insert(name) {
            return Err(format!("template: duplicate artifact name {name:?} in trail.artifacts"));
        }
        attestation_slots(artifact.get("attestations"), &format!("{here}.attestations"))?;
    }
    Ok(())
}

/// The type a template expects for an attestation named `name` (`slot`, or `artifact.slot` for an
/// artifact's slot), if it names that slot.
pub fn expected_type(template: &Value, name: &str) -> Option<String> {
    let trail = template.get("trail")?;
    let slot_type = |slots: Option<&Value>, wanted: &str| {
        slots?
            .as_array()?
            .iter()
            .find(|slot| slot.get("name").and_then(Value::as_str) == Some(wanted))
            .map(|slot| slot.get("type").and_then(Value::as_str).unwrap_or("generic").to_owned())
    };
    if let Some(kind) = slot_type(trail.get("attestations"), name) {
        return Some(kind);
    }
    let (artifact, slot) = name.split_once('.')?;
    let artifact = trail
        .get("artifacts")?
        .as_array()?
        .iter()
        .find(|item| item.get("name").and_then(Value::as_str) == Some(artifact))?;
    slot_type(artifact.get("attestations"), slot)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn accepts_kosli_templates() {
        let template = json!({"version": 1, "trail": {
            "attestations": [{"name": "pr", "type": "pull_request"}, {"name": "notes"}],
            "artifacts": [{"name": "backend", "attestations": [{"name": "tests", "type": "junit"}]}]}});
        assert_eq!(validate_template(&template), Ok(()));
        assert_eq!(validate_template(&json!({"version": 1})), Ok(()));
        assert_eq!(expected_type(&template, "pr").as_deref(), Some("pull_request"));
        assert_eq!(expected_type(&template, "notes").as_deref(), Some("generic"));
        assert_eq!(expected_type(&template, "backend.tests").as_deref(), Some("junit"));
        assert_eq!(expected_type(&template, "backend.other"), None);
        assert_eq!(expected_type(&template, "unknown"), None);
    }

    #[test]
    fn rejects_mistakes_naming_the_field() {
        let cases = [
            (json!({"trail": {}}), "version is required"),
            (json!({"version": 2}), "version must be 1"),
            (json!({"version": 1, "trial": {}}), "unknown key template.trial"),
            (json!({"version": 1, "trail": {"attestations": {}}}), "trail.attestations must be a list"),
            (
                json!({"version": 1, "trail": {"attestations": [{"type": "junit"}]}}),
                "trail.attestations[0] needs a name",
            ),
            (
                json!({"version": 1, "trail": {"attestations": [{"name": "a"}, {"name": "a", "type": "junit"}]}}),
                "duplicate attestation name \"a\" in trail.attestations",
            ),
            (
                json!({"version": 1, "trail": {"artifacts": [{"name": "x"}, {"name": "x"}]}}),
                "duplicate artifact name \"x\"",
            ),
            (
                json!({"version": 1, "trail": {"artifacts": [{"name": "x", "attestations": [{"name": "t", "typ": "junit"}]}]}}),
                "unknown key trail.artifacts[0].attestations[0].typ",
            ),
            (
                json!({"version": 1, "trail": {"attestations": [{"name": "a", "type": 3}]}}),
                "type must be a non-empty string",
            ),
        ];
        for (template, expected) in cases {
            let error = validate_template(&template).unwrap_err();
            assert!(error.contains(expected), "{template}: {error}");
        }
    }
}
