//! JMESPath as Kyverno speaks it: the standard language plus Kyverno's functions, and `{{ … }}`
//! variable substitution in any string of a rule.
//!
//! Supported Kyverno functions: `add`, `subtract`, `multiply`, `divide`, `modulo`, `round`, `sum`,
//! `base64_encode`, `base64_decode`, `compare`, `equal_fold`, `to_upper`, `to_lower`, `trim`,
//! `trim_prefix`, `trim_suffix`, `split`, `replace`, `replace_all`, `truncate`, `regex_match`,
//! `regex_replace_all`, `regex_replace_all_literal`, `pattern_match`, `label_match`, `parse_json`,
//! `parse_yaml`, `items`, `object_from_lists`, `lookup`, `semver_compare`, `time_now_utc`,
//! `time_since`, `to_boolean`. Others (`x509_decode`, `image_normalize`, `random`, …) are unknown
//! functions: an error, which the rule reports as such.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::OnceLock;

use base64::Engine;
use jmespath::ast::{Ast, Comparator, KeyValuePair};
use jmespath::functions::{ArgumentType, CustomFunction, Signature};
use jmespath::{Context, ErrorReason, Expression, JmespathError, Rcvar, Runtime, Variable};
use serde_json::Value;

use crate::conditions::sprint;
use crate::wildcard;

/// Why a variable or expression could not be resolved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VariableError {
    /// The expression does not parse or fails at run time.
    #[error("JMESPath query failed for {expression:?}: {message}")]
    Query {
        /// The expression.
        expression: String,
        /// What went wrong.
        message: String,
    },
    /// The expression names something the context does not hold.
    #[error("variable {expression:?} not found (the context holds no such value)")]
    NotFound {
        /// The expression.
        expression: String,
    },
}

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let mut runtime = Runtime::new();
        runtime.register_builtin_functions();
        register_kyverno_functions(&mut runtime);
        runtime
    })
}

/// Whether `expression` compiles (for load-time checks).
pub fn check(expression: &str) -> Result<(), String> {
    compile(expression).map(drop)
}

/// `null.f(@)` is null in JMESPath (and in Kyverno); `jmespath` evaluates the function on null
/// instead. Every right-hand side of a sub-expression that is not a plain field or index is guarded
/// so that a null left-hand side yields null.
fn guard_null(ast: Ast) -> Ast {
    let boxed = |ast: Box<Ast>| Box::new(guard_null(*ast));
    match ast {
        Ast::Subexpr { offset, lhs, rhs } => {
            let rhs = guard_null(*rhs);
            let rhs = match rhs {
                Ast::Field { .. } | Ast::Index { .. } => rhs,
                other => Ast::Condition {
                    offset,
                    predicate: Box::new(Ast::Comparison {
                        offset,
                        comparator: Comparator::NotEqual,
                        lhs: Box::new(Ast::Identity { offset }),
                        rhs: Box::new(Ast::Literal { offset, value: Rc::new(Variable::Null) }),
                    }),
                    then: Box::new(other),
                },
            };
            Ast::Subexpr { offset, lhs: boxed(lhs), rhs: Box::new(rhs) }
        }
        Ast::Comparison { offset, comparator, lhs, rhs } => {
            Ast::Comparison { offset, comparator, lhs: boxed(lhs), rhs: boxed(rhs) }
        }
        Ast::Condition { offset, predicate, then } => {
            Ast::Condition { offset, predicate: boxed(predicate), then: boxed(then) }
        }
        Ast::Expref { offset, ast } => Ast::Expref { offset, ast: boxed(ast) },
        Ast::Flatten { offset, node } => Ast::Flatten { offset, node: boxed(node) },
        Ast::Function { offset, name, args } => {
            Ast::Function { offset, name, args: args.into_iter().map(guard_null).collect() }
        }
        Ast::MultiList { offset, elements } => {
            Ast::MultiList { offset, elements: elements.into_iter().map(guard_null).collect() }
        }
        Ast::MultiHash { offset, elements } => Ast::MultiHash {
            offset,
            elements: elements
                .into_iter()
                .map(|pair| KeyValuePair { key: pair.key, value: guard_null(pair.value) })
                .collect(),
        },
        Ast::Not { offset, node } => Ast::Not { offset, node: boxed(node) },
        Ast::Projection { offset, lhs, rhs } => Ast::Projection { offset, lhs: boxed(lhs), rhs: boxed(rhs) },
        Ast::ObjectValues { offset, node } => Ast::ObjectValues { offset, node: boxed(node) },
        Ast::And { offset, lhs, rhs } => Ast::And { offset, lhs: boxed(lhs), rhs: boxed(rhs) },
        Ast::Or { offset, lhs, rhs } => Ast::Or { offset, lhs: boxed(lhs), rhs: boxed(rhs) },
        other => other,
    }
}

