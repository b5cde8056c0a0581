//! CEL as Kubernetes and Kyverno use it, on the `cel` crate with the Kubernetes libraries of
//! `kube-cel` (strings, lists, sets, regex, URLs, IP/CIDR, quantity, semver, format). Expressions are
//! compiled at load. The optional-field syntax `a.?b` (used throughout Kyverno's policies), which this
//! `cel` version does not parse, is rewritten before compiling into a function with the same meaning:
//! `optional.of(a.b)` when `a` has `b`, else `optional.none()` — so `.orValue()`, `.hasValue()` and
//! chains of `.?` behave as in Kubernetes.

use std::sync::Arc;

use kube_cel::KubeCelExt;
use kube_cel::cel::extractors::This;
use kube_cel::cel::objects::{Key, OptionalValue};
use kube_cel::cel::{self, Context, FunctionContext, Program, Value as CelValue};
use serde_json::Value;

/// A compiled expression with its source (for messages).
pub struct Expression {
    source: String,
    program: Program,
    /// The variables it reads: only these are bound when it runs (the `cel` crate converts every bound
    /// value deeply on each evaluation, so binding what is not read costs most of the time).
    reads: Vec<String>,
    /// How deeply its comprehensions nest (for the cost bound, [`crate::cel_cost`]).
    depth: u32,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Expression").field(&self.source).finish()
    }
}

