//! Kyverno's wildcards: `*` is any run of characters (also none), `?` exactly one; everything else is
//! literal. Used for names, namespaces, kinds, pattern values and `Equals` condition values.

/// Whether `text` matches `pattern` as a whole.
pub fn matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point: linear in practice, never exponential.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Whether `text` contains a wildcard character.
pub fn has_wildcard(text: &str) -> bool {
    text.contains('*') || text.contains('?')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_question_marks() {
        assert!(matches("*", ""));
        assert!(matches("?*", "a"));
        assert!(!matches("?*", ""));
        assert!(matches("nginx:*", "nginx:1.25"));
        assert!(!matches("nginx:*", "redis:1"));
        assert!(matches("*:latest", "ghcr.io/x:latest"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "abbc"));
        assert!(matches("*.*.*", "a.b.c"));
        assert!(!matches("abc", "abcd"));
        assert!(matches("ab*cd*ef", "abXXcdYYef"));
        assert!(!matches("ab*cd*ef", "abXXcdYYe"));
    }
}