thread_local! {
    /// Compiled expressions: policies repeat the same few expressions for every resource.
    static COMPILED: std::cell::RefCell<std::collections::HashMap<String, Rc<Expression<'static>>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The compiled (and null-guarded) `expression`.
fn compile(expression: &str) -> Result<Rc<Expression<'static>>, String> {
    if let Some(found) = COMPILED.with(|cache| cache.borrow().get(expression).cloned()) {
        return Ok(found);
    }
    let ast = jmespath::parse(expression).map_err(|e| e.to_string())?;
    let compiled = Rc::new(Expression::new(expression, guard_null(ast), runtime()));
    COMPILED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(expression.to_owned(), Rc::clone(&compiled));
    });
    Ok(compiled)
}

/// A JSON value as a JMESPath variable.
pub fn to_variable(value: &Value) -> Rcvar {
    Rc::new(Variable::from_serializable(value).unwrap_or(Variable::Null))
}

fn to_json(variable: &Variable) -> Value {
    serde_json::to_value(variable).unwrap_or(Value::Null)
}

/// Evaluates `expression` over `data`.
pub fn search(expression: &str, data: &Rcvar) -> Result<Value, VariableError> {
    let compiled = compile(expression.trim())
        .map_err(|message| VariableError::Query { expression: expression.to_owned(), message })?;
    let result = compiled
        .search(Rc::clone(data))
        .map_err(|e| VariableError::Query { expression: expression.to_owned(), message: e.to_string() })?;
    Ok(to_json(&result))
}

/// How an unresolvable variable is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// An error (patterns, messages, context entries).
    Error,
    /// The empty string (preconditions and conditions, as Kyverno does).
    Empty,
}

/// The variables of `text`: byte ranges of each `{{ … }}` not preceded by a backslash, innermost
/// first when nested.
fn next_variable(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut start = None;
    let mut index = 0;
    while index + 1 < bytes.len() {
        if bytes[index] == b'{' && bytes[index + 1] == b'{' && (index == 0 || bytes[index - 1] != b'\\') {
            start = Some(index);
            index += 2;
            continue;
        }
        if bytes[index] == b'}'
            && bytes[index + 1] == b'}'
            && let Some(begin) = start
        {
            // Tolerate `}}}` ending a map literal inside the expression.
            let mut end = index + 2;
            while end < bytes.len()
                && bytes[end] == b'}'
                && text[begin + 2..end - 2].matches('{').count()
                    > text[begin + 2..end - 2].matches('}').count()
            {
                end += 1;
            }
            return Some((begin, end));
        }
        index += 1;
    }
    None
}

