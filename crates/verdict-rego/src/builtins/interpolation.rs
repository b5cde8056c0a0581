//! `internal.template_string`: what OPA 1.x template strings (`$"Hello {input.name}"`) are lowered to by
//! the parser (vendor/regorus, `parse_template_string`). Its operand lists the literal parts (strings)
//! and, for each interpolated expression, the set of its values: empty renders `<undefined>`, one value
//! renders as OPA prints it, more than one is an error — OPA's semantics.

use anyhow::{Result, bail};
use regorus::Value;

use super::args::{array, type_name};

/// A value as OPA prints a term: strings bare at the top level and quoted inside collections, sets as
/// `{…}` (`set()` when empty), objects as `{"k": v}`, items separated by `, `.
fn render(value: &Value, top: bool, out: &mut String) {
    match value {
        Value::String(text) if top => out.push_str(text),
        Value::String(text) => out.push_str(&serde_json::to_string(text.as_ref()).unwrap_or_default()),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                render(item, false, out);
            }
            out.push(']');
        }
        Value::Set(items) if items.is_empty() => out.push_str("set()"),
        Value::Set(items) => {
            out.push('{');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                render(item, false, out);
            }
            out.push('}');
        }
        Value::Object(fields) => {
            out.push('{');
            for (index, (key, field)) in fields.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                render(key, false, out);
                out.push_str(": ");
                render(field, false, out);
            }
            out.push('}');
        }
        Value::Undefined => out.push_str("<undefined>"),
        other => out.push_str(&other.to_json_str().unwrap_or_default()),
    }
}

fn template_string(args: &[Value]) -> Result<Value> {
    let name = "internal.template_string";
    let mut out = String::new();
    for part in array(name, args, 0)? {
        match part {
            Value::Set(values) => match values.len() {
                0 => out.push_str("<undefined>"),
                1 => {
                    if let Some(value) = values.iter().next() {
                        render(value, true, &mut out);
                    }
                }
                _ => bail!("{name}: template-strings must not produce multiple outputs"),
            },
            Value::Array(_) | Value::Object(_) => {
                bail!("{name}: illegal argument type: {}", type_name(part))
            }
            scalar => render(scalar, true, &mut out),
        }
    }
    Ok(Value::from(out))
}

pub const FUNCTIONS: &[super::Builtin] = &[("internal.template_string", 1, template_string)];

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: Vec<Value>) -> Value {
        Value::from(items.into_iter().collect::<std::collections::BTreeSet<Value>>())
    }

    fn run(parts: Vec<Value>) -> Result<Value> {
        template_string(&[Value::from(parts)])
    }

    #[test]
    fn renders_as_opa_prints_terms() {
        assert_eq!(run(vec![]).unwrap(), Value::from(""));
        assert_eq!(run(vec![set(vec![])]).unwrap(), Value::from("<undefined>"));
        let primitives = vec![
            Value::from("foo "),
            Value::from(42u64),
            Value::from(" "),
            Value::from(4.2),
            Value::from(" "),
            Value::from(false),
            Value::from(" "),
            Value::Null,
        ];
        assert_eq!(run(primitives).unwrap(), Value::from("foo 42 4.2 false null"));
        let mut object = Value::new_object();
        object.as_object_mut().unwrap().insert(Value::from("f"), Value::from("g"));
        object.as_object_mut().unwrap().insert(Value::from("h"), Value::from("i"));
        let collections = vec![
            set(vec![Value::from(Vec::<Value>::new())]),
            Value::from(" "),
            set(vec![Value::from(vec![Value::from("a"), Value::from("b")])]),
            Value::from(" "),
            set(vec![set(vec![])]),
            Value::from(" "),
            set(vec![set(vec![
                Value::from("d"),
                Value::from(42u64),
                Value::from(4.2),
                Value::from(false),
                Value::Null,
            ])]),
            Value::from(" "),
            set(vec![Value::new_object()]),
            Value::from(" "),
            set(vec![object]),
        ];
        assert_eq!(
            run(collections).unwrap(),
            Value::from(r#"[] ["a", "b"] set() {null, false, 4.2, 42, "d"} {} {"f": "g", "h": "i"}"#)
        );
    }

    #[test]
    fn several_values_or_a_bare_collection_are_errors() {
        let err = run(vec![set(vec![Value::from("foo"), Value::from("bar")])]).unwrap_err();
        assert!(err.to_string().contains("must not produce multiple outputs"));
        let err = run(vec![Value::from(vec![Value::from("foo")])]).unwrap_err();
        assert!(err.to_string().contains("illegal argument type: array"));
    }
}
