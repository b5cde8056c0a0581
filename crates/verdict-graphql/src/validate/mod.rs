//! Validation of an executable document against a schema: the rules of the GraphQL specification (§5),
//! as gqlparser implements them, each in the module for its concern. Every error is collected in document
//! order; OPA reports the first.

mod documents;
mod overlap;
mod values;
mod variables;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::ast::{
    Argument, ArgumentDefinition, Definition, Directive, Field, FieldDefinition, FragmentDefinition,
    OperationDefinition, QueryDocument, Selection, Type, kind,
};
use crate::error::{GraphqlError, Position};
use crate::schema::Schema;

/// Checks `document` against `schema`; the error is the first rule violation in document order.
pub fn validate(schema: &Schema, document: &QueryDocument) -> Result<(), GraphqlError> {
    let errors = validate_all(schema, document);
    match errors.into_iter().next() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Every rule violation in `document`, in the order the rules find them.
pub fn validate_all(schema: &Schema, document: &QueryDocument) -> Vec<GraphqlError> {
    let mut validator = Validator::new(schema, document);
    validator.document_rules();
    for operation in &document.operations {
        validator.operation(operation);
    }
    for fragment in &document.fragments {
        validator.fragment_definition(fragment);
    }
    validator.errors
}

/// Shared state of one validation: the schema, the document's fragments by name, and what was found.
struct Validator<'a> {
    schema: &'a Schema,
    document: &'a QueryDocument,
    fragments: BTreeMap<&'a str, &'a FragmentDefinition>,
    errors: Vec<GraphqlError>,
}

impl<'a> Validator<'a> {
    fn new(schema: &'a Schema, document: &'a QueryDocument) -> Self {
        let mut fragments = BTreeMap::new();
        for fragment in &document.fragments {
            fragments.entry(fragment.name.as_str()).or_insert(fragment);
        }
        Self { schema, document, fragments, errors: Vec::new() }
    }

    fn error(&mut self, position: Position, message: String) {
        self.errors.push(GraphqlError::at(position, message));
    }

    fn operation(&mut self, operation: &'a OperationDefinition) {
        let root = self.schema.root(&operation.operation);
        if root.is_none() {
            self.error(
                operation.position,
                format!("Schema does not support operation type \"{}\"", operation.operation),
            );
        }
        let location = operation.operation.to_uppercase();
        self.directives(&operation.directives, &location);
        self.variables(operation);
        self.selection_set(&operation.selection_set, root);
        if let Some(root) = root {
            self.overlapping_fields(&operation.selection_set, root);
        }
    }

    fn fragment_definition(&mut self, fragment: &'a FragmentDefinition) {
        let condition =
            self.type_condition(&fragment.type_condition, Some(&fragment.name), fragment.position);
        self.directives(&fragment.directives, "FRAGMENT_DEFINITION");
        self.selection_set(&fragment.selection_set, condition);
        if let Some(condition) = condition {
            self.overlapping_fields(&fragment.selection_set, condition);
        }
    }