impl PartialEq for Expression {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Expression {
    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// Whether the byte at `index` of `text` is inside a string literal.
fn string_ranges(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut ranges = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        let quote = bytes[index];
        if quote == b'\'' || quote == b'"' {
            let start = index;
            index += 1;
            while index < bytes.len() && bytes[index] != quote {
                if bytes[index] == b'\\' {
                    index += 1;
                }
                index += 1;
            }
            ranges.push((start, index));
        }
        index += 1;
    }
    ranges
}

/// The start of the operand that ends at `end`: identifiers, dots and balanced (…) / […] groups.
fn operand_start(bytes: &[u8], end: usize) -> usize {
    let mut start = end;
    let mut depth = 0i32;
    while start > 0 {
        let c = bytes[start - 1];
        match c {
            b')' | b']' => depth += 1,
            b'(' | b'[' if depth > 0 => depth -= 1,
            b'(' | b'[' => break,
            _ if depth > 0 => {}
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' => {}
            _ => break,
        }
        start -= 1;
    }
    start
}

/// Rewrites the optional syntax into functions: `X.?name` → `__verdict_optional_field(X, 'name')`,
/// `X[?key]` → `__verdict_optional_field(X, key)`; a plain field selection after an optional one
/// (`X.?a.b`) stays optional, as in CEL.
fn rewrite_optional_fields(source: &str) -> String {
    let mut text = source.to_owned();
    for _ in 0..256 {
        let strings = string_ranges(&text);
        let in_string = |i: usize| strings.iter().any(|(s, e)| i > *s && i <= *e);
        let field = text.match_indices(".?").map(|(i, _)| i).find(|i| !in_string(*i));
        let index = text.match_indices("[?").map(|(i, _)| i).find(|i| !in_string(*i));
        let position = match (field, index) {
            (Some(f), Some(i)) => f.min(i),
            (Some(f), None) => f,
            (None, Some(i)) => i,
            (None, None) => break,
        };
        let bytes = text.as_bytes();
        let start = operand_start(bytes, position);
        let operand = text[start..position].to_owned();
        let (key, mut end) = if bytes[position] == b'.' {
            let name_start = position + 2;
            let name_end = text[name_start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(text.len(), |offset| name_start + offset);
            if name_end == name_start {
                break;
            }
            (format!("'{}'", &text[name_start..name_end]), name_end)
        } else {
            // `[?` … the matching `]`.
            let mut depth = 1;
            let mut cursor = position + 2;
            while cursor < bytes.len() && depth > 0 {
                match bytes[cursor] {
                    b'[' => depth += 1,
                    b']' => depth -= 1,
                    _ => {}
                }
                cursor += 1;
            }
            if depth != 0 {
                break;
            }
            (text[position + 2..cursor - 1].trim().to_owned(), cursor)
        };
        let replacement = format!("__verdict_optional_field({operand}, {key})");
        // A following plain `.field` (not a method call) stays optional.
        let rest = &text[end..];
        let mut tail = String::new();
        if let Some(after_dot) = rest.strip_prefix('.')
            && !after_dot.starts_with('?')
        {
            let ident_len =
                after_dot.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after_dot.len());
            let follows_call = after_dot[ident_len..].trim_start().starts_with('(');
            if ident_len > 0 && !follows_call {
                tail = format!(".?{}", &after_dot[..ident_len]);
                end += 1 + ident_len;
            }
        }
        text.replace_range(start..end, &format!("{replacement}{tail}"));
    }
    text
}

/// `a.?name`: the field as an optional.
fn optional_field(ftx: &FunctionContext, target: CelValue, key: CelValue) -> cel::ResolveResult {
    let _ = ftx;
    let target = match &target {
        CelValue::Opaque(_) => match <&OptionalValue>::try_from(&target) {
            Ok(optional) => match optional.value() {
                Some(inner) => inner.clone(),
                None => return Ok(CelValue::Opaque(Arc::new(OptionalValue::none()))),
            },
            Err(_) => target.clone(),
        },
        _ => target,
    };
    let found = match (&target, &key) {
        (CelValue::Map(map), CelValue::String(name)) => map.get(&Key::String(Arc::clone(name))).cloned(),
        (CelValue::Map(map), CelValue::Int(i)) => map.get(&Key::Int(*i)).cloned(),
        (CelValue::List(items), CelValue::Int(i)) => {
            usize::try_from(*i).ok().and_then(|i| items.get(i).cloned())
        }
        _ => None,
    };
    Ok(CelValue::Opaque(Arc::new(match found {
        Some(value) => OptionalValue::of(value),
        None => OptionalValue::none(),
    })))
}

/// Kyverno's data libraries, served from the data the run supplies ([`with_library`]): each call is
/// rewritten to verdict's function of the same meaning.
const LIBRARY_CALLS: [(&str, &str); 3] = [
    ("resource.List(", "__verdict_resource_list("),
    ("resource.Get(", "__verdict_resource_get("),
    ("image.GetMetadata(", "__verdict_image_metadata("),
];

fn rewrite_library_calls(source: &str) -> String {
    let mut text = source.to_owned();
    for (call, replacement) in LIBRARY_CALLS {
        let mut from = 0;
        while let Some(offset) = text[from..].find(call) {
            let at = from + offset;
            let preceded = at > 0 && {
                let c = text.as_bytes()[at - 1];
                c.is_ascii_alphanumeric() || c == b'_' || c == b'.'
            };
            if preceded {
                from = at + call.len();
                continue;
            }
            text.replace_range(at..at + call.len(), replacement);
            from = at + replacement.len();
        }
    }
    text
}

/// The data Kyverno's libraries read during one rule's evaluation: resources and image metadata.
type Library = (std::sync::Arc<Vec<Value>>, std::sync::Arc<Vec<Value>>);

thread_local! {
    static LIBRARY_DATA: std::cell::RefCell<Option<Library>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `resources` and `images` as the data of `resource.Get/List` and
/// `image.GetMetadata` (this thread, for the duration of `f`; evaluation is synchronous).
pub fn with_library<T>(
    resources: std::sync::Arc<Vec<Value>>,
    images: std::sync::Arc<Vec<Value>>,
    f: impl FnOnce() -> T,
) -> T {
    let previous = LIBRARY_DATA.with(|data| data.replace(Some((resources, images))));
    let result = f();
    LIBRARY_DATA.with(|data| *data.borrow_mut() = previous);
    result
}

fn library() -> Option<Library> {
    LIBRARY_DATA.with(|data| data.borrow().clone())
}

type Cluster = std::sync::Arc<dyn crate::engine::ClusterData + Send + Sync>;

thread_local! {
    static LIBRARY_CLUSTER: std::cell::RefCell<Option<Cluster>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `cluster` answering `resource.Get/List` (at admission: the API server, as Kyverno
/// reads it), on this thread for the duration of `f`.
pub fn with_cluster_library<T>(cluster: Cluster, f: impl FnOnce() -> T) -> T {
    let previous = LIBRARY_CLUSTER.with(|slot| slot.replace(Some(cluster)));
    let result = f();
    LIBRARY_CLUSTER.with(|slot| *slot.borrow_mut() = previous);
    result
}

fn cluster() -> Option<Cluster> {
    LIBRARY_CLUSTER.with(|slot| slot.borrow().clone())
}

/// The API path of `resource` (`/api/v1/namespaces/NS/configmaps[/NAME]`), or why the arguments cannot
/// name one: each part must be a plain name — an expression can carry object data, and `..` or `/`
/// must never steer the webhook's reads elsewhere.
pub fn api_path(
    api_version: &str,
    resource: &str,
    namespace: &str,
    name: Option<&str>,
) -> Result<String, String> {
    let plain = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'))
    };
    let version_parts: Vec<&str> = api_version.split('/').collect();
    let parts_ok = version_parts.iter().all(|p| plain(p))
        && plain(resource)
        && (namespace.is_empty() || plain(namespace))
        && name.is_none_or(plain);
    if !parts_ok {
        return Err(format!(
            "({api_version:?}, {resource:?}, {namespace:?}, {name:?}) does not name a resource"
        ));
    }
    let mut path = match version_parts.as_slice() {
        [version] => format!("/api/{version}"),
        [group, version] => format!("/apis/{group}/{version}"),
        _ => return Err(format!("{api_version:?} is not an apiVersion")),
    };
    if !namespace.is_empty() {
        path.push_str(&format!("/namespaces/{namespace}"));
    }
    path.push_str(&format!("/{resource}"));
    if let Some(name) = name {
        path.push_str(&format!("/{name}"));
    }
    Ok(path)
}

/// `resource.Get/List` from the cluster: the API's answer, or the rule's error.
fn from_cluster(
    ftx: &FunctionContext,
    cluster: &Cluster,
    (api_version, resource, namespace, name): (&str, &str, &str, Option<&str>),
) -> cel::ResolveResult {
    let path = api_path(api_version, resource, namespace, name).map_err(|err| ftx.error(err))?;
    let found = cluster.api_get(&path).map_err(|err| ftx.error(format!("GET {path}: {err}")))?;
    cel::to_value(found).map_err(|err| ftx.error(err.to_string()))
}

fn text_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// Whether a resource is of `api_version` and the plural `resource` (`pods`, `horizontalpodautoscalers`).
fn is_resource(item: &Value, api_version: &str, resource: &str) -> bool {
    text_at(item, "/apiVersion") == api_version
        && crate::vpol::kind_of(resource).eq_ignore_ascii_case(text_at(item, "/kind"))
}

fn no_data(ftx: &FunctionContext) -> cel::ExecutionError {
    ftx.error("Kyverno's resource/image CEL libraries have no data here")
}

/// `resource.List(apiVersion, resource, namespace)`: `{items: [...]}` of the run's data.
fn resource_list(
    ftx: &FunctionContext,
    api_version: Arc<String>,
    resource: Arc<String>,
    namespace: Arc<String>,
) -> cel::ResolveResult {
    if library().is_none()
        && let Some(cluster) = cluster()
    {
        return from_cluster(ftx, &cluster, (&api_version, &resource, &namespace, None));
    }
    let (resources, _) = library().ok_or_else(|| no_data(ftx))?;
    let items: Vec<&Value> = resources
        .iter()
        .filter(|item| is_resource(item, &api_version, &resource))
        .filter(|item| namespace.is_empty() || text_at(item, "/metadata/namespace") == namespace.as_str())
        .collect();
    cel::to_value(serde_json::json!({"items": items})).map_err(|err| ftx.error(err.to_string()))
}

/// `resource.Get(apiVersion, resource, namespace, name)`: one resource of the run's data.
fn resource_get(
    ftx: &FunctionContext,
    api_version: Arc<String>,
    resource: Arc<String>,
    namespace: Arc<String>,
    name: Arc<String>,
) -> cel::ResolveResult {
    if library().is_none()
        && let Some(cluster) = cluster()
    {
        return from_cluster(ftx, &cluster, (&api_version, &resource, &namespace, Some(&name)));
    }
    let (resources, _) = library().ok_or_else(|| no_data(ftx))?;
    let found = resources.iter().find(|item| {
        is_resource(item, &api_version, &resource)
            && text_at(item, "/metadata/name") == name.as_str()
            && (namespace.is_empty() || text_at(item, "/metadata/namespace") == namespace.as_str())
    });
    match found {
        Some(item) => cel::to_value(item).map_err(|err| ftx.error(err.to_string())),
        None => Err(
            ftx.error(format!("resource.Get: no {resource} {namespace}/{name} in the data given to verdict"))
        ),
    }
}

/// `image.GetMetadata(reference)`: the image's metadata from the run's data (a test's context file).
fn image_metadata(ftx: &FunctionContext, reference: Arc<String>) -> cel::ResolveResult {
    let (_, images) = library().ok_or_else(|| no_data(ftx))?;
    match images.iter().find(|item| text_at(item, "/image") == reference.as_str()) {
        Some(item) => cel::to_value(item).map_err(|err| ftx.error(err.to_string())),
        None => Err(
            ftx.error(format!("image.GetMetadata: no metadata for {reference} in the data given to verdict"))
        ),
    }
}

/// `x.orValue(d)`: the optional's value or `d`; a value that is not an optional is itself (Kyverno's
/// policies call it on fields that are sometimes plain values, and Kyverno accepts that).
fn or_value(This(this): This<CelValue>, other: CelValue) -> cel::ResolveResult {
    match <&OptionalValue>::try_from(&this) {
        Ok(optional) => Ok(optional.value().cloned().unwrap_or(other)),
        Err(_) => Ok(this),
    }
}

/// `x.hasValue()`: whether the optional holds a value; a plain value does.
fn has_value(This(this): This<CelValue>) -> cel::ResolveResult {
    match <&OptionalValue>::try_from(&this) {
        Ok(optional) => Ok(CelValue::Bool(optional.value().is_some())),
        Err(_) => Ok(CelValue::Bool(true)),
    }
}

/// Compiles `source` (CEL), or says why not.
pub fn compile(source: &str) -> Result<Expression, String> {
    let rewritten = if source.contains(".?") || source.contains("[?") {
        rewrite_optional_fields(source)
    } else {
        source.to_owned()
    };
    let rewritten = rewrite_library_calls(&rewritten);
    let program = Program::compile(&rewritten).map_err(|err| err.to_string())?;
    let reads = program.references().variables().into_iter().map(str::to_owned).collect();
    let depth = crate::cel_cost::comprehension_depth(program.expression());
    Ok(Expression { source: source.to_owned(), program, reads, depth })
}

thread_local! {
    /// Compiled expressions: policies repeat the same expressions for every resource.
    static COMPILED: std::cell::RefCell<std::collections::HashMap<String, std::rc::Rc<Expression>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The compiled `source`, from this thread's cache when it was compiled before.
pub fn compile_cached(source: &str) -> Result<std::rc::Rc<Expression>, String> {
    if let Some(found) = COMPILED.with(|cache| cache.borrow().get(source).cloned()) {
        return Ok(found);
    }
    let compiled = std::rc::Rc::new(compile(source)?);
    COMPILED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(source.to_owned(), std::rc::Rc::clone(&compiled));
    });
    Ok(compiled)
}

/// The variables an expression reads.
#[derive(Debug, Clone, Default)]
pub struct Activation {
    /// `name → value` pairs (`object`, `oldObject`, `request`, `params`, `namespaceObject`, …).
    pub values: Vec<(String, Value)>,
}

fn root() -> Context<'static> {
    let mut context = Context::default().with_all();
    context.add_function("__verdict_optional_field", optional_field);
    context.add_function("orValue", or_value);
    context.add_function("hasValue", has_value);
    context.add_function("__verdict_resource_list", resource_list);
    context.add_function("__verdict_resource_get", resource_get);
    context.add_function("__verdict_image_metadata", image_metadata);
    context.add_function("image", crate::cel_image_ref::image);
    context.add_function("isImage", crate::cel_image_ref::is_image);
    context.add_function("registry", crate::cel_image_ref::registry);
    context.add_function("repository", crate::cel_image_ref::repository);
    context.add_function("tag", crate::cel_image_ref::tag);
    context.add_function("digest", crate::cel_image_ref::digest);
    context.add_function("identifier", crate::cel_image_ref::identifier);
    context.add_function("containsDigest", crate::cel_image_ref::contains_digest);
    context.add_function("verifyImageSignatures", crate::cel_images::verify_image_signatures);
    context.add_function("verifyAttestationSignatures", crate::cel_images::verify_attestation_signatures);
    context.add_function("extractPayload", crate::cel_images::extract_payload);
    context.add_function("payload", crate::cel_images::extract_payload);
    context
}

thread_local! {
    /// The functions (the Kubernetes libraries and verdict's), registered once per thread; each
    /// evaluation adds its variables in a child scope.
    static ROOT: Context<'static> = root();
}

/// Variables converted to CEL values once, for the many expressions of a rule.
#[derive(Clone, Default)]
pub struct Bindings {
    /// Name, value, and the length of the longest collection in it (for the cost bound).
    values: Vec<(String, CelValue, u64)>,
}

impl Bindings {
    /// The bindings of `activation`.
    pub fn new(activation: &Activation) -> Result<Self, String> {
        let mut bindings = Bindings::default();
        for (name, value) in &activation.values {
            bindings.set(name, value)?;
        }
        Ok(bindings)
    }

