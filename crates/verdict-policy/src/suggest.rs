//! "Did you mean …?" suggestions for misspelt names (shared by every policy loader).

/// The candidate closest to `name` within edit distance 2, if any.
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current.push((previous[j] + cost).min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_within_two_edits_only() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(closest("requird", &["required", "exceptions"]), Some("required"));
        assert_eq!(closest("must-be-compliant", &["must_be_compliant"]), Some("must_be_compliant"));
        assert_eq!(closest("zzz", &["required"]), None);
    }
}
