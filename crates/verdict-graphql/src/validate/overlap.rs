//! Field selection merging (spec §5.3.2, "OverlappingFieldsCanBeMerged"): fields with the same response
//! key must be the same field with the same arguments (unless their parents are different object types),
//! must return compatible types, and their sub-selections must merge too.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::{Validator, field_definition};
use crate::ast::{Argument, Definition, Field, FieldDefinition, Selection, Type, kind};

/// Groups larger than this are compared against their first member only, so a document repeating one
/// field thousands of times costs linear rather than quadratic time.
const PAIRWISE_LIMIT: usize = 64;

/// How deep sub-selections are compared; the parser already bounds nesting, this bounds the work.
const MAX_DEPTH: usize = 64;

struct Candidate<'a> {
    parent: Option<&'a Definition>,
    field: &'a Field,
    definition: Option<Cow<'a, FieldDefinition>>,
}

type Groups<'a> = BTreeMap<&'a str, Vec<Candidate<'a>>>;

impl<'a> Validator<'a> {
    pub(super) fn overlapping_fields(&mut self, selections: &'a [Selection], parent: &'a Definition) {
        let mut groups = Groups::new();
        self.collect_fields(selections, Some(parent), &mut groups, &mut BTreeSet::new());
        for (key, candidates) in &groups {
            if let Some(reason) = self.group_conflict(candidates, false, 0) {
                let position = candidates.last().map(|c| c.field.position).unwrap_or_default();
                self.error(
                    position,
                    format!(
                        "Fields \"{key}\" conflict because {reason}. Use different aliases on the fields to fetch both if this was intentional."
                    ),
                );
            }
        }
        self.nested_overlaps(selections, parent);
    }

    fn nested_overlaps(&mut self, selections: &'a [Selection], parent: &'a Definition) {
        for selection in selections {
            match selection {
                Selection::Field(field) if !field.selection_set.is_empty() => {
                    let target = field_definition(parent, &field.name)
                        .and_then(|definition| self.schema.get(definition.ty.name()))
                        .filter(|target| target.is_composite());
                    if let Some(target) = target {
                        self.overlapping_fields(&field.selection_set, target);
                    }
                }
                Selection::InlineFragment(inline) => {
                    let condition = if inline.type_condition.is_empty() {
                        Some(parent)
                    } else {
                        self.schema.get(&inline.type_condition).filter(|d| d.is_composite())
                    };
                    if let Some(condition) = condition {
                        self.nested_overlaps(&inline.selection_set, condition);
                    }
                }
                _ => {}
            }
        }
    }

    fn collect_fields(
        &self,
        selections: &'a [Selection],
        parent: Option<&'a Definition>,
        groups: &mut Groups<'a>,
        visited: &mut BTreeSet<&'a str>,
    ) {
        for selection in selections {
            match selection {
                Selection::Field(field) => {
                    let definition = parent.and_then(|parent| field_definition(parent, &field.name));
                    groups.entry(field.alias.as_str()).or_default().push(Candidate {
                        parent,
                        field,
                        definition,
                    });
                }
                Selection::InlineFragment(inline) => {
                    let condition = if inline.type_condition.is_empty() {
                        parent
                    } else {
                        self.schema.get(&inline.type_condition)
                    };
                    self.collect_fields(&inline.selection_set, condition, groups, visited);
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = self.fragments.get(spread.name.as_str()).copied()
                        && visited.insert(fragment.name.as_str())
                    {
                        let condition = self.schema.get(&fragment.type_condition);
                        self.collect_fields(&fragment.selection_set, condition, groups, visited);
                    }
                }
            }
        }
    }

    fn group_conflict(&self, candidates: &[Candidate<'a>], exclusive: bool, depth: usize) -> Option<String> {
        let pairwise = candidates.len() <= PAIRWISE_LIMIT;
        for (index, first) in candidates.iter().enumerate() {
            for second in &candidates[index + 1..] {
                if let Some(reason) = self.conflict(first, second, exclusive, depth) {
                    return Some(reason);
                }
            }
            if !pairwise {
                break;
            }
        }
        None
    }

    fn conflict(
        &self,
        a: &Candidate<'a>,
        b: &Candidate<'a>,
        parents_exclusive: bool,
        depth: usize,
    ) -> Option<String> {
        if std::ptr::eq(a.field, b.field) || depth > MAX_DEPTH {
            return None;
        }
        let exclusive = parents_exclusive
            || match (a.parent, b.parent) {
                (Some(pa), Some(pb)) => {
                    pa.name != pb.name && pa.kind == kind::OBJECT && pb.kind == kind::OBJECT
                }
                _ => false,
            };
        if !exclusive {
            if a.field.name != b.field.name {
                return Some(format!("\"{}\" and \"{}\" are different fields", a.field.name, b.field.name));
            }
            if !same_arguments(&a.field.arguments, &b.field.arguments) {
                return Some("they have differing arguments".to_owned());
            }
        }
        if let (Some(da), Some(db)) = (&a.definition, &b.definition)
            && self.types_conflict(&da.ty, &db.ty)
        {
            return Some(format!("they return conflicting types \"{}\" and \"{}\"", da.ty, db.ty));
        }
        if a.field.selection_set.is_empty() || b.field.selection_set.is_empty() {
            return None;
        }
        let target = |candidate: &Candidate<'a>| {
            candidate
                .definition
                .as_ref()
                .and_then(|d| self.schema.get(d.ty.name()))
                .filter(|t| t.is_composite())
        };
        let mut left = Groups::new();
        let mut right = Groups::new();
        self.collect_fields(&a.field.selection_set, target(a), &mut left, &mut BTreeSet::new());
        self.collect_fields(&b.field.selection_set, target(b), &mut right, &mut BTreeSet::new());
        for (key, lefts) in &left {
            let Some(rights) = right.get(key) else { continue };
            for x in lefts.iter().take(PAIRWISE_LIMIT) {
                for y in rights.iter().take(PAIRWISE_LIMIT) {
                    if let Some(reason) = self.conflict(x, y, exclusive, depth + 1) {
                        return Some(format!("subfields \"{key}\" conflict because {reason}"));
                    }
                }
            }
        }
        None
    }

    /// gqlparser's rule, which OPA applies: wrappers must match, and two *leaf* types must be the same
    /// (a leaf against a composite type is not a conflict there, unlike graphql-js).
    fn types_conflict(&self, a: &Type, b: &Type) -> bool {
        match (&a.elem, &b.elem) {
            (Some(a), Some(b)) => return self.types_conflict(a, b),
            (Some(_), None) | (None, Some(_)) => return true,
            (None, None) => {}
        }
        if a.non_null != b.non_null {
            return true;
        }
        let leaf = |name: &str| self.schema.get(name).is_some_and(Definition::is_leaf);
        leaf(&a.named_type) && leaf(&b.named_type) && a.named_type != b.named_type
    }
}

/// The comparison OPA applies: the same argument names, each value of the same kind and text. Object and
/// list values have no text of their own, so any two of them count as the same (as in OPA).
fn same_arguments(a: &[Argument], b: &[Argument]) -> bool {
    a.len() == b.len()
        && a.iter().all(|x| {
            b.iter()
                .find(|y| y.name == x.name)
                .is_some_and(|y| x.value.kind == y.value.kind && x.value.raw == y.value.raw)
        })
}