    /// Binds `name` to `value` (replacing an earlier binding).
    pub fn set(&mut self, name: &str, value: &Value) -> Result<(), String> {
        let converted = cel::to_value(value).map_err(|err| format!("variable {name}: {err}"))?;
        self.values.retain(|(n, _, _)| n != name);
        self.values.push((name.to_owned(), converted, crate::cel_cost::longest_collection(value)));
        Ok(())
    }
}

/// The time one expression may take.
pub const BUDGET: std::time::Duration = std::time::Duration::from_millis(250);

static EVALUATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

static EVALUATION_NANOS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many CEL expressions this process has evaluated (for `verdict bench apply`).
pub fn evaluations() -> u64 {
    EVALUATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

/// The time spent evaluating them — binding the variables an expression reads, running the program,
/// converting its result — in nanoseconds (for `verdict bench apply`).
pub fn evaluation_nanos() -> u64 {
    EVALUATION_NANOS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Evaluates `expression` with `bindings` to a JSON value.
pub fn evaluate_in(expression: &Expression, bindings: &Bindings) -> Result<Value, String> {
    EVALUATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let read = || bindings.values.iter().filter(|(name, _, _)| expression.reads.contains(name));
    if expression.depth > 0 {
        let longest = read().map(|(_, _, longest)| *longest).max().unwrap_or(0);
        let estimated = crate::cel_cost::estimate(expression.depth, longest);
        if estimated > crate::cel_cost::COST_LIMIT {
            return Err(format!(
                "{}: estimated cost {estimated} exceeds the budget of {} (comprehensions nested {} deep over a list of {longest})",
                expression.source,
                crate::cel_cost::COST_LIMIT,
                expression.depth
            ));
        }
    }
    let started = std::time::Instant::now();
    let value = ROOT.with(|root| {
        let mut scope = root.new_inner_scope();
        for (name, value, _) in read() {
            scope.add_variable_from_value(name.clone(), value.clone());
        }
        expression.program.execute(&scope)
    });
    // An expensive expression is an error (which fails closed), as Kubernetes' cost limit makes it.
    if started.elapsed() > BUDGET {
        return Err(format!("{}: took longer than the evaluation budget of {BUDGET:?}", expression.source));
    }
    let value = value.map_err(|err| match unsupported_library(&expression.source) {
        Some(why) => format!("{}: {why}", expression.source),
        None => format!("{}: {err}", expression.source),
    })?;
    let json = to_json(&value).map_err(|err| format!("{}: {err}", expression.source));
    let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    EVALUATION_NANOS.fetch_add(nanos, std::sync::atomic::Ordering::Relaxed);
    json
}

/// Why an expression that uses a library verdict does not provide cannot be evaluated.
pub fn unsupported_library(source: &str) -> Option<&'static str> {
    let uses = |prefix: &str| {
        source.match_indices(prefix).any(|(i, _)| {
            i == 0
                || !source.as_bytes()[i - 1].is_ascii_alphanumeric()
                    && source.as_bytes()[i - 1] != b'_'
                    && source.as_bytes()[i - 1] != b'.'
        })
    };
    if uses("authorizer") {
        Some("`authorizer` needs the API server's authorization checks, which are not available to verdict")
    } else if uses("http.") {
        Some("Kyverno's `http` CEL library is not supported by verdict")
    } else if uses("resource.") && !uses("resource.List(") && !uses("resource.Get(") {
        Some("Kyverno's `resource` CEL library supports only resource.Get and resource.List in verdict")
    } else if uses("image.") && !uses("image.GetMetadata(") {
        Some("Kyverno's `image` CEL library supports only image.GetMetadata in verdict")
    } else if uses("globalContext.") {
        Some("Kyverno's `globalContext` CEL library is not supported by verdict")
    } else {
        None
    }
}

/// Evaluates `expression` with `bindings`; it must yield a boolean.
pub fn evaluate_bool_in(expression: &Expression, bindings: &Bindings) -> Result<bool, String> {
    match evaluate_in(expression, bindings)? {
        Value::Bool(b) => Ok(b),
        other => Err(format!("{} must evaluate to a bool, not {other}", expression.source)),
    }
}

/// Evaluates `expression` to a JSON value.
pub fn evaluate(expression: &Expression, activation: &Activation) -> Result<Value, String> {
    evaluate_in(expression, &Bindings::new(activation)?)
}

/// Evaluates `expression`, which must yield a boolean.
pub fn evaluate_bool(expression: &Expression, activation: &Activation) -> Result<bool, String> {
    evaluate_bool_in(expression, &Bindings::new(activation)?)
}

fn to_json(value: &CelValue) -> Result<Value, String> {
    Ok(match value {
        CelValue::Null => Value::Null,
        CelValue::Bool(b) => Value::Bool(*b),
        CelValue::Int(i) => Value::from(*i),
        CelValue::UInt(u) => Value::from(*u),
        CelValue::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        CelValue::String(s) => Value::String(s.to_string()),
        CelValue::List(items) => Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        CelValue::Map(map) => {
            let mut out = serde_json::Map::new();
            for (key, item) in map.map.iter() {
                let key = match key {
                    Key::String(s) => s.to_string(),
                    Key::Int(i) => i.to_string(),
                    Key::Uint(u) => u.to_string(),
                    Key::Bool(b) => b.to_string(),
                };
                out.insert(key, to_json(item)?);
            }
            Value::Object(out)
        }
        CelValue::Opaque(_) => match <&OptionalValue>::try_from(value) {
            Ok(optional) => match optional.value() {
                Some(inner) => to_json(inner)?,
                None => Value::Null,
            },
            Err(_) => return Err("the expression yields a value that is not JSON".to_owned()),
        },
        other => Value::String(format!("{other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(source: &str, object: Value) -> Result<Value, String> {
        let expression = compile(source)?;
        evaluate(&expression, &Activation { values: vec![("object".into(), object)] })
    }

    /// An expression whose comprehensions would multiply past the cost limit over this data is an error
    /// before it runs; the same expression over small data, and a flat one over big data, run.
    #[test]
    fn expensive_expressions_are_refused_before_they_run() {
        let nested = "object.items.all(a, object.items.all(b, object.items.exists(c, c == a + b) || true))";
        let big = json!({"items": (0..200).collect::<Vec<_>>()});
        let err = run(nested, big.clone()).unwrap_err();
        assert!(err.contains("estimated cost 8000000 exceeds the budget of 1000000"), "{err}");
        assert!(err.contains("nested 3 deep over a list of 200"), "{err}");
        assert_eq!(run(nested, json!({"items": [1, 2, 3]})), Ok(json!(true)));
        assert_eq!(run("object.items.all(a, a >= 0)", big), Ok(json!(true)));
        // Only the variables an expression reads count: a big `params` does not make `object` costly.
        let expression = compile("object.items.all(a, object.items.all(b, a + b >= 0))").unwrap();
        let activation = Activation {
            values: vec![
                ("object".into(), json!({"items": [1, 2]})),
                ("params".into(), json!({"huge": (0..5000).collect::<Vec<_>>()})),
            ],
        };
        assert_eq!(evaluate(&expression, &activation), Ok(json!(true)));
    }

    #[test]
    fn kubernetes_expressions() {
        let pod = json!({"metadata": {"name": "p", "labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:latest", "resources": {"limits": {"memory": "1Gi"}}}]}});
        assert_eq!(
            run("object.spec.containers.all(c, !c.image.endsWith(':latest'))", pod.clone()),
            Ok(json!(false))
        );
        assert_eq!(
            run("has(object.metadata.labels) && 'app' in object.metadata.labels", pod.clone()),
            Ok(json!(true))
        );
        assert_eq!(run("object.?spec.?hostNetwork.orValue(false) == false", pod.clone()), Ok(json!(true)));
        assert_eq!(
            run(
                "object.spec.containers.all(c, c.?securityContext.?privileged.orValue(false) == false)",
                pod.clone()
            ),
            Ok(json!(true))
        );
        assert_eq!(run("object.?metadata.?labels.?app.hasValue()", pod.clone()), Ok(json!(true)));
        assert_eq!(run("object.metadata.labels[?'app'].orValue('-')", pod.clone()), Ok(json!("x")));
        assert_eq!(run("object.metadata.labels[?'team'].orValue('-')", pod.clone()), Ok(json!("-")));
        assert_eq!(
            run("object.spec.containers[0].?securityContext.privileged.orValue(false)", pod.clone()),
            Ok(json!(false))
        );
        assert_eq!(run("object.?metadata.?annotations['x'].orValue('none')", pod.clone()), Ok(json!("none")));
        assert_eq!(
            run(
                "object.spec.containers.exists(c, quantity(c.resources.limits.memory).isGreaterThan(quantity('512Mi')))",
                pod.clone()
            ),
            Ok(json!(true))
        );
        assert_eq!(
            run("object.metadata.name + '-' + string(size(object.spec.containers))", pod.clone()),
            Ok(json!("p-1"))
        );
        assert!(run("object.spec.nope == 1", pod.clone()).is_err());
        assert!(compile("object.spec.(").is_err());
        // `.?` inside a string literal is text.
        assert_eq!(run("'a.?b'", pod), Ok(json!("a.?b")));
    }

    #[test]
    fn unsupported_libraries_say_so() {
        let failure =
            run("authorizer.group('').resource('pods').check('get').allowed()", json!({})).unwrap_err();
        assert!(failure.contains("authorization checks"), "{failure}");
        let failure = run("resource.Post('v1', 'pods', 'x', {}) != null", json!({})).unwrap_err();
        assert!(failure.contains("`resource` CEL library"), "{failure}");
        assert_eq!(unsupported_library("object.image.size()"), None);
        assert_eq!(unsupported_library("my_resource.x"), None);
    }

    #[test]
    fn library_calls_read_the_runs_data() {
        assert_eq!(
            rewrite_library_calls("resource.List('v1', 'pods', 'ns').items"),
            "__verdict_resource_list('v1', 'pods', 'ns').items"
        );
        assert_eq!(rewrite_library_calls("my_resource.List(1)"), "my_resource.List(1)");
        let resources = std::sync::Arc::new(vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "shop"}, "data": {"k": "v"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "other"}}),
        ]);
        let images = std::sync::Arc::new(vec![json!({"image": "nginx:1", "config": {"User": "nginx"}})]);
        let run = |source: &str| {
            let expression = compile(source)?;
            with_library(resources.clone(), images.clone(), || evaluate(&expression, &Activation::default()))
        };
        assert_eq!(run("resource.List('v1', 'configmaps', 'shop').items.size()"), Ok(json!(1)));
        assert_eq!(run("resource.List('v1', 'configmaps', '').items.size()"), Ok(json!(2)));
        assert_eq!(run("resource.Get('v1', 'configmaps', 'shop', 'a').data.k"), Ok(json!("v")));
        assert!(
            run("resource.Get('v1', 'configmaps', 'shop', 'zzz')")
                .unwrap_err()
                .contains("no configmaps shop/zzz")
        );
        assert_eq!(run("image.GetMetadata('nginx:1').config.User"), Ok(json!("nginx")));
        assert!(run("image.GetMetadata('redis:1')").is_err());
        // Without data, no answer.
        assert!(
            evaluate(&compile("resource.List('v1', 'configmaps', '')").unwrap(), &Activation::default())
                .is_err()
        );
    }

    #[test]
    fn optional_rewrite() {
        assert_eq!(rewrite_optional_fields("a.?b"), "__verdict_optional_field(a, 'b')");
        assert_eq!(
            rewrite_optional_fields("x.y.?b.?c.orValue(1)"),
            "__verdict_optional_field(__verdict_optional_field(x.y, 'b'), 'c').orValue(1)"
        );
        assert_eq!(rewrite_optional_fields("f(a).?b"), "__verdict_optional_field(f(a), 'b')");
        assert_eq!(
            rewrite_optional_fields("m[?'k'].orValue(1)"),
            "__verdict_optional_field(m, 'k').orValue(1)"
        );
        assert_eq!(
            rewrite_optional_fields("c.?s.a.orValue(true)"),
            "__verdict_optional_field(__verdict_optional_field(c, 's'), 'a').orValue(true)"
        );
    }
}

