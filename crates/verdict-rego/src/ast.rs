//! A read-only walk over regorus's parsed modules (its `unstable` AST, pinned with the exact regorus
//! version). Used to check builtins at load time, to desugar output-argument calls of verdict's builtins,
//! and by `policy lint`.

use regorus::unstable::{Expr, Literal, LiteralStmt, Module, Query, Rule, RuleHead};

/// Receives every statement and expression of a module, parents before children.
pub trait Visitor {
    /// Called for every statement (a literal with its `with` modifiers).
    fn statement(&mut self, _statement: &LiteralStmt) {}
    /// Called for every expression.
    fn expression(&mut self, _expression: &Expr) {}
}

/// Walks every rule of `module`.
pub fn walk_module(module: &Module, visitor: &mut impl Visitor) {
    for rule in &module.policy {
        walk_rule(rule, visitor);
    }
}

/// Walks one rule: its head, its default value, its bodies.
pub fn walk_rule(rule: &Rule, visitor: &mut impl Visitor) {
    match rule {
        Rule::Spec { head, bodies, .. } => {
            match head {
                RuleHead::Compr { refr, assign, .. } => {
                    walk_expr(refr, visitor);
                    if let Some(assign) = assign {
                        walk_expr(&assign.value, visitor);
                    }
                }
                RuleHead::Set { refr, key, .. } => {
                    walk_expr(refr, visitor);
                    if let Some(key) = key {
                        walk_expr(key, visitor);
                    }
                }
                RuleHead::Func { refr, args, assign, .. } => {
                    walk_expr(refr, visitor);
                    args.iter().for_each(|arg| walk_expr(arg, visitor));
                    if let Some(assign) = assign {
                        walk_expr(&assign.value, visitor);
                    }
                }
            }
            for body in bodies {
                if let Some(assign) = &body.assign {
                    walk_expr(&assign.value, visitor);
                }
                walk_query(&body.query, visitor);
            }
        }
        Rule::Default { refr, args, value, .. } => {
            walk_expr(refr, visitor);
            args.iter().for_each(|arg| walk_expr(arg, visitor));
            walk_expr(value, visitor);
        }
    }
}

/// Walks the statements of a query.
pub fn walk_query(query: &Query, visitor: &mut impl Visitor) {
    for statement in &query.stmts {
        visitor.statement(statement);
        match &statement.literal {
            Literal::SomeVars { .. } => {}
            Literal::SomeIn { key, value, collection, .. } => {
                if let Some(key) = key {
                    walk_expr(key, visitor);
                }
                walk_expr(value, visitor);
                walk_expr(collection, visitor);
            }
            Literal::Expr { expr, .. } | Literal::NotExpr { expr, .. } => walk_expr(expr, visitor),
            Literal::Every { domain, query, .. } => {
                walk_expr(domain, visitor);
                walk_query(query, visitor);
            }
        }
        for modifier in &statement.with_mods {
            walk_expr(&modifier.refr, visitor);
            walk_expr(&modifier.r#as, visitor);
        }
    }
}

/// Walks an expression and everything below it.
pub fn walk_expr(expr: &Expr, visitor: &mut impl Visitor) {
    visitor.expression(expr);
    match expr {
        Expr::String { .. }
        | Expr::RawString { .. }
        | Expr::Number { .. }
        | Expr::Bool { .. }
        | Expr::Null { .. }
        | Expr::Var { .. } => {}
        Expr::Array { items, .. } | Expr::Set { items, .. } => {
            items.iter().for_each(|item| walk_expr(item, visitor))
        }
        Expr::Object { fields, .. } => {
            for (_, key, value) in fields {
                walk_expr(key, visitor);
                walk_expr(value, visitor);
            }
        }
        Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
            walk_expr(term, visitor);
            walk_query(query, visitor);
        }
        Expr::ObjectCompr { key, value, query, .. } => {
            walk_expr(key, visitor);
            walk_expr(value, visitor);
            walk_query(query, visitor);
        }
        Expr::Call { fcn, params, .. } => {
            walk_expr(fcn, visitor);
            params.iter().for_each(|param| walk_expr(param, visitor));
        }
        Expr::UnaryExpr { expr, .. } => walk_expr(expr, visitor),
        Expr::RefDot { refr, .. } => walk_expr(refr, visitor),
        Expr::RefBrack { refr, index, .. } => {
            walk_expr(refr, visitor);
            walk_expr(index, visitor);
        }
        Expr::BinExpr { lhs, rhs, .. }
        | Expr::BoolExpr { lhs, rhs, .. }
        | Expr::ArithExpr { lhs, rhs, .. }
        | Expr::AssignExpr { lhs, rhs, .. } => {
            walk_expr(lhs, visitor);
            walk_expr(rhs, visitor);
        }
        Expr::Membership { key, value, collection, .. } => {
            if let Some(key) = key {
                walk_expr(key, visitor);
            }
            walk_expr(value, visitor);
            walk_expr(collection, visitor);
        }
    }
}

/// `source` with each `(start, end, replacement)` byte range replaced; ranges that do not fall on
/// character boundaries are skipped. Used by the load-time rewrites, which all keep lines in place.
pub fn apply_edits(source: &str, mut edits: Vec<(usize, usize, String)>) -> String {
    edits.sort_by_key(|edit| std::cmp::Reverse(edit.0));
    let mut text = source.to_owned();
    for (start, end, replacement) in edits {
        if start <= end && end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end) {
            text.replace_range(start..end, &replacement);
        }
    }
    text
}

/// The dotted name of a call's function (`crypto.sha256`), as written.
pub fn call_name(fcn: &Expr) -> String {
    fcn.span().text().split_whitespace().collect()
}

/// The 1-based line and column where a node starts, computed from its byte offset (the column regorus
/// stores for a dotted reference is not where the reference starts).
pub fn position(span: &regorus::unstable::Span) -> (u32, u32) {
    let before = span.source.contents().get(..span.start as usize).unwrap_or_default();
    let line = u32::try_from(before.matches('\n').count() + 1).unwrap_or(u32::MAX);
    let column =
        u32::try_from(before.rsplit('\n').next().unwrap_or_default().chars().count() + 1).unwrap_or(u32::MAX);
    (line, column)
}

/// The name a rule defines (`allow`, `violations`, `a.b`).
pub fn rule_name(rule: &Rule) -> String {
    match rule {
        Rule::Spec { head, .. } => match head {
            RuleHead::Compr { refr, .. } | RuleHead::Set { refr, .. } | RuleHead::Func { refr, .. } => {
                call_name(refr)
            }
        },
        Rule::Default { refr, .. } => call_name(refr),
    }
}
