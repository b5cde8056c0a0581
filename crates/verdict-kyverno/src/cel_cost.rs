//! A cost bound checked before an expression runs. The `cel` crate cannot stop an evaluation midway, so
//! what Kubernetes enforces with its cost limit is estimated here from the two things that make an
//! expression expensive: how deeply its comprehensions (`all`, `exists`, `map`, `filter`, …) nest, and
//! how long the lists they can range over are — the longest list in the data the expression reads.
//! `longest ^ depth` iterations above [`COST_LIMIT`] is an error before anything runs (which fails the
//! rule, closed), as Kubernetes refuses an expression whose estimated cost exceeds its per-call limit.

use kube_cel::cel::IdedExpr;
use kube_cel::cel::common::ast::{EntryExpr, Expr};
use serde_json::Value;

/// The most comprehension iterations an expression may be estimated to need (Kubernetes' per-call
/// cost limit is 1,000,000 units, about one per iteration step).
pub const COST_LIMIT: u64 = 1_000_000;

/// How deeply comprehensions nest in `expression` (0: none).
pub fn comprehension_depth(expression: &IdedExpr) -> u32 {
    let children = |expressions: &mut dyn Iterator<Item = &IdedExpr>| {
        expressions.map(comprehension_depth).max().unwrap_or(0)
    };
    match &expression.expr {
        Expr::Comprehension(comprehension) => {
            let range = comprehension_depth(&comprehension.iter_range);
            let body = [&comprehension.loop_cond, &comprehension.loop_step]
                .into_iter()
                .map(comprehension_depth)
                .max()
                .unwrap_or(0);
            let rest = [&comprehension.accu_init, &comprehension.result]
                .into_iter()
                .map(comprehension_depth)
                .max()
                .unwrap_or(0);
            range.max(body + 1).max(rest)
        }
        Expr::Call(call) => children(&mut call.target.as_deref().into_iter().chain(call.args.iter())),
        Expr::List(list) => children(&mut list.elements.iter()),
        Expr::Map(map) => children(&mut map.entries.iter().flat_map(|entry| match &entry.expr {
            EntryExpr::MapEntry(entry) => vec![&entry.key, &entry.value],
            EntryExpr::StructField(field) => vec![&field.value],
        })),
        Expr::Struct(structure) => {
            children(&mut structure.entries.iter().flat_map(|entry| match &entry.expr {
                EntryExpr::MapEntry(entry) => vec![&entry.key, &entry.value],
                EntryExpr::StructField(field) => vec![&field.value],
            }))
        }
        Expr::Select(select) => comprehension_depth(&select.operand),
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => 0,
    }
}

/// The length of the longest list (or map, or string, which comprehensions and string functions range
/// over) anywhere in `value`.
pub fn longest_collection(value: &Value) -> u64 {
    match value {
        Value::Array(items) => {
            (items.len() as u64).max(items.iter().map(longest_collection).max().unwrap_or(0))
        }
        Value::Object(fields) => {
            (fields.len() as u64).max(fields.values().map(longest_collection).max().unwrap_or(0))
        }
        _ => 0,
    }
}

/// The estimated iterations of an expression of comprehension `depth` over data whose longest list
/// has `longest` items, saturating.
pub fn estimate(depth: u32, longest: u64) -> u64 {
    if depth == 0 {
        return 1;
    }
    longest.max(1).saturating_pow(depth)
}

#[cfg(test)]
mod tests {
    use kube_cel::cel::Program;
    use serde_json::json;

    use super::*;

    fn depth(source: &str) -> u32 {
        comprehension_depth(Program::compile(source).unwrap().expression())
    }

    #[test]
    fn nesting_is_counted_where_it_multiplies() {
        assert_eq!(depth("object.spec.replicas < 5"), 0);
        assert_eq!(depth("object.spec.containers.all(c, c.image != '')"), 1);
        // Two comprehensions side by side cost the sum, not the product: depth 1.
        assert_eq!(depth("object.a.all(x, x > 0) && object.b.exists(y, y == 1)"), 1);
        assert_eq!(depth("object.a.all(x, object.b.exists(y, y == x))"), 2);
        assert_eq!(depth("object.a.map(x, object.b.map(y, object.c.filter(z, z == x + y)))"), 3);
        // A comprehension over another's result runs after it: no multiplication.
        assert_eq!(depth("object.a.filter(x, x > 0).all(y, y < 9)"), 1);
        assert_eq!(depth("size([object.a.all(x, x > 0)]) == 1"), 1);
    }

    #[test]
    fn the_estimate_grows_with_the_longest_list_and_the_nesting() {
        let data = json!({"a": [1, 2, 3], "b": {"c": (0..500).collect::<Vec<_>>()}});
        assert_eq!(longest_collection(&data), 500);
        assert_eq!(estimate(0, 500), 1);
        assert_eq!(estimate(2, 500), 250_000);
        assert!(estimate(3, 500) > COST_LIMIT);
        assert_eq!(estimate(40, u64::MAX), u64::MAX);
    }
}
