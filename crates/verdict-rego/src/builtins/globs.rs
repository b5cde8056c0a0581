//! `regex.globs_match(glob1, glob2)`: whether some non-empty string matches both patterns. As OPA
//! defines it, only `.`, `*`, `+`, `[`, `-`, `]` and `\` are special: a pattern is a sequence of atoms
//! (a character, `.`, a class `[a-z0-9]` or `[^…]`, an escaped character), each optionally followed by
//! `*` or `+`. The answer is an emptiness check on the product of the two automata.

use std::collections::{BTreeSet, VecDeque};

use anyhow::{Result, bail};
use regorus::Value;

use super::args::string;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Any,
    Char(char),
    Class { negated: bool, ranges: Vec<(char, char)> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    Once,
    Many,
}

fn parse(pattern: &str) -> Result<Vec<(Atom, Repeat)>> {
    let mut chars = pattern.chars().peekable();
    let mut items: Vec<(Atom, Repeat)> = Vec::new();
    while let Some(c) = chars.next() {
        match c {
            '*' | '+' => {
                let Some((atom, _)) = items.last().cloned() else {
                    bail!("regex.globs_match: `{c}` has nothing to repeat in {pattern:?}")
                };
                if c == '*' {
                    items.pop();
                    items.push((atom, Repeat::Many));
                } else {
                    // a+ is a followed by a*.
                    items.push((atom, Repeat::Many));
                }
            }
            '.' => items.push((Atom::Any, Repeat::Once)),
            '\\' => match chars.next() {
                Some(escaped) => items.push((Atom::Char(escaped), Repeat::Once)),
                None => bail!("regex.globs_match: trailing backslash in {pattern:?}"),
            },
            '[' => {
                let negated = chars.peek() == Some(&'^');
                if negated {
                    chars.next();
                }
                let mut ranges = Vec::new();
                loop {
                    let Some(start) = chars.next() else {
                        bail!("regex.globs_match: unclosed `[` in {pattern:?}")
                    };
                    if start == ']' {
                        break;
                    }
                    let start = if start == '\\' { chars.next().unwrap_or('\\') } else { start };
                    if chars.peek() == Some(&'-') {
                        chars.next();
                        match chars.next() {
                            Some(']') => {
                                ranges.push((start, start));
                                ranges.push(('-', '-'));
                                break;
                            }
                            Some(end) if end >= start => ranges.push((start, end)),
                            Some(end) => {
                                bail!("regex.globs_match: invalid range {start}-{end} in {pattern:?}")
                            }
                            None => bail!("regex.globs_match: unclosed `[` in {pattern:?}"),
                        }
                    } else {
                        ranges.push((start, start));
                    }
                }
                items.push((Atom::Class { negated, ranges }, Repeat::Once));
            }
            other => items.push((Atom::Char(other), Repeat::Once)),
        }
    }
    Ok(items)
}

fn in_ranges(c: char, ranges: &[(char, char)]) -> bool {
    ranges.iter().any(|(start, end)| (*start..=*end).contains(&c))
}

/// Whether some character matches both atoms.
fn overlap(a: &Atom, b: &Atom) -> bool {
    use Atom::{Any, Char, Class};
    match (a, b) {
        (Any, Any) => true,
        (Any, Char(_)) | (Char(_), Any) => true,
        (Any, Class { negated, ranges }) | (Class { negated, ranges }, Any) => *negated || !ranges.is_empty(),
        (Char(x), Char(y)) => x == y,
        (Char(c), Class { negated, ranges }) | (Class { negated, ranges }, Char(c)) => {
            in_ranges(*c, ranges) != *negated
        }
        (Class { negated: false, ranges: x }, Class { negated: false, ranges: y }) => {
            x.iter().any(|(s1, e1)| y.iter().any(|(s2, e2)| s1 <= e2 && s2 <= e1))
        }
        (Class { negated: true, ranges: excluded }, Class { negated: false, ranges: included })
        | (Class { negated: false, ranges: included }, Class { negated: true, ranges: excluded }) => {
            // Some endpoint-adjacent character of an included range escapes every excluded range.
            included.iter().any(|(start, end)| {
                let mut c = *start;
                loop {
                    if !in_ranges(c, excluded) {
                        return true;
                    }
                    // Jump past the excluded range that covers c.
                    let next = excluded.iter().filter(|(s, e)| (*s..=*e).contains(&c)).map(|(_, e)| *e).max();
                    match next.and_then(|e| char::from_u32(u32::from(e) + 1)) {
                        Some(n) if n <= *end => c = n,
                        _ => return false,
                    }
                }
            })
        }
        (Class { negated: true, .. }, Class { negated: true, .. }) => true,
    }
}

/// The states reachable from `state` without consuming input (skipping `*` atoms).
fn closure(items: &[(Atom, Repeat)], state: usize) -> Vec<usize> {
    let mut states = vec![state];
    let mut current = state;
    while current < items.len() && items[current].1 == Repeat::Many {
        current += 1;
        states.push(current);
    }
    states
}

fn intersects(a: &[(Atom, Repeat)], b: &[(Atom, Repeat)]) -> bool {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::new();
    for i in closure(a, 0) {
        for j in closure(b, 0) {
            queue.push_back((i, j));
        }
    }
    while let Some((i, j)) = queue.pop_front() {
        if i >= a.len() || j >= b.len() || !overlap(&a[i].0, &b[j].0) {
            continue;
        }
        let next_i = if a[i].1 == Repeat::Many { i } else { i + 1 };
        let next_j = if b[j].1 == Repeat::Many { j } else { j + 1 };
        for ci in closure(a, next_i) {
            for cj in closure(b, next_j) {
                if ci == a.len() && cj == b.len() {
                    return true;
                }
                if seen.insert((ci, cj)) {
                    queue.push_back((ci, cj));
                }
            }
        }
    }
    false
}

fn globs_match(args: &[Value]) -> Result<Value> {
    let name = "regex.globs_match";
    let a = parse(string(name, args, 0)?)?;
    let b = parse(string(name, args, 1)?)?;
    Ok(Value::from(intersects(&a, &b)))
}

pub const FUNCTIONS: &[super::Builtin] = &[("regex.globs_match", 2, globs_match)];

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(a: &str, b: &str) -> bool {
        intersects(&parse(a).unwrap(), &parse(b).unwrap())
    }

    #[test]
    fn opa_documented_example() {
        assert!(matches("a.a.[0-9]+z", ".b.b2359825792*594823z"));
    }

    #[test]
    fn intersections() {
        assert!(matches("abc", "abc"));
        assert!(!matches("abc", "abd"));
        assert!(matches("a*", "aaa"));
        assert!(!matches("a*", "b*"), "only the empty string is common, and it does not count");
        assert!(matches("[a-z]+", "x.*"));
        assert!(!matches("[a-z]+", "[0-9]*"));
        assert!(matches("[^0-9]", "[a-c]"));
        assert!(!matches("[^a-c]", "[a-c]"));
        assert!(matches("\\*", "\\*"));
        assert!(!matches("\\*", "a"));
        assert!(!matches("a+", "b"));
        assert!(matches("foo.*", ".*bar"));
        assert!(!matches("", ""));
    }

    #[test]
    fn malformed_patterns_are_errors() {
        assert!(parse("[a-").is_err());
        assert!(parse("*a").is_err());
        assert!(parse("a\\").is_err());
        assert!(parse("[z-a]").is_err());
    }
}