#[cfg(test)]
mod library_tests {
    use serde_json::{Value, json};

    use super::*;

    fn eval(source: &str) -> Result<Value, String> {
        evaluate(&compile(source)?, &Activation::default())
    }

    /// Examples from the Kubernetes CEL reference (kubernetes.io/docs/reference/using-api/cel), one or
    /// more per library function.
    #[test]
    fn kubernetes_library_examples() {
        let cases: &[(&str, Value)] = &[
            // Strings.
            ("'hello'.charAt(1)", json!("e")),
            ("'hello mellow'.indexOf('ello')", json!(1)),
            ("'hello mellow'.lastIndexOf('ello')", json!(7)),
            ("'TacoCat'.lowerAscii()", json!("tacocat")),
            ("'TacoCat'.upperAscii()", json!("TACOCAT")),
            ("'hello hello'.replace('he', 'we')", json!("wello wello")),
            ("'hello hello hello'.split(' ')", json!(["hello", "hello", "hello"])),
            ("'tacocat'.substring(4)", json!("cat")),
            ("'tacocat'.substring(0, 4)", json!("taco")),
            ("'  \\ttrim\\n    '.trim()", json!("trim")),
            ("['hello', 'mellow'].join(' ')", json!("hello mellow")),
            // Lists.
            ("[1, 2, 3].isSorted()", json!(true)),
            ("[1, 2, 3].sum()", json!(6)),
            ("[1, 2, 3].max()", json!(3)),
            ("[1, 2, 3].min()", json!(1)),
            ("[1, 2, 2, 3].indexOf(2)", json!(1)),
            ("[1, 2, 2, 3].lastIndexOf(2)", json!(2)),
            // Sets.
            ("sets.contains([1, 2, 3, 4], [2, 3])", json!(true)),
            ("sets.equivalent([1, 2, 3], [3, 2, 1])", json!(true)),
            ("sets.intersects([1, 2, 3], [3, 4])", json!(true)),
            // Regex.
            ("'abc 123'.find('[0-9]+')", json!("123")),
            ("'123 abc 456'.findAll('[0-9]+')", json!(["123", "456"])),
            // URLs.
            ("url('https://example.com:80/').getHost()", json!("example.com:80")),
            ("url('https://example.com/path').getScheme()", json!("https")),
            ("url('https://example.com/path').getEscapedPath()", json!("/path")),
            ("isURL('https://example.com')", json!(true)),
            // IP and CIDR.
            ("ip('10.0.0.1').family()", json!(4)),
            ("isIP('::1')", json!(true)),
            ("cidr('10.0.0.0/8').containsIP(ip('10.1.2.3'))", json!(true)),
            ("cidr('10.0.0.0/8').containsIP(ip('192.168.0.1'))", json!(false)),
            ("ip('127.0.0.1').isLoopback()", json!(true)),
            // Quantities.
            ("quantity('1Gi').isGreaterThan(quantity('1G'))", json!(true)),
            ("quantity('500m').compareTo(quantity('1'))", json!(-1)),
            ("isQuantity('1.5Mi')", json!(true)),
            ("quantity('1k').asInteger()", json!(1000)),
            // Semver.
            ("semver('1.2.3').major()", json!(1)),
            ("semver('1.2.3').isLessThan(semver('1.10.0'))", json!(true)),
            ("isSemver('1.0.0-rc.1')", json!(true)),
            // Format.
            ("'%s is %d'.format(['x', 1])", json!("x is 1")),
        ];
        let mut missing = Vec::new();
        for (source, expected) in cases {
            match eval(source) {
                Ok(found) if found == *expected => {}
                other => missing.push(format!("{source}: expected {expected}, got {other:?}")),
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }
}
