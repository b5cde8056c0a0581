//! Type-system documents: schema definitions, types, directives and extensions.

use super::Parser;
use crate::ast::{
    ArgumentDefinition, Definition, DirectiveDefinition, EnumValueDefinition, FieldDefinition,
    OperationTypeDefinition, SchemaDefinition, SchemaDocument, kind,
};
use crate::error::GraphqlError;
use crate::lexer::Kind;

/// The directive locations of the GraphQL specification (§3.13).
pub const DIRECTIVE_LOCATIONS: &[&str] = &[
    "QUERY",
    "MUTATION",
    "SUBSCRIPTION",
    "FIELD",
    "FRAGMENT_DEFINITION",
    "FRAGMENT_SPREAD",
    "INLINE_FRAGMENT",
    "VARIABLE_DEFINITION",
    "SCHEMA",
    "SCALAR",
    "OBJECT",
    "FIELD_DEFINITION",
    "ARGUMENT_DEFINITION",
    "INTERFACE",
    "UNION",
    "ENUM",
    "ENUM_VALUE",
    "INPUT_OBJECT",
    "INPUT_FIELD_DEFINITION",
];

/// Parses a type-system document (SDL).
pub fn parse_schema(text: &str) -> Result<SchemaDocument, GraphqlError> {
    let mut parser = Parser::new(text);
    let document = parser.schema_document();
    parser.finish(document)
}