    /// The composite type a fragment conditions on, reporting an unknown or non-composite one.
    fn type_condition(
        &mut self,
        name: &str,
        fragment: Option<&str>,
        position: Position,
    ) -> Option<&'a Definition> {
        let Some(definition) = self.schema.get(name) else {
            self.error(position, format!("Unknown type \"{name}\"."));
            return None;
        };
        if !definition.is_composite() {
            let message = match fragment {
                Some(fragment) => {
                    format!("Fragment \"{fragment}\" cannot condition on non composite type \"{name}\".")
                }
                None => format!("Fragment cannot condition on non composite type \"{name}\"."),
            };
            self.error(position, message);
            return None;
        }
        Some(definition)
    }

    fn selection_set(&mut self, selections: &'a [Selection], parent: Option<&'a Definition>) {
        for selection in selections {
            match selection {
                Selection::Field(field) => self.field(field, parent),
                Selection::FragmentSpread(spread) => {
                    self.directives(&spread.directives, "FRAGMENT_SPREAD");
                    let Some(fragment) = self.fragments.get(spread.name.as_str()).copied() else {
                        self.error(spread.position, format!("Unknown fragment \"{}\".", spread.name));
                        continue;
                    };
                    let condition = self.schema.get(&fragment.type_condition).filter(|d| d.is_composite());
                    if let (Some(parent), Some(condition)) = (parent, condition)
                        && !self.overlap(parent, condition)
                    {
                        self.error(
                            spread.position,
                            format!(
                                "Fragment \"{}\" cannot be spread here as objects of type \"{}\" can never be of type \"{}\".",
                                spread.name, parent.name, condition.name
                            ),
                        );
                    }
                }
                Selection::InlineFragment(inline) => {
                    let condition = if inline.type_condition.is_empty() {
                        parent
                    } else {
                        self.type_condition(&inline.type_condition, None, inline.position)
                    };
                    if let (Some(parent), Some(condition)) = (parent, condition)
                        && !self.overlap(parent, condition)
                    {
                        self.error(
                            inline.position,
                            format!(
                                "Fragment cannot be spread here as objects of type \"{}\" can never be of type \"{}\".",
                                parent.name, condition.name
                            ),
                        );
                    }
                    self.directives(&inline.directives, "INLINE_FRAGMENT");
                    self.selection_set(&inline.selection_set, condition);
                }
            }
        }
    }

    /// The object types a value of the composite type `definition` may be.
    fn possible(&self, definition: &'a Definition) -> BTreeSet<&'a str> {
        match definition.kind.as_str() {
            kind::OBJECT => BTreeSet::from([definition.name.as_str()]),
            _ => self.schema.possible_types(definition).into_iter().collect(),
        }
    }

    /// Whether some object type is both an `a` and a `b` (spec "GetPossibleTypes" intersection).
    fn overlap(&self, a: &'a Definition, b: &'a Definition) -> bool {
        let a = self.possible(a);
        self.possible(b).iter().any(|name| a.contains(name))
    }

    fn field(&mut self, field: &'a Field, parent: Option<&'a Definition>) {
        self.directives(&field.directives, "FIELD");
        let Some(parent) = parent else {
            self.unique_arguments(&field.arguments);
            self.selection_set(&field.selection_set, None);
            return;
        };
        let Some(definition) = field_definition(parent, &field.name) else {
            self.error(
                field.position,
                format!("Cannot query field \"{}\" on type \"{}\".", field.name, parent.name),
            );
            self.unique_arguments(&field.arguments);
            self.selection_set(&field.selection_set, None);
            return;
        };
        let owner = format!("field \"{}.{}\"", parent.name, field.name);
        let required = format!("Field \"{}\"", field.name);
        self.arguments(&field.arguments, &definition.arguments, &owner, &required, field.position);
        let target = self.schema.get(definition.ty.name());
        match target {
            Some(target) if target.is_leaf() && !field.selection_set.is_empty() => self.error(
                field.position,
                format!(
                    "Field \"{}\" must not have a selection since type \"{}\" has no subfields.",
                    field.name, definition.ty
                ),
            ),
            Some(target) if !target.is_leaf() && field.selection_set.is_empty() => self.error(
                field.position,
                format!(
                    "Field \"{}\" of type \"{}\" must have a selection of subfields. Did you mean \"{} {{ ... }}\"?",
                    field.name, definition.ty, field.name
                ),
            ),
            _ => {}
        }
        self.selection_set(&field.selection_set, target.filter(|t| t.is_composite()));
    }

    fn unique_arguments(&mut self, arguments: &[Argument]) {
        let mut seen = BTreeSet::new();
        for argument in arguments {
            if !seen.insert(argument.name.as_str()) {
                self.error(
                    argument.position,
                    format!("There can be only one argument named \"{}\".", argument.name),
                );
            }
        }
    }

    /// Known, unique and required arguments, and each value against its declared type.
    fn arguments(
        &mut self,
        given: &'a [Argument],
        declared: &[ArgumentDefinition],
        owner: &str,
        required_owner: &str,
        position: Position,
    ) {
        self.unique_arguments(given);
        for argument in given {
            match declared.iter().find(|d| d.name == argument.name) {
                Some(definition) => self.value(&argument.value, Some(&definition.ty)),
                None => {
                    self.error(
                        argument.position,
                        format!("Unknown argument \"{}\" on {owner}.", argument.name),
                    );
                    self.value(&argument.value, None);
                }
            }
        }
        for definition in declared {
            let missing = !given.iter().any(|argument| argument.name == definition.name);
            if missing && definition.ty.non_null && definition.default_value.is_none() {
                self.error(
                    position,
                    format!(
                        "{required_owner} argument \"{}\" of type \"{}\" is required, but it was not provided.",
                        definition.name, definition.ty
                    ),
                );
            }
        }
    }

    fn directives(&mut self, directives: &'a [Directive], location: &str) {
        let mut seen = BTreeSet::new();
        for directive in directives {
            let Some(definition) = self.schema.directives.get(&directive.name) else {
                self.error(directive.position, format!("Unknown directive \"@{}\".", directive.name));
                self.unique_arguments(&directive.arguments);
                continue;
            };
            if !definition.locations.iter().any(|candidate| candidate == location) {
                self.error(
                    directive.position,
                    format!("Directive \"@{}\" may not be used on {location}.", directive.name),
                );
            }
            if !definition.is_repeatable && !seen.insert(directive.name.as_str()) {
                self.error(
                    directive.position,
                    format!("The directive \"@{}\" can only be used once at this location.", directive.name),
                );
            }
            let owner = format!("directive \"@{}\"", directive.name);
            let required = format!("Directive \"@{}\"", directive.name);
            self.arguments(
                &directive.arguments,
                &definition.arguments,
                &owner,
                &required,
                directive.position,
            );
        }
    }
}

/// The definition of field `name` on `parent`, including the `__typename` every composite type has.
fn field_definition<'a>(parent: &'a Definition, name: &str) -> Option<Cow<'a, FieldDefinition>> {
    if name == "__typename" {
        return Some(Cow::Owned(FieldDefinition {
            name: "__typename".into(),
            ty: Type::named("String", true),
            ..FieldDefinition::default()
        }));
    }
    parent.field(name).map(Cow::Borrowed)
}
