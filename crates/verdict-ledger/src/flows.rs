//! Restating and tagging flows. A flow is recorded again (append-only) whenever it changes, so its
//! versions are its history. Re-running `create flow` keeps whatever the new statement does not mention
//! (DESIGN.md rule 13): silently erasing tags would turn off every policy rule whose `if` reads them.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::model::{Flow, Recorded};

/// What a `create flow` states: `None` (or no tags) leaves the existing value as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowStatement {
    /// The flow.
    pub name: String,
    /// A new description, if given.
    pub description: Option<String>,
    /// Tags to set (added to, or replacing the value of, the existing ones).
    pub tags: BTreeMap<String, String>,
    /// A new template, if given.
    pub template: Option<Value>,
}

/// The flow `statement` describes, over the `existing` one: only what it states changes.
pub fn restate(existing: Option<&Flow>, statement: FlowStatement) -> Flow {
    let mut flow = existing.cloned().unwrap_or_else(|| Flow {
        name: statement.name.clone(),
        description: String::new(),
        tags: BTreeMap::new(),
        template: None,
        archived: false,
    });
    // Recording an archived flow again is how it is restored.
    flow.archived = false;
    if let Some(description) = statement.description {
        flow.description = description;
    }
    flow.tags.extend(statement.tags);
    if statement.template.is_some() {
        flow.template = statement.template;
    }
    flow
}

/// `flow` with tags `set` and `unset`; an error when a key is both set and unset, or nothing is asked.
pub fn retag(flow: &Flow, set: &BTreeMap<String, String>, unset: &[String]) -> Result<Flow, String> {
    Ok(Flow { tags: retag_map(&flow.tags, set, unset)?, ..flow.clone() })
}

/// `tags` with `set` added or replaced and `unset` removed (flows' and environments' tags); an error when
/// a key is both set and unset, or nothing is asked.
pub fn retag_map(
    tags: &BTreeMap<String, String>,
    set: &BTreeMap<String, String>,
    unset: &[String],
) -> Result<BTreeMap<String, String>, String> {
    if set.is_empty() && unset.is_empty() {
        return Err("nothing to change: give --set KEY=VALUE and/or --unset KEY".to_owned());
    }
    if let Some(key) = unset.iter().find(|key| set.contains_key(*key)) {
        return Err(format!("tag {key:?} is both set and unset"));
    }
    let mut changed = tags.clone();
    for key in unset {
        changed.remove(key);
    }
    changed.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(changed)
}

/// One change of a flow's tags, from one version to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagChange {
    /// The ledger entry of the version that made the change.
    pub ledger_entry: i64,
    /// When it was recorded.
    pub recorded_at: String,
    /// Tags added or given a new value.
    pub set: BTreeMap<String, String>,
    /// Tags removed.
    pub unset: Vec<String>,
}

/// Every tag change in a flow's versions (oldest first); the first version's tags count as set.
pub fn tag_history(versions: &[Recorded<Flow>]) -> Vec<TagChange> {
    let empty = BTreeMap::new();
    let mut previous = &empty;
    let mut changes = Vec::new();
    for version in versions {
        let tags = &version.record.tags;
        let set: BTreeMap<String, String> = tags
            .iter()
            .filter(|(k, v)| previous.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let unset: Vec<String> = previous.keys().filter(|k| !tags.contains_key(*k)).cloned().collect();
        if !set.is_empty() || !unset.is_empty() {
            changes.push(TagChange {
                ledger_entry: version.seq,
                recorded_at: version.recorded_at.clone(),
                set,
                unset,
            });
        }
        previous = tags;
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(tags: &[(&str, &str)]) -> Flow {
        Flow {
            name: "backend".into(),
            description: "Backend CI".into(),
            tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            template: Some(serde_json::json!({"version": 1})),
            archived: false,
        }
    }

    #[test]
    fn restating_keeps_what_is_not_mentioned() {
        let existing = flow(&[("risk-level", "high")]);
        let again = restate(Some(&existing), FlowStatement { name: "backend".into(), ..Default::default() });
        assert_eq!(again, existing);
        let more = restate(
            Some(&existing),
            FlowStatement {
                name: "backend".into(),
                description: Some("new".into()),
                tags: BTreeMap::from([("team".into(), "a".into())]),
                template: None,
            },
        );
        assert_eq!(more.tags.len(), 2);
        assert_eq!((more.description.as_str(), more.template.is_some()), ("new", true));
        let fresh = restate(None, FlowStatement { name: "new".into(), ..Default::default() });
        assert_eq!((fresh.name.as_str(), fresh.tags.len()), ("new", 0));
    }

    #[test]
    fn retagging_sets_and_unsets() {
        let existing = flow(&[("risk-level", "high"), ("team", "a")]);
        let set = BTreeMap::from([("risk-level".to_owned(), "low".to_owned())]);
        let changed = retag(&existing, &set, &["team".to_owned()]).unwrap();
        assert_eq!(changed.tags, set);
        assert!(retag(&existing, &BTreeMap::new(), &[]).unwrap_err().contains("nothing to change"));
        assert!(
            retag(&existing, &set, &["risk-level".to_owned()]).unwrap_err().contains("both set and unset")
        );
    }

    #[test]
    fn history_lists_each_change() {
        let version = |tags: &[(&str, &str)], seq| Recorded {
            record: flow(tags),
            seq,
            hash: String::new(),
            recorded_at: format!("t{seq}"),
        };
        let versions = [
            version(&[("risk-level", "high")], 1),
            version(&[("risk-level", "high")], 4),
            version(&[("risk-level", "low"), ("team", "a")], 7),
            version(&[("team", "a")], 9),
        ];
        let history = tag_history(&versions);
        assert_eq!(history.len(), 3, "an unchanged version is no change");
        assert_eq!(history[1].set.get("risk-level").map(String::as_str), Some("low"));
        assert_eq!((history[2].ledger_entry, history[2].unset.clone()), (9, vec!["risk-level".to_owned()]));
    }
}