impl Parser<'_> {
    fn schema_document(&mut self) -> SchemaDocument {
        let mut document = SchemaDocument::default();
        while self.peek_kind() != Kind::Eof && self.err.is_none() {
            let description = self.description();
            if self.peek_kind() != Kind::Name {
                self.unexpected();
                break;
            }
            let keyword = self.peek().value.clone();
            match keyword.as_str() {
                "scalar" | "type" | "interface" | "union" | "enum" | "input" => {
                    let definition = self.type_definition(&keyword, description);
                    document.definitions.push(definition);
                }
                "schema" => {
                    let definition = self.schema_definition(description);
                    document.schema.push(definition);
                }
                "directive" => {
                    let definition = self.directive_definition(description);
                    document.directives.push(definition);
                }
                "extend" => {
                    if !description.is_empty() {
                        let prev = self.prev.clone();
                        self.unexpected_token(&prev);
                    }
                    self.type_system_extension(&mut document);
                }
                _ => {
                    self.unexpected();
                    break;
                }
            }
        }
        document
    }

    fn description(&mut self) -> String {
        match self.peek_kind() {
            Kind::String | Kind::BlockString => self.next().value,
            _ => String::new(),
        }
    }

    fn type_definition(&mut self, keyword: &str, description: String) -> Definition {
        self.expect_keyword(keyword);
        let position = self.peek_position();
        let name = self.parse_name();
        let mut definition = Definition { description, name, position, ..Definition::default() };
        match keyword {
            "scalar" => {
                definition.kind = kind::SCALAR.into();
                definition.directives = self.parse_directives(true);
            }
            "type" | "interface" => {
                definition.kind = if keyword == "type" { kind::OBJECT } else { kind::INTERFACE }.into();
                definition.interfaces = self.implements_interfaces();
                definition.directives = self.parse_directives(true);
                definition.fields = self.fields_definition();
            }
            "union" => {
                definition.kind = kind::UNION.into();
                definition.directives = self.parse_directives(true);
                definition.types = self.union_members();
            }
            "enum" => {
                definition.kind = kind::ENUM.into();
                definition.directives = self.parse_directives(true);
                definition.enum_values = self.enum_values();
            }
            _ => {
                definition.kind = kind::INPUT_OBJECT.into();
                definition.directives = self.parse_directives(true);
                definition.fields = self.input_fields();
            }
        }
        definition
    }

    fn schema_definition(&mut self, description: String) -> SchemaDefinition {
        self.expect_keyword("schema");
        let position = self.peek_position();
        let directives = self.parse_directives(true);
        let operation_types = self.operation_types();
        SchemaDefinition { description, directives, operation_types, position }
    }

    fn operation_types(&mut self) -> Vec<OperationTypeDefinition> {
        let mut types = Vec::new();
        self.some(Kind::BraceL, Kind::BraceR, |p| {
            let position = p.peek_position();
            let operation = p.parse_operation_type();
            p.expect(Kind::Colon);
            let ty = p.parse_name();
            types.push(OperationTypeDefinition { operation, ty, position });
        });
        types
    }

    fn implements_interfaces(&mut self) -> Vec<String> {
        let mut interfaces = Vec::new();
        if self.peek_is_name("implements") {
            self.next();
            self.skip(Kind::Amp);
            interfaces.push(self.parse_name());
            while self.skip(Kind::Amp) && self.err.is_none() {
                interfaces.push(self.parse_name());
            }
        }
        interfaces
    }

    /// `{ name(args): Type @dirs … }` of an object or interface, or (`input`) `{ name: Type = default
    /// @dirs … }` of an input object.
    fn field_definitions(&mut self, input: bool) -> Vec<FieldDefinition> {
        let mut fields = Vec::new();
        self.some(Kind::BraceL, Kind::BraceR, |p| {
            let position = p.peek_position();
            let description = p.description();
            let name = p.parse_name();
            let arguments = if input { Vec::new() } else { p.argument_definitions() };
            p.expect(Kind::Colon);
            let ty = p.parse_type();
            let default_value = (input && p.skip(Kind::Equals)).then(|| p.parse_value(true));
            let directives = p.parse_directives(true);
            fields.push(FieldDefinition {
                description,
                name,
                arguments,
                default_value,
                ty,
                directives,
                position,
            });
        });
        fields
    }

    fn fields_definition(&mut self) -> Vec<FieldDefinition> {
        self.field_definitions(false)
    }

    fn argument_definitions(&mut self) -> Vec<ArgumentDefinition> {
        let mut arguments = Vec::new();
        self.some(Kind::ParenL, Kind::ParenR, |p| {
            let position = p.peek_position();
            let description = p.description();
            let name = p.parse_name();
            p.expect(Kind::Colon);
            let ty = p.parse_type();
            let default_value = p.skip(Kind::Equals).then(|| p.parse_value(true));
            let directives = p.parse_directives(true);
            arguments.push(ArgumentDefinition { description, name, default_value, ty, directives, position });
        });
        arguments
    }

    fn input_fields(&mut self) -> Vec<FieldDefinition> {
        self.field_definitions(true)
    }

    fn union_members(&mut self) -> Vec<String> {
        let mut types = Vec::new();
        if self.skip(Kind::Equals) {
            self.skip(Kind::Pipe);
            types.push(self.parse_name());
            while self.skip(Kind::Pipe) && self.err.is_none() {
                types.push(self.parse_name());
            }
        }
        types
    }

    fn enum_values(&mut self) -> Vec<EnumValueDefinition> {
        let mut values = Vec::new();
        self.some(Kind::BraceL, Kind::BraceR, |p| {
            let position = p.peek_position();
            let description = p.description();
            let name = p.parse_name();
            let directives = p.parse_directives(true);
            values.push(EnumValueDefinition { description, name, directives, position });
        });
        values
    }

    fn type_system_extension(&mut self, document: &mut SchemaDocument) {
        self.expect_keyword("extend");
        let keyword = self.peek().value.clone();
        match keyword.as_str() {
            "schema" => {
                self.expect_keyword("schema");
                let position = self.peek_position();
                let directives = self.parse_directives(true);
                let operation_types = self.operation_types();
                if directives.is_empty() && operation_types.is_empty() {
                    self.unexpected();
                }
                document.schema_extension.push(SchemaDefinition {
                    description: String::new(),
                    directives,
                    operation_types,
                    position,
                });
            }
            "scalar" | "type" | "interface" | "union" | "enum" | "input" => {
                self.expect_keyword(&keyword);
                let position = self.peek_position();
                let name = self.parse_name();
                let mut extension = Definition { name, position, ..Definition::default() };
                let empty = match keyword.as_str() {
                    "scalar" => {
                        extension.kind = kind::SCALAR.into();
                        extension.directives = self.parse_directives(true);
                        extension.directives.is_empty()
                    }
                    "type" => {
                        extension.kind = kind::OBJECT.into();
                        extension.interfaces = self.implements_interfaces();
                        extension.directives = self.parse_directives(true);
                        extension.fields = self.fields_definition();
                        extension.interfaces.is_empty()
                            && extension.directives.is_empty()
                            && extension.fields.is_empty()
                    }
                    "interface" => {
                        extension.kind = kind::INTERFACE.into();
                        extension.directives = self.parse_directives(true);
                        extension.fields = self.fields_definition();
                        extension.directives.is_empty() && extension.fields.is_empty()
                    }
                    "union" => {
                        extension.kind = kind::UNION.into();
                        extension.directives = self.parse_directives(true);
                        extension.types = self.union_members();
                        extension.directives.is_empty() && extension.types.is_empty()
                    }
                    "enum" => {
                        extension.kind = kind::ENUM.into();
                        extension.directives = self.parse_directives(true);
                        extension.enum_values = self.enum_values();
                        extension.directives.is_empty() && extension.enum_values.is_empty()
                    }
                    _ => {
                        extension.kind = kind::INPUT_OBJECT.into();
                        extension.directives = self.parse_directives(false);
                        extension.fields = self.input_fields();
                        extension.directives.is_empty() && extension.fields.is_empty()
                    }
                };
                if empty {
                    self.unexpected();
                }
                document.extensions.push(extension);
            }
            _ => self.unexpected(),
        }
    }

    fn directive_definition(&mut self, description: String) -> DirectiveDefinition {
        self.expect_keyword("directive");
        self.expect(Kind::At);
        let position = self.peek_position();
        let name = self.parse_name();
        let arguments = self.argument_definitions();
        let is_repeatable = self.peek_is_name("repeatable");
        if is_repeatable {
            self.next();
        }
        self.expect_keyword("on");
        self.skip(Kind::Pipe);
        let mut locations = vec![self.directive_location()];
        while self.skip(Kind::Pipe) && self.err.is_none() {
            locations.push(self.directive_location());
        }
        DirectiveDefinition { description, name, arguments, locations, is_repeatable, position }
    }

    fn directive_location(&mut self) -> String {
        let token = self.expect(Kind::Name);
        if DIRECTIVE_LOCATIONS.contains(&token.value.as_str()) {
            return token.value;
        }
        self.unexpected_token(&token);
        String::new()
    }
}
