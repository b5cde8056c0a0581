//! The properties the `graphql_document` fuzz target checks, here so the corpus replays under plain
//! `cargo test` with the same checks: any text parses or fails without panicking, a parsed document's AST
//! survives the trip to a policy and back, and validation of whatever parses terminates without panicking.

use crate::{QueryDocument, Schema, SchemaDocument, parse_query, parse_schema, to_opa_value, validate_all};

/// Runs every check on `text`, read both as a query and as a schema (and, when it holds both halves
/// separated by a line `---`, the query against the schema).
pub fn check_document(text: &str) -> Result<(), String> {
    if let Ok(document) = parse_query(text) {
        let value = to_opa_value(&document);
        let back: QueryDocument =
            serde_json::from_value(value.clone()).map_err(|e| format!("query AST: {e}"))?;
        if to_opa_value(&back) != value {
            return Err("the query AST changed on its way back".into());
        }
    }
    if let Ok(document) = parse_schema(text) {
        let value = to_opa_value(&document);
        let back: SchemaDocument =
            serde_json::from_value(value.clone()).map_err(|e| format!("schema AST: {e}"))?;
        if to_opa_value(&back) != value {
            return Err("the schema AST changed on its way back".into());
        }
        let _ = Schema::build(&document);
    }
    if let Some((sdl, query)) = text.split_once("\n---\n")
        && let (Ok(schema), Ok(query)) = (parse_schema(sdl), parse_query(query))
        && let Ok(schema) = Schema::build(&schema)
    {
        let _ = validate_all(&schema, &query);
    }
    Ok(())
}
