//! The published JSON Schema of the evidence document and the Rust parser must agree: every document one
//! accepts the other accepts, and every document one rejects the other rejects.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use verdict_core::EvidenceDocument;

const SCHEMA: &str = include_str!("../schemas/evidence-v1.schema.json");
const EXAMPLE: &str = include_str!("../../../examples/evidence.json");
const FP: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn schema_accepts(document: &Value) -> bool {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    jsonschema::draft202012::new(&schema).unwrap().is_valid(document)
}

fn parser_accepts(document: &Value) -> bool {
    EvidenceDocument::from_json_str(&document.to_string()).is_ok()
}

fn context() -> Value {
    json!({"flow": {"name": "f", "tags": {"k": "v"}}, "trail": {"name": "t"}, "artifact_status": "COMPLIANT",
           "attestations": [{"name": "a", "type": "decision", "is_compliant": true, "target": "trail", "control": "C-1"}]})
}

fn with_context(context: Value) -> Value {
    json!({"artifacts": [{"name": "x", "fingerprint": FP, "contexts": [context]}]})
}

#[test]
fn both_accept_the_example_and_minimal_documents() {
    let valid = [
        serde_json::from_str(EXAMPLE).unwrap(),
        json!({"artifacts": []}),
        json!({"artifacts": [{"name": "x", "fingerprint": FP}]}),
        with_context(context()),
        with_context(json!({"flow": {"name": "f"}, "trail": {"name": "t"}, "artifact_status": "INCOMPLETE"})),
    ];
    for document in valid {
        assert!(schema_accepts(&document), "schema rejects {document}");
        assert!(parser_accepts(&document), "parser rejects {document}");
    }
}

#[test]
fn both_reject_malformed_documents() {
    let mut invalid = vec![
        json!({}),
        json!([]),
        json!({"artifacts": {}}),
        json!({"artifacts": [], "extra": 1}),
        json!({"artifacts": [{"name": "x"}]}),
        json!({"artifacts": [{"fingerprint": FP}]}),
        json!({"artifacts": [{"name": "x", "fingerprint": FP.to_uppercase()}]}),
        json!({"artifacts": [{"name": "x", "fingerprint": &FP[1..]}]}),
        json!({"artifacts": [{"name": 1, "fingerprint": FP}]}),
    ];
    let mutations: [(&str, Value); 9] = [
        ("/artifact_status", json!("GREEN")),
        ("/flow/tags/k", json!(1)),
        ("/flow/name", Value::Null),
        ("/trail", json!({"name": "t", "id": 1})),
        ("/attestations/0/target", json!("flow")),
        ("/attestations/0/is_compliant", json!("true")),
        ("/attestations/0/extra", json!(1)),
        ("/attestations/0/control", json!(7)),
        ("/flow", json!({"tags": {}})),
    ];
    for (pointer, value) in mutations {
        let mut context = context();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        context.pointer_mut(parent).unwrap().as_object_mut().unwrap().insert(key.to_owned(), value);
        invalid.push(with_context(context));
    }
    for document in invalid {
        assert!(!schema_accepts(&document), "schema accepts {document}");
        assert!(!parser_accepts(&document), "parser accepts {document}");
    }
}