/// Substitutes every `{{ … }}` in `text`: a string that is exactly one variable becomes its value
/// (any type); otherwise values are spliced in as text. `\{{` escapes a variable.
pub fn substitute_string(text: &str, data: &Rcvar, missing: Missing) -> Result<Value, VariableError> {
    let mut current = text.to_owned();
    for _ in 0..32 {
        let Some((start, end)) = next_variable(&current) else { break };
        let expression = current[start + 2..end - 2].trim().to_owned();
        let mut value = search(&expression, data);
        if let Ok(Value::Null) = value {
            value = Err(VariableError::NotFound { expression: expression.clone() });
        }
        let value = match (value, missing) {
            (Ok(value), _) => value,
            (Err(_), Missing::Empty) => Value::String(String::new()),
            (Err(error), Missing::Error) => return Err(error),
        };
        if start == 0 && end == current.len() {
            // The whole string is one variable: its value, whatever its type (unless it holds more).
            match &value {
                Value::String(s) if next_variable(s).is_some() => current = s.clone(),
                _ => return Ok(value),
            }
            continue;
        }
        let spliced = match &value {
            Value::String(s) => s.clone(),
            Value::Number(_) | Value::Bool(_) => sprint(&value),
            other => other.to_string(),
        };
        current.replace_range(start..end, &spliced);
    }
    Ok(Value::String(current.replace("\\{{", "{{")))
}

