//! A schema built from a type-system document: extensions merged into their types, root operation types
//! found, and the document checked the way gqlparser checks it before it validates a query against it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::ast::{
    ArgumentDefinition, Definition, Directive, DirectiveDefinition, FieldDefinition, SchemaDocument, Type,
    kind,
};
use crate::error::{GraphqlError, Position};
use crate::lexer::go_quote;

/// A validated schema.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// Every type, the built-in ones included, by name.
    pub types: BTreeMap<String, Definition>,
    /// Every directive, the built-in ones included, by name.
    pub directives: BTreeMap<String, DirectiveDefinition>,
    /// The root query type's name.
    pub query: Option<String>,
    /// The root mutation type's name.
    pub mutation: Option<String>,
    /// The root subscription type's name.
    pub subscription: Option<String>,
    /// For each interface or union (and each object, itself): the types a value of it may be.
    pub possible_types: BTreeMap<String, Vec<String>>,
}

const PRELUDE: &str = include_str!("prelude.graphql");

/// The built-in scalars, directives and introspection types, parsed once.
fn prelude() -> Result<&'static SchemaDocument, GraphqlError> {
    static PARSED: OnceLock<Result<SchemaDocument, GraphqlError>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            let mut document = crate::parser::parse_schema(PRELUDE)?;
            for definition in document.definitions.iter_mut().chain(document.extensions.iter_mut()) {
                definition.built_in = true;
            }
            Ok(document)
        })
        .as_ref()
        .map_err(Clone::clone)
}

impl Schema {
    /// The type called `name`.
    pub fn get(&self, name: &str) -> Option<&Definition> {
        self.types.get(name)
    }

    /// The root type for an operation (`query`, `mutation`, `subscription`).
    pub fn root(&self, operation: &str) -> Option<&Definition> {
        let name = match operation {
            "query" => self.query.as_deref(),
            "mutation" => self.mutation.as_deref(),
            "subscription" => self.subscription.as_deref(),
            _ => None,
        }?;
        self.types.get(name)
    }

