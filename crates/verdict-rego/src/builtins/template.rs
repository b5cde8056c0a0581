//! `strings.render_template(template, vars)`: the field-substitution part of Go's text/template, which is
//! what policies use it for (`"{{.name}} is missing"`). Actions other than `{{.path}}` (pipelines, `if`,
//! `range`, functions) are reported as errors rather than rendered wrongly.

use anyhow::{Result, bail};
use regorus::Value;

use super::args::{string, type_name};

/// Go's `%v` formatting of a value, as text/template prints it.
fn go_format(value: &Value) -> String {
    match value {
        Value::String(text) => text.to_string(),
        Value::Null => "<nil>".to_owned(),
        Value::Undefined => "<no value>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => value.to_json_str().unwrap_or_default(),
        Value::Array(items) => format!("[{}]", items.iter().map(go_format).collect::<Vec<_>>().join(" ")),
        Value::Set(items) => format!("[{}]", items.iter().map(go_format).collect::<Vec<_>>().join(" ")),
        Value::Object(map) => format!(
            "map[{}]",
            map.iter()
                .map(|(k, v)| format!("{}:{}", go_format(k), go_format(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

fn render(template: &str, vars: &Value) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let mut literal = &rest[..open];
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            bail!("strings.render_template: unclosed action in template")
        };
        let mut action = &after[..close];
        let mut next = &after[close + 2..];
        if let Some(trimmed) = action.strip_prefix('-').filter(|a| a.starts_with(char::is_whitespace)) {
            literal = literal.trim_end();
            action = trimmed;
        }
        if let Some(trimmed) = action.strip_suffix('-').filter(|a| a.ends_with(char::is_whitespace)) {
            next = next.trim_start();
            action = trimmed;
        }
        out.push_str(literal);
        let action = action.trim();
        if action == "." {
            out.push_str(&go_format(vars));
        } else if let Some(path) = action
            .strip_prefix('.')
            .filter(|p| p.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.'))
        {
            let mut value = vars;
            for key in path.split('.') {
                value = &value[&Value::from(key)];
            }
            out.push_str(&go_format(value));
        } else if !action.starts_with("/*") {
            bail!(
                "strings.render_template: unsupported template action {{{{{action}}}}}: only {{{{.field}}}} substitution is supported"
            );
        }
        rest = next;
    }
    out.push_str(rest);
    Ok(out)
}

fn render_template(args: &[Value]) -> Result<Value> {
    let name = "strings.render_template";
    let template = string(name, args, 0)?;
    match args.get(1) {
        Some(vars @ Value::Object(_)) => Ok(Value::from(render(template, vars)?)),
        Some(other) => bail!("{name}: operand 2 must be object but got {}", type_name(other)),
        None => bail!("{name}: missing operand 2"),
    }
}

pub const FUNCTIONS: &[super::Builtin] = &[("strings.render_template", 2, render_template)];

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(json: &str) -> Value {
        Value::from_json_str(json).unwrap()
    }

    #[test]
    fn substitutes_fields() {
        assert_eq!(render("{{.test}}", &vars(r#"{"test": "hello world"}"#)).unwrap(), "hello world");
        assert_eq!(render("a {{ .x.y }} b", &vars(r#"{"x": {"y": 2}}"#)).unwrap(), "a 2 b");
        assert_eq!(render("[{{.l}}]", &vars(r#"{"l": [1, "a", true]}"#)).unwrap(), "[[1 a true]]");
        assert_eq!(render("{{.missing}}", &vars("{}")).unwrap(), "<no value>");
        assert_eq!(render("a  {{- .x -}}  b", &vars(r#"{"x": "-"}"#)).unwrap(), "a-b");
    }

    #[test]
    fn unsupported_actions_are_errors() {
        assert!(render("{{range .x}}{{end}}", &vars("{}")).is_err());
        assert!(render("{{.x | printf}}", &vars("{}")).is_err());
        assert!(render("{{.x", &vars("{}")).is_err());
    }
}
