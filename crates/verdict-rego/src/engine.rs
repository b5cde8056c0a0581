//! The one engine set-up every Rego evaluation in verdict uses (CLI, `policy test`, the conformance
//! harness), so a policy behaves the same wherever it runs.

use std::num::{NonZeroU32, NonZeroUsize};

use regorus::unstable::{Expr, Literal, LiteralStmt, Module, Ref};
use regorus::{Engine, PolicyLengthConfig};

use crate::ast::{Visitor, apply_edits, call_name, walk_module};
use crate::builtins;
use crate::metadata;

/// regorus refuses lines longer than 1,024 columns by default; policies legitimately embed long PEM
/// certificates and JWTs on one line. The other limits stay generous but finite.
fn length_limits() -> PolicyLengthConfig {
    PolicyLengthConfig {
        max_col: NonZeroU32::new(1 << 20).unwrap_or(NonZeroU32::MIN),
        max_file_bytes: NonZeroUsize::new(8 << 20).unwrap_or(NonZeroUsize::MIN),
        max_lines: NonZeroUsize::new(200_000).unwrap_or(NonZeroUsize::MIN),
    }
}

/// A fresh regorus engine: Rego v1 syntax, verdict's extra builtins registered, no network builtins
/// (regorus is built without its `http` feature, so `http.send` is an unknown function).
pub fn new_engine() -> Engine {
    let mut engine = Engine::new();
    engine.set_rego_v0(false);
    engine.set_policy_length_config(length_limits());
    builtins::register(&mut engine);
    engine
}

/// Adds a policy module the way verdict always does; see [`add_policies`].
pub fn add_policy(engine: &mut Engine, file: &str, source: &str) -> anyhow::Result<String> {
    let mut packages = add_policies(engine, &[(file, source)])?;
    packages.pop().ok_or_else(|| anyhow::anyhow!("{file}: no module was added"))
}

/// Adds policy modules that belong together (they may share packages), returning each one's package.
/// Two rewrites happen first, each keeping lines where they are: calls of verdict's own builtins in
/// OPA's output-argument form (`crypto.sha256(x, out)`, a statement) become `out = crypto.sha256(x)`,
/// which regorus understands only for its built-in builtins; and `rego.metadata.chain()` /
/// `rego.metadata.rule()` become the annotations that apply where they are written (they may come from
/// any of the modules, hence all at once).
pub fn add_policies(engine: &mut Engine, files: &[(&str, &str)]) -> anyhow::Result<Vec<String>> {
    let mut sources: Vec<String> = files
        .iter()
        .map(|(file, source)| desugar_output_arguments(file, source).unwrap_or_else(|| (*source).to_owned()))
        .collect();
    // Annotations are read (and their YAML checked, as OPA checks it) whenever there are any.
    if sources.iter().any(|source| source.contains("METADATA") || source.contains("rego.metadata.")) {
        let modules: Vec<Option<Ref<Module>>> =
            files.iter().zip(&sources).map(|((file, _), source)| parse_module(file, source)).collect();
        let mut annotations = Vec::new();
        for ((file, _), (source, module)) in files.iter().zip(sources.iter().zip(&modules)) {
            if let Some(module) = module {
                annotations.push(metadata::annotations(file, source, module)?);
            }
        }
        let mut next = 0;
        for (source, module) in sources.iter_mut().zip(&modules) {
            let Some(module) = module else { continue };
            if let Some(rewritten) = metadata::rewrite(source, module, &annotations[next], &annotations) {
                *source = rewritten;
            }
            next += 1;
        }
    }
    files
        .iter()
        .zip(sources)
        .map(|((file, _), source)| engine.add_policy((*file).to_owned(), source))
        .collect()
}

/// `source` parsed on its own, when it parses (otherwise the real load reports the error).
fn parse_module(file: &str, source: &str) -> Option<Ref<Module>> {
    let mut scratch = Engine::new();
    scratch.set_policy_length_config(length_limits());
    scratch.add_policy(file.to_owned(), source.to_owned()).ok()?;
    scratch.get_modules().first().cloned()
}

struct OutputCalls {
    edits: Vec<(usize, usize, String)>,
}

impl Visitor for OutputCalls {
    fn statement(&mut self, statement: &LiteralStmt) {
        let Literal::Expr { expr, .. } = &statement.literal else { return };
        let Expr::Call { span, fcn, params, .. } = expr.as_ref() else { return };
        let Some(nargs) = builtins::arity(&call_name(fcn)) else { return };
        let nargs = usize::from(nargs);
        if params.len() != nargs + 1 {
            return;
        }
        // The inputs are everything between the opening parenthesis and the output variable, taken from
        // the source as written (regorus's spans of composite literals do not always cover them whole).
        let contents = span.source.contents();
        let fcn_end = fcn.span().end as usize;
        let output = &params[nargs];
        let output_start = output.span().start as usize;
        let Some(between) = contents.get(fcn_end..output_start) else { return };
        let Some(open) = between.find('(') else { return };
        let inputs = between[open + 1..].trim_end().trim_end_matches(',').trim_end();
        let replacement = format!("{} = {}({inputs})", source_text(output), fcn.span().text());
        self.edits.push((span.start as usize, span.end as usize, replacement));
    }
}

/// The source text of an expression. regorus's spans of string literals cover only their contents, so
/// the surrounding quotes (or backticks) are taken back in.
fn source_text(expr: &Expr) -> &str {
    let span = expr.span();
    if matches!(expr, Expr::String { .. } | Expr::RawString { .. }) {
        let contents = span.source.contents();
        let (start, end) = (span.start as usize, span.end as usize);
        if start > 0
            && let Some(quoted) = contents.get(start - 1..end + 1)
            && (quoted.starts_with('"') && quoted.ends_with('"')
                || quoted.starts_with('`') && quoted.ends_with('`'))
        {
            return quoted;
        }
    }
    span.text()
}

fn desugar_output_arguments(file: &str, source: &str) -> Option<String> {
    if !builtins::all().any(|(name, _, _)| source.contains(name)) {
        return None;
    }
    let module = parse_module(file, source)?;
    let mut calls = OutputCalls { edits: Vec::new() };
    walk_module(&module, &mut calls);
    if calls.edits.is_empty() {
        return None;
    }
    let text = apply_edits(source, calls.edits);
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_argument_calls_of_extensions_are_rewritten() {
        let source = "package t\np := x if {\n\tcrypto.md5(\"a\", x)\n}\nq := crypto.sha1(\"b\")\n";
        let rewritten = desugar_output_arguments("t.rego", source).unwrap();
        assert!(rewritten.contains("x = crypto.md5(\"a\")"), "{rewritten}");
        assert!(rewritten.contains("q := crypto.sha1(\"b\")"), "{rewritten}");
        let mut engine = new_engine();
        add_policy(&mut engine, "t.rego", source).unwrap();
        let p = engine.eval_rule("data.t.p".to_owned()).unwrap();
        assert_eq!(p, regorus::Value::from("0cc175b9c0f1b6a831c399e269772661"));
    }

    #[test]
    fn sources_without_extensions_are_untouched() {
        assert!(desugar_output_arguments("t.rego", "package t\np := count([1], x)\n").is_none());
        assert!(desugar_output_arguments("t.rego", "package t\np := crypto.md5(\"a\")\n").is_none());
    }
}