/// Substitutes variables in every string of `value` (keys too).
pub fn substitute_all(value: &Value, data: &Rcvar, missing: Missing) -> Result<Value, VariableError> {
    Ok(match value {
        Value::String(text) if text.contains("{{") => substitute_string(text, data, missing)?,
        Value::Array(items) => Value::Array(
            items.iter().map(|item| substitute_all(item, data, missing)).collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, item) in map {
                let key = if key.contains("{{") {
                    match substitute_string(key, data, missing)? {
                        Value::String(s) => s,
                        other => sprint(&other),
                    }
                } else {
                    key.clone()
                };
                out.insert(key, substitute_all(item, data, missing)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn error(ctx: &Context<'_>, message: String) -> JmespathError {
    JmespathError::new(ctx.expression, ctx.offset, ErrorReason::Parse(message))
}

fn string_arg(args: &[Rcvar], index: usize) -> String {
    args.get(index).and_then(|a| a.as_string().cloned()).unwrap_or_default()
}

fn number_arg(args: &[Rcvar], index: usize, ctx: &Context<'_>) -> Result<f64, JmespathError> {
    match args.get(index).map(|a| &**a) {
        Some(Variable::Number(n)) => n.as_f64().ok_or_else(|| error(ctx, "not a number".to_owned())),
        Some(Variable::String(s)) => crate::quantity::parse_quantity(s)
            .or_else(|| crate::quantity::parse_duration(s))
            .ok_or_else(|| error(ctx, format!("{s:?} is not a number, quantity or duration"))),
        _ => Err(error(ctx, "expected a number".to_owned())),
    }
}

fn number_variable(value: f64) -> Rcvar {
    Rc::new(to_number_variable(value))
}

fn to_number_variable(value: f64) -> Variable {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        Variable::Number(serde_json::Number::from(value as i64))
    } else {
        serde_json::Number::from_f64(value).map_or(Variable::Null, Variable::Number)
    }
}

fn string(value: impl Into<String>) -> Rcvar {
    Rc::new(Variable::String(value.into()))
}

type Body = dyn Fn(&[Rcvar], &mut Context<'_>) -> Result<Rcvar, JmespathError> + Sync + Send;

fn register(runtime: &mut Runtime, name: &str, inputs: Vec<ArgumentType>, body: Box<Body>) {
    runtime.register_function(name, Box::new(CustomFunction::new(Signature::new(inputs, None), body)));
}

fn regex(pattern: &str, ctx: &Context<'_>) -> Result<regex::Regex, JmespathError> {
    regex::Regex::new(pattern).map_err(|e| error(ctx, format!("invalid regular expression {pattern:?}: {e}")))
}

fn register_kyverno_functions(runtime: &mut Runtime) {
    use ArgumentType::{Any, Array, Number, Object, String as Str};
    let arith = |op: fn(f64, f64) -> Option<f64>| -> Box<Body> {
        Box::new(move |args, ctx| {
            let (a, b) = (number_arg(args, 0, ctx)?, number_arg(args, 1, ctx)?);
            op(a, b).map(number_variable).ok_or_else(|| error(ctx, "division by zero".to_owned()))
        })
    };
    register(runtime, "add", vec![Any, Any], arith(|a, b| Some(a + b)));
    register(runtime, "subtract", vec![Any, Any], arith(|a, b| Some(a - b)));
    register(runtime, "multiply", vec![Any, Any], arith(|a, b| Some(a * b)));
    register(runtime, "divide", vec![Any, Any], arith(|a, b| (b != 0.0).then(|| a / b)));
    register(runtime, "modulo", vec![Any, Any], arith(|a, b| (b != 0.0).then(|| a % b)));
    register(
        runtime,
        "round",
        vec![Number, Number],
        Box::new(|args, ctx| {
            let (value, digits) = (number_arg(args, 0, ctx)?, number_arg(args, 1, ctx)?);
            let factor = 10f64.powi(digits as i32);
            Ok(number_variable((value * factor).round() / factor))
        }),
    );
    register(
        runtime,
        "sum",
        vec![Array],
        Box::new(|args, ctx| {
            let mut total = 0.0;
            for item in args[0].as_array().into_iter().flatten() {
                total += number_arg(std::slice::from_ref(item), 0, ctx)?;
            }
            Ok(number_variable(total))
        }),
    );
    register(
        runtime,
        "base64_encode",
        vec![Str],
        Box::new(|args, _| Ok(string(base64::engine::general_purpose::STANDARD.encode(string_arg(args, 0))))),
    );
    register(
        runtime,
        "base64_decode",
        vec![Str],
        Box::new(|args, ctx| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(string_arg(args, 0))
                .map_err(|e| error(ctx, format!("base64_decode: {e}")))?;
            Ok(string(String::from_utf8_lossy(&bytes).into_owned()))
        }),
    );
    register(
        runtime,
        "compare",
        vec![Str, Str],
        Box::new(|args, _| {
            let ordering = string_arg(args, 0).cmp(&string_arg(args, 1));
            Ok(number_variable(ordering as i32 as f64))
        }),
    );
    register(
        runtime,
        "equal_fold",
        vec![Str, Str],
        Box::new(|args, _| {
            Ok(Rc::new(Variable::Bool(
                string_arg(args, 0).to_lowercase() == string_arg(args, 1).to_lowercase(),
            )))
        }),
    );
    register(
        runtime,
        "to_upper",
        vec![Str],
        Box::new(|args, _| Ok(string(string_arg(args, 0).to_uppercase()))),
    );
    register(
        runtime,
        "to_lower",
        vec![Str],
        Box::new(|args, _| Ok(string(string_arg(args, 0).to_lowercase()))),
    );
    register(
        runtime,
        "trim",
        vec![Str, Str],
        Box::new(|args, _| {
            let cut: Vec<char> = string_arg(args, 1).chars().collect();
            Ok(string(string_arg(args, 0).trim_matches(|c| cut.contains(&c)).to_owned()))
        }),
    );
    register(
        runtime,
        "trim_prefix",
        vec![Str, Str],
        Box::new(|args, _| {
            let (text, prefix) = (string_arg(args, 0), string_arg(args, 1));
            Ok(string(text.strip_prefix(prefix.as_str()).unwrap_or(&text).to_owned()))
        }),
    );
    register(
        runtime,
        "trim_suffix",
        vec![Str, Str],
        Box::new(|args, _| {
            let (text, suffix) = (string_arg(args, 0), string_arg(args, 1));
            Ok(string(text.strip_suffix(suffix.as_str()).unwrap_or(&text).to_owned()))
        }),
    );
    register(
        runtime,
        "split",
        vec![Str, Str],
        Box::new(|args, _| {
            let (text, separator) = (string_arg(args, 0), string_arg(args, 1));
            let parts: Vec<Rcvar> = if separator.is_empty() {
                text.chars().map(|c| string(c.to_string())).collect()
            } else {
                text.split(separator.as_str()).map(string).collect()
            };
            Ok(Rc::new(Variable::Array(parts)))
        }),
    );
    register(
        runtime,
        "replace",
        vec![Str, Str, Str, Number],
        Box::new(|args, ctx| {
            let count = number_arg(args, 3, ctx)?;
            let (text, from, to) = (string_arg(args, 0), string_arg(args, 1), string_arg(args, 2));
            Ok(string(if count < 0.0 {
                text.replace(&from, &to)
            } else {
                text.replacen(&from, &to, count as usize)
            }))
        }),
    );
    register(
        runtime,
        "replace_all",
        vec![Str, Str, Str],
        Box::new(|args, _| {
            Ok(string(string_arg(args, 0).replace(&string_arg(args, 1), &string_arg(args, 2))))
        }),
    );
    register(
        runtime,
        "truncate",
        vec![Str, Number],
        Box::new(|args, ctx| {
            let length = number_arg(args, 1, ctx)?.max(0.0) as usize;
            Ok(string(string_arg(args, 0).chars().take(length).collect::<String>()))
        }),
    );
    register(
        runtime,
        "regex_match",
        vec![Str, Any],
        Box::new(|args, ctx| {
            let subject = match &*args[1] {
                Variable::String(s) => s.clone(),
                other => sprint(&to_json(other)),
            };
            Ok(Rc::new(Variable::Bool(regex(&string_arg(args, 0), ctx)?.is_match(&subject))))
        }),
    );
    register(
        runtime,
        "regex_replace_all",
        vec![Str, Any, Any],
        Box::new(|args, ctx| {
            let subject = sprint(&to_json(&args[1]));
            // Go's and Rust's replacement syntaxes agree: `$1`, `${1}`, `$name`.
            let replacement = sprint(&to_json(&args[2]));
            Ok(string(
                regex(&string_arg(args, 0), ctx)?.replace_all(&subject, replacement.as_str()).into_owned(),
            ))
        }),
    );
    register(
        runtime,
        "regex_replace_all_literal",
        vec![Str, Any, Any],
        Box::new(|args, ctx| {
            let subject = sprint(&to_json(&args[1]));
            let replacement = sprint(&to_json(&args[2]));
            Ok(string(
                regex(&string_arg(args, 0), ctx)?
                    .replace_all(&subject, regex::NoExpand(&replacement))
                    .into_owned(),
            ))
        }),
    );
    register(
        runtime,
        "pattern_match",
        vec![Str, Any],
        Box::new(|args, _| {
            let subject = sprint(&to_json(&args[1]));
            Ok(Rc::new(Variable::Bool(wildcard::matches(&string_arg(args, 0), &subject))))
        }),
    );
    register(
        runtime,
        "label_match",
        vec![Object, Object],
        Box::new(|args, _| {
            let (selector, labels) = (to_json(&args[0]), to_json(&args[1]));
            let matched = selector
                .as_object()
                .is_some_and(|selector| selector.iter().all(|(k, v)| labels.get(k) == Some(v)));
            Ok(Rc::new(Variable::Bool(matched)))
        }),
    );
    register(
        runtime,
        "parse_json",
        vec![Str],
        Box::new(|args, ctx| {
            let value: Value = serde_json::from_str(&string_arg(args, 0))
                .map_err(|e| error(ctx, format!("parse_json: {e}")))?;
            Ok(to_variable(&value))
        }),
    );
    register(
        runtime,
        "parse_yaml",
        vec![Str],
        Box::new(|args, ctx| {
            let node = verdict_policy::yaml::parse(&string_arg(args, 0))
                .map_err(|e| error(ctx, format!("parse_yaml: {}", e.message)))?;
            Ok(to_variable(&node.map(|n| n.to_json()).unwrap_or(Value::Null)))
        }),
    );
    register(
        runtime,
        "items",
        vec![Any, Str, Str],
        Box::new(|args, ctx| {
            let (key_name, value_name) = (string_arg(args, 1), string_arg(args, 2));
            let entries: Vec<Value> = match to_json(&args[0]) {
                Value::Object(map) => map
                    .into_iter()
                    .map(|(k, v)| serde_json::json!({key_name.clone(): k, value_name.clone(): v}))
                    .collect(),
                Value::Array(items) => items
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| serde_json::json!({key_name.clone(): i, value_name.clone(): v}))
                    .collect(),
                _ => return Err(error(ctx, "items: expected an object or array".to_owned())),
            };
            Ok(to_variable(&Value::Array(entries)))
        }),
    );
    register(
        runtime,
        "object_from_lists",
        vec![Array, Array],
        Box::new(|args, _| {
            let keys = to_json(&args[0]);
            let values = to_json(&args[1]);
            let mut map = serde_json::Map::new();
            for (index, key) in keys.as_array().into_iter().flatten().enumerate() {
                if let Some(key) = key.as_str() {
                    map.insert(key.to_owned(), values.get(index).cloned().unwrap_or(Value::Null));
                }
            }
            Ok(to_variable(&Value::Object(map)))
        }),
    );
    register(
        runtime,
        "lookup",
        vec![Any, Any],
        Box::new(|args, _| {
            let (collection, key) = (to_json(&args[0]), to_json(&args[1]));
            let found = match (&collection, &key) {
                (Value::Object(map), Value::String(k)) => map.get(k).cloned(),
                (Value::Array(items), Value::Number(n)) => {
                    n.as_u64().and_then(|i| items.get(i as usize).cloned())
                }
                _ => None,
            };
            Ok(to_variable(&found.unwrap_or(Value::Null)))
        }),
    );
    register(
        runtime,
        "semver_compare",
        vec![Str, Str],
        Box::new(|args, _| {
            let (version, range) = (string_arg(args, 0), string_arg(args, 1));
            let matched = semver_satisfies(&version, &range);
            Ok(Rc::new(Variable::Bool(matched)))
        }),
    );
    register(
        runtime,
        "to_boolean",
        vec![Str],
        Box::new(|args, ctx| match string_arg(args, 0).to_lowercase().as_str() {
            "true" => Ok(Rc::new(Variable::Bool(true))),
            "false" => Ok(Rc::new(Variable::Bool(false))),
            other => Err(error(ctx, format!("to_boolean: {other:?} is not true or false"))),
        }),
    );
    register(runtime, "time_now_utc", vec![], Box::new(|_, _| Ok(string(now_rfc3339()))));
    register(
        runtime,
        "time_since",
        vec![Str, Str, Str],
        Box::new(|args, ctx| {
            let start = string_arg(args, 1);
            let end = string_arg(args, 2);
            let start = parse_rfc3339(&start)
                .ok_or_else(|| error(ctx, format!("time_since: {start:?} is not an RFC 3339 time")))?;
            let end = if end.is_empty() {
                unix_now()
            } else {
                parse_rfc3339(&end)
                    .ok_or_else(|| error(ctx, format!("time_since: {end:?} is not an RFC 3339 time")))?
            };
            Ok(string(go_duration(end - start)))
        }),
    );
}

fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

fn now_rfc3339() -> String {
    let seconds = unix_now() as i64;
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rest / 3600, (rest % 3600) / 60, rest % 60)
}

/// Days since 1970-01-01 as (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch of an RFC 3339 time (`2024-01-02T03:04:05Z`, offsets and fractions allowed).
fn parse_rfc3339(text: &str) -> Option<f64> {
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut date_parts = date.split('-');
    let (y, m, d): (i64, i64, i64) = (
        date_parts.next()?.parse().ok()?,
        date_parts.next()?.parse().ok()?,
        date_parts.next()?.parse().ok()?,
    );
    let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let split = time.rfind(['+', '-'])?;
        let (clock, zone) = time.split_at(split);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (h, mi) = zone[1..].split_once(':')?;
        (clock, sign * (h.parse::<i64>().ok()? * 3600 + mi.parse::<i64>().ok()? * 60))
    };
    let mut clock_parts = clock.split(':');
    let (h, mi): (i64, i64) = (clock_parts.next()?.parse().ok()?, clock_parts.next()?.parse().ok()?);
    let s: f64 = clock_parts.next()?.parse().ok()?;
    Some((days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 - offset) as f64 + s)
}

/// A duration in Go's `time.Duration.String()` form (`1h2m3s`).
fn go_duration(seconds: f64) -> String {
    if seconds == 0.0 {
        return "0s".to_owned();
    }
    let sign = if seconds < 0.0 { "-" } else { "" };
    let total = seconds.abs();
    let hours = (total / 3600.0).floor();
    let minutes = ((total - hours * 3600.0) / 60.0).floor();
    let secs = total - hours * 3600.0 - minutes * 60.0;
    let secs_text = if secs.fract() == 0.0 { format!("{}s", secs as i64) } else { format!("{secs}s") };
    match (hours > 0.0, minutes > 0.0 || hours > 0.0) {
        (true, _) => format!("{sign}{}h{}m{secs_text}", hours as i64, minutes as i64),
        (false, true) => format!("{sign}{}m{secs_text}", minutes as i64),
        _ => format!("{sign}{secs_text}"),
    }
}

/// Whether `version` satisfies `range` (`>=1.2.0`, `<2.0.0`, `1.2.3`, space-separated conjunctions,
/// `||` alternatives), as blang/semver ranges.
fn semver_satisfies(version: &str, range: &str) -> bool {
    let parse = |text: &str| -> Option<(u64, u64, u64)> {
        let core = text.trim().trim_start_matches('v').split(['-', '+']).next()?;
        let mut parts = core.split('.');
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    let Some(version) = parse(version) else { return false };
    range.split("||").any(|alternative| {
        alternative.split_whitespace().all(|condition| {
            let (op, rest) = ["<=", ">=", "!=", "==", "<", ">", "="]
                .iter()
                .find_map(|op| condition.strip_prefix(op).map(|rest| (*op, rest)))
                .unwrap_or(("=", condition));
            let Some(bound) = parse(rest) else { return false };
            match op {
                "<=" => version <= bound,
                ">=" => version >= bound,
                "<" => version < bound,
                ">" => version > bound,
                "!=" => version != bound,
                _ => version == bound,
            }
        })
    })
}

/// The standard data every rule sees, merged with `extra` (context entries, `element`, …).
pub fn context_data(base: &Value, extra: &BTreeMap<String, Value>) -> Rcvar {
    let mut data = base.as_object().cloned().unwrap_or_default();
    for (key, value) in extra {
        data.insert(key.clone(), value.clone());
    }
    to_variable(&Value::Object(data))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn data() -> Rcvar {
        to_variable(&json!({"request": {"object": {"metadata": {"name": "web", "labels": {"app": "shop"}},
            "spec": {"containers": [{"name": "a", "image": "nginx:1"}, {"name": "b", "image": "redis"}]}}, "operation": "CREATE"}}))
    }

    #[test]
    fn whole_variables_keep_their_type_and_embedded_ones_become_text() {
        let d = data();
        assert_eq!(
            substitute_string("{{ request.object.spec.containers[].name }}", &d, Missing::Error),
            Ok(json!(["a", "b"]))
        );
        assert_eq!(
            substitute_string("pod {{request.object.metadata.name}} is bad", &d, Missing::Error),
            Ok(json!("pod web is bad"))
        );
        assert_eq!(
            substitute_string("{{ length(request.object.spec.containers) }}", &d, Missing::Error),
            Ok(json!(2))
        );
        assert_eq!(
            substitute_string("\\{{ not.a.variable }}", &d, Missing::Error),
            Ok(json!("{{ not.a.variable }}"))
        );
        assert!(matches!(
            substitute_string("{{ request.object.nope }}", &d, Missing::Error),
            Err(VariableError::NotFound { .. })
        ));
        assert_eq!(substitute_string("{{ request.object.nope }}", &d, Missing::Empty), Ok(json!("")));
        assert_eq!(
            substitute_string("{{ request.object.nope || 'none' }}", &d, Missing::Error),
            Ok(json!("none"))
        );
    }

    #[test]
    fn kyverno_functions() {
        let d = data();
        let eval = |e: &str| search(e, &d).unwrap();
        assert_eq!(eval("to_upper('abc')"), json!("ABC"));
        assert_eq!(eval("split('a,b', ',')"), json!(["a", "b"]));
        assert_eq!(eval("regex_match('^nginx', 'nginx:1')"), json!(true));
        assert_eq!(eval("regex_replace_all('([a-z]+):(.*)', 'nginx:1', '$2')"), json!("1"));
        assert_eq!(eval("add(`1`, `2`)"), json!(3));
        assert_eq!(eval("divide('1Gi', '1Mi')"), json!(1024));
        assert_eq!(eval("base64_decode(base64_encode('hi'))"), json!("hi"));
        assert_eq!(eval("parse_json('{\"a\": 1}').a"), json!(1));
        assert_eq!(
            eval("items(request.object.metadata.labels, 'k', 'v')"),
            json!([{"k": "app", "v": "shop"}])
        );
        assert_eq!(eval("semver_compare('1.2.3', '>=1.0.0 <2.0.0')"), json!(true));
        assert_eq!(eval("time_since('', '2024-01-01T00:00:00Z', '2024-01-01T01:30:00Z')"), json!("1h30m0s"));
        assert_eq!(eval("pattern_match('nginx:*', 'nginx:1')"), json!(true));
        assert_eq!(eval("trim('--abc--', '-')"), json!("abc"));
        assert_eq!(eval("trim_prefix('v1.2', 'v')"), json!("1.2"));
        assert_eq!(eval("trim_suffix('app.yaml', '.yaml')"), json!("app"));
        assert_eq!(eval("truncate('abcdef', `3`)"), json!("abc"));
        assert_eq!(eval("replace('a-a-a', '-', '+', `1`)"), json!("a+a-a"));
        assert_eq!(eval("replace_all('a-a-a', '-', '+')"), json!("a+a+a"));
        assert_eq!(eval("regex_replace_all_literal('[0-9]', 'a1b2', '$1')"), json!("a$1b$1"));
        assert_eq!(eval("label_match(`{\"app\": \"shop\"}`, request.object.metadata.labels)"), json!(true));
        assert_eq!(eval("label_match(`{\"app\": \"web\"}`, request.object.metadata.labels)"), json!(false));
        assert_eq!(eval("object_from_lists(['a', 'b'], [`1`, `2`])"), json!({"a": 1, "b": 2}));
        assert_eq!(eval("lookup(request.object.metadata.labels, 'app')"), json!("shop"));
        assert_eq!(eval("lookup(['x', 'y'], `1`)"), json!("y"));
        assert_eq!(eval("to_boolean('True')"), json!(true));
        assert!(search("to_boolean('maybe')", &d).is_err());
        assert_eq!(eval("round(`1.23456`, `2`)"), json!(1.23));
        assert_eq!(eval("sum(['1Gi', '1Gi'])"), json!(2147483648u64));
        assert_eq!(eval("modulo(`7`, `3`)"), json!(1));
        assert!(search("divide(`1`, `0`)", &d).is_err());
        assert_eq!(eval("compare('a', 'b')"), json!(-1));
        assert_eq!(eval("equal_fold('Go', 'GO')"), json!(true));
        assert_eq!(eval("parse_yaml('a: [1, 2]').a[1]"), json!(2));
        assert!(eval("time_now_utc()").as_str().is_some_and(|t| t.ends_with('Z')));
        assert!(search("unknown_fn(`1`)", &d).is_err());
        // A function on a missing field is null, as in JMESPath and Kyverno, not an error.
        assert_eq!(eval("request.object.spec.containers[].resources.keys(@)[]"), json!([]));
        assert_eq!(eval("request.object.spec.nothing.length(@)"), Value::Null);
    }
}
