//! Variable rules (spec §5.8): unique names, input types, all defined, all used, and each used where its
//! type is allowed. Usages are collected through every fragment an operation spreads, transitively.

use std::collections::BTreeSet;

use super::{Validator, field_definition};
use crate::ast::{
    Argument, ArgumentDefinition, Definition, Directive, OperationDefinition, Selection, Type, Value, kind,
    value_kind,
};
use crate::error::Position;

/// One use of a variable: where, and what type that position expects (when it is known).
struct Usage {
    name: String,
    position: Position,
    expected: Option<Type>,
    location_has_default: bool,
}

impl<'a> Validator<'a> {
    pub(super) fn variables(&mut self, operation: &'a OperationDefinition) {
        let mut seen = BTreeSet::new();
        for definition in &operation.variable_definitions {
            if !seen.insert(definition.variable.as_str()) {
                self.error(
                    definition.position,
                    format!("There can be only one variable named \"${}\".", definition.variable),
                );
            }
            match self.schema.get(definition.ty.name()) {
                None => {
                    self.error(definition.ty.position, format!("Unknown type \"{}\".", definition.ty.name()))
                }
                Some(ty) if !ty.is_input() => self.error(
                    definition.position,
                    format!(
                        "Variable \"${}\" cannot be non-input type \"{}\".",
                        definition.variable, definition.ty
                    ),
                ),
                Some(_) => {}
            }
            if let Some(default) = &definition.default_value {
                self.value(default, Some(&definition.ty));
            }
            self.directives(&definition.directives, "VARIABLE_DEFINITION");
        }

        let mut usages = Vec::new();
        let mut visited = BTreeSet::new();
        let root = self.schema.root(&operation.operation);
        self.collect_usages(&operation.selection_set, root, &mut visited, &mut usages);
        for directive in &operation.directives {
            self.directive_usages(directive, &mut usages);
        }

        let mut reported = BTreeSet::new();
        for usage in &usages {
            let Some(definition) = operation.variable_definitions.iter().find(|d| d.variable == usage.name)
            else {
                if reported.insert(usage.name.clone()) {
                    let message = if operation.name.is_empty() {
                        format!("Variable \"${}\" is not defined.", usage.name)
                    } else {
                        format!(
                            "Variable \"${}\" is not defined by operation \"{}\".",
                            usage.name, operation.name
                        )
                    };
                    self.error(usage.position, message);
                }
                continue;
            };
            let Some(expected) = &usage.expected else { continue };
            let has_default =
                definition.default_value.as_ref().is_some_and(|value| value.kind != value_kind::NULL);
            let allowed = if expected.non_null && !definition.ty.non_null {
                (has_default || usage.location_has_default)
                    && self.is_subtype(&definition.ty, &Type { non_null: false, ..expected.clone() })
            } else {
                self.is_subtype(&definition.ty, expected)
            };
            if !allowed {
                self.error(
                    usage.position,
                    format!(
                        "Variable \"${}\" of type \"{}\" used in position expecting type \"{expected}\".",
                        usage.name, definition.ty
                    ),
                );
            }
        }
        for definition in &operation.variable_definitions {
            if !usages.iter().any(|usage| usage.name == definition.variable) {
                let message = if operation.name.is_empty() {
                    format!("Variable \"${}\" is never used.", definition.variable)
                } else {
                    format!(
                        "Variable \"${}\" is never used in operation \"{}\".",
                        definition.variable, operation.name
                    )
                };
                self.error(definition.position, message);
            }
        }
    }

    /// Whether a variable of type `actual` may be used where `expected` is (spec "IsVariableUsageAllowed").
    fn is_subtype(&self, actual: &Type, expected: &Type) -> bool {
        if expected.non_null && !actual.non_null {
            return false;
        }
        match (&actual.elem, &expected.elem) {
            (Some(actual), Some(expected)) => self.is_subtype(actual, expected),
            (None, None) => actual.named_type == expected.named_type,
            _ => false,
        }
    }

    fn collect_usages(
        &self,
        selections: &'a [Selection],
        parent: Option<&'a Definition>,
        visited: &mut BTreeSet<&'a str>,
        usages: &mut Vec<Usage>,
    ) {
        for selection in selections {
            match selection {
                Selection::Field(field) => {
                    let definition = parent.and_then(|parent| field_definition(parent, &field.name));
                    let declared = definition.as_ref().map(|d| d.arguments.as_slice()).unwrap_or_default();
                    argument_usages(self, &field.arguments, declared, usages);
                    for directive in &field.directives {
                        self.directive_usages(directive, usages);
                    }
                    let target = definition
                        .as_ref()
                        .and_then(|d| self.schema.get(d.ty.name()))
                        .filter(|t| t.is_composite());
                    self.collect_usages(&field.selection_set, target, visited, usages);
                }
                Selection::FragmentSpread(spread) => {
                    for directive in &spread.directives {
                        self.directive_usages(directive, usages);
                    }
                    let Some(fragment) = self.fragments.get(spread.name.as_str()).copied() else { continue };
                    if !visited.insert(fragment.name.as_str()) {
                        continue;
                    }
                    for directive in &fragment.directives {
                        self.directive_usages(directive, usages);
                    }
                    let condition = self.schema.get(&fragment.type_condition).filter(|d| d.is_composite());
                    self.collect_usages(&fragment.selection_set, condition, visited, usages);
                }
                Selection::InlineFragment(inline) => {
                    for directive in &inline.directives {
                        self.directive_usages(directive, usages);
                    }
                    let condition = if inline.type_condition.is_empty() {
                        parent
                    } else {
                        self.schema.get(&inline.type_condition).filter(|d| d.is_composite())
                    };
                    self.collect_usages(&inline.selection_set, condition, visited, usages);
                }
            }
        }
    }

    fn directive_usages(&self, directive: &Directive, usages: &mut Vec<Usage>) {
        let declared =
            self.schema.directives.get(&directive.name).map(|d| d.arguments.as_slice()).unwrap_or_default();
        argument_usages(self, &directive.arguments, declared, usages);
    }

    fn value_usages(
        &self,
        value: &Value,
        expected: Option<&Type>,
        location_has_default: bool,
        usages: &mut Vec<Usage>,
    ) {
        match value.kind {
            value_kind::VARIABLE => usages.push(Usage {
                name: value.raw.clone(),
                position: value.position,
                expected: expected.cloned(),
                location_has_default,
            }),
            value_kind::LIST => {
                let item = expected.and_then(|t| t.elem.as_deref());
                for child in &value.children {
                    self.value_usages(&child.value, item, false, usages);
                }
            }
            value_kind::OBJECT => {
                let definition = expected
                    .filter(|t| t.elem.is_none())
                    .and_then(|t| self.schema.get(&t.named_type))
                    .filter(|d| d.kind == kind::INPUT_OBJECT);
                for child in &value.children {
                    let field = definition.and_then(|d| d.field(&child.name));
                    let has_default = field.is_some_and(|f| f.default_value.is_some());
                    self.value_usages(&child.value, field.map(|f| &f.ty), has_default, usages);
                }
            }
            _ => {}
        }
    }
}

fn argument_usages(
    validator: &Validator<'_>,
    given: &[Argument],
    declared: &[ArgumentDefinition],
    usages: &mut Vec<Usage>,
) {
    for argument in given {
        let definition = declared.iter().find(|d| d.name == argument.name);
        let has_default = definition.is_some_and(|d| d.default_value.is_some());
        validator.value_usages(&argument.value, definition.map(|d| &d.ty), has_default, usages);
    }
}
