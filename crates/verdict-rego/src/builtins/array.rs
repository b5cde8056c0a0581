//! `array.flatten`: one level of nesting removed, as OPA defines it.

use regorus::Value;

use super::args::array;

fn flatten(items: &[Value]) -> Value {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::Array(inner) => out.extend(inner.iter().cloned()),
            other => out.push(other.clone()),
        }
    }
    Value::from(out)
}

pub const FUNCTIONS: &[super::Builtin] =
    &[("array.flatten", 1, |args| Ok(flatten(array("array.flatten", args, 0)?)))];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_exactly_one_level() {
        let input = Value::from_json_str(r#"[1, [2, [3]], [], "x"]"#).unwrap();
        let Value::Array(items) = input else { panic!() };
        assert_eq!(flatten(items.as_slice()), Value::from_json_str(r#"[1, 2, [3], "x"]"#).unwrap());
    }
}