    /// The object types a value of `definition` may be.
    pub fn possible_types<'a>(&'a self, definition: &'a Definition) -> Vec<&'a str> {
        if definition.kind == kind::UNION {
            return definition.types.iter().map(String::as_str).collect();
        }
        self.possible_types
            .get(&definition.name)
            .map(|names| names.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Builds and checks the schema `document` describes, with the built-in definitions merged in first.
    pub fn build(document: &SchemaDocument) -> Result<Schema, GraphqlError> {
        let mut merged = prelude()?.clone();
        merged.merge(document.clone());
        build_merged(merged)
    }
}

fn build_merged(document: SchemaDocument) -> Result<Schema, GraphqlError> {
    let mut schema = Schema::default();
    let mut order: Vec<String> = Vec::new();
    for definition in document.definitions {
        if schema.types.contains_key(&definition.name) {
            return Err(GraphqlError::at(
                definition.position,
                format!("Cannot redeclare type {}.", definition.name),
            ));
        }
        order.push(definition.name.clone());
        schema.types.insert(definition.name.clone(), definition);
    }
    for extension in document.extensions {
        let base = schema.types.entry(extension.name.clone()).or_insert_with(|| {
            order.push(extension.name.clone());
            Definition {
                kind: extension.kind.clone(),
                name: extension.name.clone(),
                position: extension.position,
                ..Definition::default()
            }
        });
        if base.kind != extension.kind {
            return Err(GraphqlError::at(
                extension.position,
                format!(
                    "Cannot extend type {} because the base type is a {}, not {}.",
                    extension.name, base.kind, extension.kind
                ),
            ));
        }
        base.directives.extend(extension.directives);
        base.interfaces.extend(extension.interfaces);
        base.fields.extend(extension.fields);
        base.types.extend(extension.types);
        base.enum_values.extend(extension.enum_values);
    }
    for name in &order {
        let Some(definition) = schema.types.get(name) else { continue };
        let (name, kind, interfaces, members) = (
            definition.name.clone(),
            definition.kind.clone(),
            definition.interfaces.clone(),
            definition.types.clone(),
        );
        let possible = &mut schema.possible_types;
        match kind.as_str() {
            kind::UNION => {
                for member in members {
                    possible.entry(name.clone()).or_default().push(member);
                }
            }
            kind::OBJECT | kind::INPUT_OBJECT => {
                for interface in interfaces {
                    possible.entry(interface).or_default().push(name.clone());
                }
                possible.entry(name.clone()).or_default().push(name.clone());
            }
            kind::INTERFACE => {
                for interface in interfaces {
                    possible.entry(interface).or_default().push(name.clone());
                }
            }
            _ => {}
        }
    }
    for directive in document.directives {
        if schema.directives.contains_key(&directive.name) {
            if matches!(directive.name.as_str(), "include" | "skip" | "deprecated" | "specifiedBy") {
                continue;
            }
            return Err(GraphqlError::at(
                directive.position,
                format!("Cannot redeclare directive {}.", directive.name),
            ));
        }
        schema.directives.insert(directive.name.clone(), directive);
    }
    if let Some(second) = document.schema.get(1) {
        return Err(GraphqlError::at(
            second.position,
            "Cannot have multiple schema entry points, consider schema extensions instead.",
        ));
    }
    for definition in document.schema.iter().chain(&document.schema_extension) {
        for entry in &definition.operation_types {
            if !schema.types.contains_key(&entry.ty) {
                return Err(GraphqlError::at(
                    entry.position,
                    format!(
                        "Schema root {} refers to a type {} that does not exist.",
                        entry.operation, entry.ty
                    ),
                ));
            }
            let root = Some(entry.ty.clone());
            match entry.operation.as_str() {
                "query" => schema.query = root,
                "mutation" => schema.mutation = root,
                "subscription" => schema.subscription = root,
                _ => {}
            }
        }
    }
    for definition in schema.types.values() {
        check_definition(&schema, definition)?;
    }
    for definition in document.schema.iter().chain(&document.schema_extension) {
        check_directives(&schema, &definition.directives, "SCHEMA", None)?;
    }
    for directive in schema.directives.values() {
        check_name(directive.position, &directive.name)?;
        check_arguments(&schema, &directive.arguments, Some(&directive.name))?;
    }
    if document.schema.is_empty() {
        for (slot, name) in [
            (&mut schema.query, "Query"),
            (&mut schema.mutation, "Mutation"),
            (&mut schema.subscription, "Subscription"),
        ] {
            if slot.is_none() && schema.types.contains_key(name) {
                *slot = Some(name.to_owned());
            }
        }
    }
    if let Some(query) = schema.query.clone()
        && let Some(definition) = schema.types.get_mut(&query)
    {
        definition.fields.push(FieldDefinition {
            name: "__schema".into(),
            ty: Type::named("__Schema", true),
            ..Default::default()
        });
        definition.fields.push(FieldDefinition {
            name: "__type".into(),
            ty: Type::named("__Type", false),
            arguments: vec![ArgumentDefinition {
                name: "name".into(),
                ty: Type::named("String", true),
                ..Default::default()
            }],
            ..Default::default()
        });
    }
    Ok(schema)
}

fn check_name(position: Position, name: &str) -> Result<(), GraphqlError> {
    if name.starts_with("__") {
        return Err(GraphqlError::at(
            position,
            format!(
                "Name \"{name}\" must not begin with \"__\", which is reserved by GraphQL introspection."
            ),
        ));
    }
    Ok(())
}

fn check_type_ref(schema: &Schema, ty: &Type) -> Result<(), GraphqlError> {
    if schema.types.contains_key(ty.name()) {
        return Ok(());
    }
    Err(GraphqlError::at(ty.position, format!("Undefined type {}.", ty.name())))
}

fn check_arguments(
    schema: &Schema,
    arguments: &[ArgumentDefinition],
    directive: Option<&str>,
) -> Result<(), GraphqlError> {
    for argument in arguments {
        check_name(argument.position, &argument.name)?;
        check_type_ref(schema, &argument.ty)?;
        if let Some(definition) = schema.types.get(argument.ty.name())
            && !definition.is_input()
        {
            return Err(GraphqlError::at(
                argument.position,
                format!(
                    "cannot use {} as argument {} because {} is not a valid input type",
                    argument.ty, argument.name, definition.kind
                ),
            ));
        }
        check_directives(schema, &argument.directives, "ARGUMENT_DEFINITION", directive)?;
    }
    Ok(())
}

fn check_directives(
    schema: &Schema,
    directives: &[Directive],
    location: &str,
    current: Option<&str>,
) -> Result<(), GraphqlError> {
    for directive in directives {
        check_name(directive.position, &directive.name)?;
        if current == Some(directive.name.as_str()) {
            return Err(GraphqlError::at(
                directive.position,
                format!("Directive {} cannot refer to itself.", directive.name),
            ));
        }
        let Some(definition) = schema.directives.get(&directive.name) else {
            return Err(GraphqlError::at(
                directive.position,
                format!("Undefined directive {}.", directive.name),
            ));
        };
        if !definition.locations.iter().any(|candidate| candidate == location) {
            return Err(GraphqlError::at(
                directive.position,
                format!("Directive {} is not applicable on {location}.", directive.name),
            ));
        }
        // As OPA checks them: arguments must be declared, and required ones given (values are not
        // type-checked in a schema).
        for argument in &directive.arguments {
            if definition.arguments.iter().all(|declared| declared.name != argument.name) {
                return Err(GraphqlError::at(
                    argument.position,
                    format!("Undefined argument {} for directive {}.", argument.name, directive.name),
                ));
            }
        }
        for declared in &definition.arguments {
            let given = directive.arguments.iter().any(|argument| argument.name == declared.name);
            if !given && declared.ty.non_null && declared.default_value.is_none() {
                return Err(GraphqlError::at(
                    directive.position,
                    format!("Argument {} for directive {} cannot be null.", declared.name, directive.name),
                ));
            }
        }
    }
    Ok(())
}

fn check_definition(schema: &Schema, definition: &Definition) -> Result<(), GraphqlError> {
    for field in &definition.fields {
        check_name(field.position, &field.name)?;
        check_type_ref(schema, &field.ty)?;
        check_arguments(schema, &field.arguments, None)?;
        let location =
            if definition.kind == kind::INPUT_OBJECT { "INPUT_FIELD_DEFINITION" } else { "FIELD_DEFINITION" };
        check_directives(schema, &field.directives, location, None)?;
    }
    for member in &definition.types {
        let Some(member_definition) = schema.types.get(member) else {
            return Err(GraphqlError::at(
                definition.position,
                format!("Undefined type {}.", go_quote(member)),
            ));
        };
        if member_definition.kind != kind::OBJECT {
            return Err(GraphqlError::at(
                definition.position,
                format!("{} type {} must be {}.", definition.kind, go_quote(member), kind::OBJECT),
            ));
        }
    }
    for interface in &definition.interfaces {
        check_implements(schema, definition, interface)?;
    }
    let kinds = |allowed: &[&str]| allowed.join(", ");
    match definition.kind.as_str() {
        kind::OBJECT | kind::INTERFACE => {
            if definition.fields.is_empty() {
                return Err(GraphqlError::at(
                    definition.position,
                    format!("{} {}: must define one or more fields.", definition.kind, definition.name),
                ));
            }
            let allowed = [kind::SCALAR, kind::OBJECT, kind::INTERFACE, kind::UNION, kind::ENUM];
            for field in &definition.fields {
                if let Some(ty) = schema.types.get(field.ty.name())
                    && !allowed.contains(&ty.kind.as_str())
                {
                    return Err(GraphqlError::at(
                        field.position,
                        format!(
                            "{} {}: field must be one of {}.",
                            definition.kind,
                            definition.name,
                            kinds(&allowed)
                        ),
                    ));
                }
            }
        }
        kind::ENUM => {
            for value in &definition.enum_values {
                check_directives(schema, &value.directives, "ENUM_VALUE", None)?;
            }
            if definition.enum_values.is_empty() {
                return Err(GraphqlError::at(
                    definition.position,
                    format!(
                        "{} {}: must define one or more unique enum values.",
                        definition.kind, definition.name
                    ),
                ));
            }
            if let Some(value) = definition
                .enum_values
                .iter()
                .find(|value| matches!(value.name.as_str(), "true" | "false" | "null"))
            {
                return Err(GraphqlError::at(
                    definition.position,
                    format!("{} {}: non-enum value {}.", definition.kind, definition.name, value.name),
                ));
            }
        }
        kind::INPUT_OBJECT => {
            if definition.fields.is_empty() {
                return Err(GraphqlError::at(
                    definition.position,
                    format!("{} {}: must define one or more input fields.", definition.kind, definition.name),
                ));
            }
            let allowed = [kind::SCALAR, kind::ENUM, kind::INPUT_OBJECT];
            for field in &definition.fields {
                if let Some(ty) = schema.types.get(field.ty.name())
                    && !allowed.contains(&ty.kind.as_str())
                {
                    return Err(GraphqlError::at(
                        field.position,
                        format!("{} {}: field must be one of {}.", ty.kind, field.name, kinds(&allowed)),
                    ));
                }
            }
        }
        _ => {}
    }
    for (index, first) in definition.fields.iter().enumerate() {
        if let Some(again) = definition.fields[index + 1..].iter().find(|other| other.name == first.name) {
            return Err(GraphqlError::at(
                again.position,
                format!("Field {}.{} can only be defined once.", definition.name, again.name),
            ));
        }
    }
    if !definition.built_in {
        check_name(definition.position, &definition.name)?;
    }
    check_directives(schema, &definition.directives, &definition.kind, None)
}

fn check_implements(
    schema: &Schema,
    definition: &Definition,
    interface_name: &str,
) -> Result<(), GraphqlError> {
    let Some(interface) = schema.types.get(interface_name) else {
        return Err(GraphqlError::at(
            definition.position,
            format!("Undefined type {}.", go_quote(interface_name)),
        ));
    };
    if interface.kind != kind::INTERFACE {
        return Err(GraphqlError::at(
            definition.position,
            format!("{} is a non interface type {}.", go_quote(interface_name), interface.kind),
        ));
    }
    let name = &definition.name;
    for required in &interface.fields {
        let Some(found) = definition.field(&required.name) else {
            return Err(GraphqlError::at(
                definition.position,
                format!(
                    "For {name} to implement {interface_name} it must have a field called {}.",
                    required.name
                ),
            ));
        };
        if !is_covariant(schema, &required.ty, &found.ty) {
            return Err(GraphqlError::at(
                found.position,
                format!(
                    "For {name} to implement {interface_name} the field {} must have type {}.",
                    required.name, required.ty
                ),
            ));
        }
        for required_argument in &required.arguments {
            let Some(found_argument) = found.argument(&required_argument.name) else {
                return Err(GraphqlError::at(
                    found.position,
                    format!(
                        "For {name} to implement {interface_name} the field {} must have the same arguments but it is missing {}.",
                        required.name, required_argument.name
                    ),
                ));
            };
            if !required_argument.ty.same_as(&found_argument.ty) {
                return Err(GraphqlError::at(
                    found_argument.position,
                    format!(
                        "For {name} to implement {interface_name} the field {} must have the same arguments but {} has the wrong type.",
                        required.name, required_argument.name
                    ),
                ));
            }
        }
        for extra in &found.arguments {
            if required.argument(&extra.name).is_none() && extra.ty.non_null && extra.default_value.is_none()
            {
                return Err(GraphqlError::at(
                    extra.position,
                    format!(
                        "For {name} to implement {interface_name} any additional arguments on {} must be optional or have a default value but {} is required.",
                        found.name, extra.name
                    ),
                ));
            }
        }
    }
    for transitive in &interface.interfaces {
        if !definition.interfaces.contains(transitive) {
            let message = if transitive == name {
                format!(
                    "Type {name} cannot implement {interface_name} because it would create a circular reference."
                )
            } else {
                format!(
                    "Type {name} must implement {transitive} because it is implemented by {interface_name}."
                )
            };
            return Err(GraphqlError::at(definition.position, message));
        }
    }
    Ok(())
}

/// Whether a field of type `actual` may stand where an interface declares `required` (spec §3.6.1).
fn is_covariant(schema: &Schema, required: &Type, actual: &Type) -> bool {
    if required.non_null && !actual.non_null {
        return false;
    }
    match (&required.elem, &actual.elem) {
        (None, _) => {
            required.named_type == actual.named_type
                || schema
                    .possible_types
                    .get(&required.named_type)
                    .is_some_and(|possible| possible.contains(&actual.named_type))
        }
        (Some(required), Some(actual)) => is_covariant(schema, required, actual),
        (Some(_), None) => false,
    }
}
