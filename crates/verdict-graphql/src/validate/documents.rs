//! Rules about the document as a whole (spec §5.2, §5.5): unique operation and fragment names, a lone
//! anonymous operation, single-field subscriptions, no unused fragments and no fragment cycles.

use std::collections::{BTreeMap, BTreeSet};

use super::Validator;
use crate::ast::{FragmentDefinition, Selection};

impl<'a> Validator<'a> {
    pub(super) fn document_rules(&mut self) {
        let document = self.document;
        let mut names = BTreeSet::new();
        for operation in &document.operations {
            if operation.name.is_empty() {
                if document.operations.len() > 1 {
                    self.error(
                        operation.position,
                        "This anonymous operation must be the only defined operation.".to_owned(),
                    );
                }
            } else if !names.insert(operation.name.as_str()) {
                self.error(
                    operation.position,
                    format!("There can be only one operation named \"{}\".", operation.name),
                );
            }
            if operation.operation == "subscription" && self.root_field_count(&operation.selection_set) > 1 {
                let message = if operation.name.is_empty() {
                    "Anonymous Subscription must select only one top level field.".to_owned()
                } else {
                    format!("Subscription \"{}\" must select only one top level field.", operation.name)
                };
                self.error(operation.position, message);
            }
        }
        let mut fragment_names = BTreeSet::new();
        for fragment in &document.fragments {
            if !fragment_names.insert(fragment.name.as_str()) {
                self.error(
                    fragment.position,
                    format!("There can be only one fragment named \"{}\".", fragment.name),
                );
            }
        }

        let mut used = BTreeSet::new();
        for operation in &document.operations {
            self.spread_closure(&operation.selection_set, &mut used);
        }
        for fragment in &document.fragments {
            if !used.contains(fragment.name.as_str()) {
                self.error(fragment.position, format!("Fragment \"{}\" is never used.", fragment.name));
            }
        }
        self.fragment_cycles();
    }

    /// Top-level fields of a subscription, counting through fragments (without `@skip`/`@include`).
    fn root_field_count(&self, selections: &'a [Selection]) -> usize {
        let mut keys = BTreeSet::new();
        let mut visited = BTreeSet::new();
        self.response_keys(selections, &mut keys, &mut visited);
        keys.len()
    }

    fn response_keys(
        &self,
        selections: &'a [Selection],
        keys: &mut BTreeSet<&'a str>,
        visited: &mut BTreeSet<&'a str>,
    ) {
        for selection in selections {
            match selection {
                Selection::Field(field) => {
                    keys.insert(field.alias.as_str());
                }
                Selection::InlineFragment(inline) => self.response_keys(&inline.selection_set, keys, visited),
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = self.fragments.get(spread.name.as_str()).copied()
                        && visited.insert(fragment.name.as_str())
                    {
                        self.response_keys(&fragment.selection_set, keys, visited);
                    }
                }
            }
        }
    }

    /// Every fragment reachable from `selections`, transitively.
    fn spread_closure(&self, selections: &'a [Selection], used: &mut BTreeSet<&'a str>) {
        for name in direct_spreads(selections) {
            if let Some(fragment) = self.fragments.get(name).copied()
                && used.insert(fragment.name.as_str())
            {
                self.spread_closure(&fragment.selection_set, used);
            }
        }
    }

    fn fragment_cycles(&mut self) {
        let edges: BTreeMap<&str, Vec<&str>> = self
            .document
            .fragments
            .iter()
            .map(|fragment: &FragmentDefinition| {
                (fragment.name.as_str(), direct_spreads(&fragment.selection_set))
            })
            .collect();
        let mut reported = BTreeSet::new();
        for fragment in &self.document.fragments {
            let start = fragment.name.as_str();
            if reported.contains(start) {
                continue;
            }
            let mut path = Vec::new();
            let mut visited = BTreeSet::new();
            if let Some(cycle) = find_cycle(start, start, &edges, &mut path, &mut visited) {
                reported.extend(cycle.iter().copied());
                let via: Vec<String> = cycle.iter().skip(1).map(|name| format!("\"{name}\"")).collect();
                let message = if via.is_empty() {
                    format!("Cannot spread fragment \"{start}\" within itself.")
                } else {
                    format!("Cannot spread fragment \"{start}\" within itself via {}.", via.join(", "))
                };
                self.error(fragment.position, message);
            }
        }
    }
}

/// Names spread directly in `selections` (inline fragments looked into, spread fragments not).
fn direct_spreads(selections: &[Selection]) -> Vec<&str> {
    let mut names = Vec::new();
    for selection in selections {
        match selection {
            Selection::Field(field) => names.extend(direct_spreads(&field.selection_set)),
            Selection::InlineFragment(inline) => names.extend(direct_spreads(&inline.selection_set)),
            Selection::FragmentSpread(spread) => names.push(spread.name.as_str()),
        }
    }
    names
}

/// A path of fragment names from `start` back to itself through `from`, if there is one.
fn find_cycle<'a>(
    start: &'a str,
    from: &'a str,
    edges: &BTreeMap<&'a str, Vec<&'a str>>,
    path: &mut Vec<&'a str>,
    visited: &mut BTreeSet<&'a str>,
) -> Option<Vec<&'a str>> {
    if !visited.insert(from) {
        return None;
    }
    path.push(from);
    for next in edges.get(from).into_iter().flatten().copied() {
        if next == start {
            return Some(path.clone());
        }
        if let Some(cycle) = find_cycle(start, next, edges, path, visited) {
            return Some(cycle);
        }
    }
    path.pop();
    None
}
