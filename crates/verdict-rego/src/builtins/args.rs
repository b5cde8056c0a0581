//! Argument access for extensions, with OPA-style error messages (`name: operand N must be T but got U`).

use anyhow::{Result, bail};
use regorus::Value;

/// The OPA type name of a value, as its error messages spell it.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Set(_) => "set",
        Value::Object(_) => "object",
        Value::Undefined => "undefined",
    }
}

/// Operand `index` (0-based) as a string.
pub fn string<'a>(name: &str, args: &'a [Value], index: usize) -> Result<&'a str> {
    match args.get(index) {
        Some(Value::String(text)) => Ok(text),
        Some(other) => bail!("{name}: operand {} must be string but got {}", index + 1, type_name(other)),
        None => bail!("{name}: missing operand {}", index + 1),
    }
}

/// Operand `index` (0-based) as an array.
pub fn array<'a>(name: &str, args: &'a [Value], index: usize) -> Result<&'a [Value]> {
    match args.get(index) {
        Some(Value::Array(items)) => Ok(items.as_slice()),
        Some(other) => bail!("{name}: operand {} must be array but got {}", index + 1, type_name(other)),
        None => bail!("{name}: missing operand {}", index + 1),
    }
}
