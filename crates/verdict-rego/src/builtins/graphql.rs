//! `graphql.*`: parse GraphQL queries and schemas into OPA's AST objects, and validate a query against a
//! schema, with OPA's results (gqlparser's AST shape and error texts, via verdict-graphql). Queries and
//! schemas are taken as text or as the AST objects these builtins return.

use anyhow::{Result, anyhow, bail};
use regorus::Value;
use verdict_graphql::{GraphqlError, QueryDocument, Schema, SchemaDocument, to_opa_value};

use super::args::{string, type_name};

/// Why a query or schema could not be used: a parse error, or an operand of the wrong type. The
/// `*_is_valid` builtins turn either into `false`; the others raise it.
fn rego_error(name: &str, error: &GraphqlError) -> anyhow::Error {
    anyhow!("{name}: {error}")
}

fn query_operand(name: &str, args: &[Value]) -> Result<QueryDocument> {
    match args.first() {
        Some(Value::String(text)) => verdict_graphql::parse_query(text).map_err(|err| rego_error(name, &err)),
        Some(object @ Value::Object(_)) => from_object(name, object),
        Some(other) => {
            bail!("{name}: operand 1 must be one of {{object, string}} but got {}", type_name(other))
        }
        None => bail!("{name}: missing operand 1"),
    }
}

fn schema_operand(name: &str, args: &[Value], index: usize) -> Result<SchemaDocument> {
    match args.get(index) {
        Some(Value::String(text)) => {
            verdict_graphql::parse_schema(text).map_err(|err| rego_error(name, &err))
        }
        Some(object @ Value::Object(_)) => from_object(name, object),
        Some(other) => {
            bail!(
                "{name}: operand {} must be one of {{object, string}} but got {}",
                index + 1,
                type_name(other)
            )
        }
        None => bail!("{name}: missing operand {}", index + 1),
    }
}

fn from_object<T: serde::de::DeserializeOwned>(name: &str, object: &Value) -> Result<T> {
    let json = serde_json::to_value(object).map_err(|err| anyhow!("{name}: {err}"))?;
    serde_json::from_value(json).map_err(|err| anyhow!("{name}: not a GraphQL AST object: {err}"))
}

fn build_schema(name: &str, document: &SchemaDocument) -> Result<Schema> {
    Schema::build(document)
        .map_err(|err| anyhow!("{name}: Error in gqlparser SchemaDocument to Schema conversion: {err}"))
}

/// Validates `query` against `schema`; the error is OPA's, without the trailing period.
fn verify(name: &str, query: &QueryDocument, schema: &SchemaDocument) -> Result<()> {
    let schema = build_schema(name, schema)?;
    verdict_graphql::validate(&schema, query).map_err(|mut err| {
        if let Some(stripped) = err.message.strip_suffix('.') {
            err.message = stripped.to_owned();
        }
        rego_error(name, &err)
    })
}

fn ast<T: serde::Serialize>(document: &T) -> Value {
    Value::from(to_opa_value(document))
}

/// `graphql.parse_query(query)`: the query's AST.
fn parse_query(args: &[Value]) -> Result<Value> {
    let name = "graphql.parse_query";
    let text = string(name, args, 0)?;
    Ok(ast(&verdict_graphql::parse_query(text).map_err(|err| rego_error(name, &err))?))
}

/// `graphql.parse_schema(schema)`: the schema's AST.
fn parse_schema(args: &[Value]) -> Result<Value> {
    let name = "graphql.parse_schema";
    let text = string(name, args, 0)?;
    Ok(ast(&verdict_graphql::parse_schema(text).map_err(|err| rego_error(name, &err))?))
}

/// `graphql.parse(query, schema)`: `[query AST, schema AST]` of a query valid against the schema; an
/// error naming the first problem otherwise.
fn parse(args: &[Value]) -> Result<Value> {
    let name = "graphql.parse";
    let query = query_operand(name, args)?;
    let schema = schema_operand(name, args, 1)?;
    verify(name, &query, &schema)?;
    Ok(Value::from(vec![ast(&query), ast(&schema)]))
}

/// `graphql.parse_and_verify(query, schema)`: `[true, query AST, schema AST]`, or `[false, {}, {}]`
/// when anything is wrong (never an error).
fn parse_and_verify(args: &[Value]) -> Result<Value> {
    let name = "graphql.parse_and_verify";
    let verified = (|| -> Result<Value> {
        let query = query_operand(name, args)?;
        let schema = schema_operand(name, args, 1)?;
        verify(name, &query, &schema)?;
        Ok(Value::from(vec![Value::from(true), ast(&query), ast(&schema)]))
    })();
    Ok(verified
        .unwrap_or_else(|_| Value::from(vec![Value::from(false), Value::new_object(), Value::new_object()])))
}

/// `graphql.is_valid(query, schema)`: whether the query parses and is valid against the schema.
fn is_valid(args: &[Value]) -> Result<Value> {
    let name = "graphql.is_valid";
    let valid = query_operand(name, args)
        .and_then(|query| schema_operand(name, args, 1).map(|schema| (query, schema)))
        .and_then(|(query, schema)| verify(name, &query, &schema))
        .is_ok();
    Ok(Value::from(valid))
}

/// `graphql.schema_is_valid(schema)`: whether the schema parses and is a valid schema.
fn schema_is_valid(args: &[Value]) -> Result<Value> {
    let name = "graphql.schema_is_valid";
    let valid = schema_operand(name, args, 0).and_then(|schema| build_schema(name, &schema)).is_ok();
    Ok(Value::from(valid))
}

/// The `graphql.*` builtins.
pub const FUNCTIONS: &[super::Builtin] = &[
    ("graphql.parse_query", 1, parse_query),
    ("graphql.parse_schema", 1, parse_schema),
    ("graphql.parse", 2, parse),
    ("graphql.parse_and_verify", 2, parse_and_verify),
    ("graphql.is_valid", 2, is_valid),
    ("graphql.schema_is_valid", 1, schema_is_valid),
];
