//! Executable documents: operations, fragments, selections.

use super::Parser;
use crate::ast::{
    Field, FragmentDefinition, FragmentSpread, InlineFragment, OperationDefinition, QueryDocument, Selection,
    VariableDefinition,
};
use crate::error::GraphqlError;
use crate::lexer::Kind;

/// Parses an executable document (queries, mutations, subscriptions and fragments).
pub fn parse_query(text: &str) -> Result<QueryDocument, GraphqlError> {
    let mut parser = Parser::new(text);
    let document = parser.query_document();
    parser.finish(document)
}

impl Parser<'_> {
    fn query_document(&mut self) -> QueryDocument {
        let mut document = QueryDocument::default();
        while self.peek_kind() != Kind::Eof && self.err.is_none() {
            let token = self.peek().clone();
            match (token.kind, token.value.as_str()) {
                (Kind::Name, "query" | "mutation" | "subscription") | (Kind::BraceL, _) => {
                    let operation = self.operation_definition();
                    document.operations.push(operation);
                }
                (Kind::Name, "fragment") => {
                    let fragment = self.fragment_definition();
                    document.fragments.push(fragment);
                }
                _ => self.unexpected(),
            }
        }
        document
    }

    fn operation_definition(&mut self) -> OperationDefinition {
        let position = self.peek_position();
        if self.peek_kind() == Kind::BraceL {
            let selection_set = self.required_selection_set();
            return OperationDefinition {
                operation: "query".into(),
                selection_set,
                position,
                ..Default::default()
            };
        }
        let operation = self.parse_operation_type();
        let name = if self.peek_kind() == Kind::Name { self.next().value } else { String::new() };
        let variable_definitions = self.variable_definitions();
        let directives = self.parse_directives(false);
        let selection_set = self.required_selection_set();
        OperationDefinition { operation, name, variable_definitions, directives, selection_set, position }
    }

    fn variable_definitions(&mut self) -> Vec<VariableDefinition> {
        let mut definitions = Vec::new();
        self.many(Kind::ParenL, Kind::ParenR, |p| {
            let position = p.peek_position();
            let variable = p.parse_variable();
            p.expect(Kind::Colon);
            let ty = p.parse_type();
            let default_value = p.skip(Kind::Equals).then(|| p.parse_value(true));
            let directives = p.parse_directives(false);
            definitions.push(VariableDefinition {
                variable,
                ty,
                default_value,
                directives,
                used: false,
                position,
            });
        });
        definitions
    }

    fn selection_set(&mut self) -> Vec<Selection> {
        let mut selections = Vec::new();
        if !self.enter() {
            return selections;
        }
        self.some(Kind::BraceL, Kind::BraceR, |p| {
            let selection = p.selection();
            selections.push(selection);
        });
        self.leave();
        selections
    }

    fn required_selection_set(&mut self) -> Vec<Selection> {
        let token = self.peek().clone();
        if token.kind != Kind::BraceL {
            self.error(token.position, format!("Expected {}, found {}", Kind::BraceL, token.kind));
            return Vec::new();
        }
        self.selection_set()
    }

    fn selection(&mut self) -> Selection {
        if self.peek_kind() == Kind::Spread {
            return self.fragment();
        }
        let position = self.peek_position();
        let alias = self.parse_name();
        let name = if self.skip(Kind::Colon) { self.parse_name() } else { alias.clone() };
        let arguments = self.parse_arguments(false);
        let directives = self.parse_directives(false);
        let selection_set = if self.peek_kind() == Kind::BraceL { self.selection_set() } else { Vec::new() };
        Selection::Field(Field { alias, name, arguments, directives, selection_set, position })
    }

    fn fragment(&mut self) -> Selection {
        self.expect(Kind::Spread);
        let token = self.peek().clone();
        if token.kind == Kind::Name && token.value != "on" {
            let name = self.fragment_name();
            let directives = self.parse_directives(false);
            return Selection::FragmentSpread(FragmentSpread { name, directives, position: token.position });
        }
        let mut type_condition = String::new();
        if token.value == "on" {
            self.next();
            type_condition = self.parse_name();
        }
        let directives = self.parse_directives(false);
        let selection_set = self.required_selection_set();
        Selection::InlineFragment(InlineFragment {
            type_condition,
            directives,
            selection_set,
            position: token.position,
        })
    }

    fn fragment_definition(&mut self) -> FragmentDefinition {
        let position = self.peek_position();
        self.expect_keyword("fragment");
        let name = self.fragment_name();
        let variable_definition = self.variable_definitions();
        self.expect_keyword("on");
        let type_condition = self.parse_name();
        let directives = self.parse_directives(false);
        let selection_set = self.required_selection_set();
        FragmentDefinition { name, variable_definition, type_condition, directives, selection_set, position }
    }

    fn fragment_name(&mut self) -> String {
        if self.peek_is_name("on") {
            self.unexpected();
            return String::new();
        }
        self.parse_name()
    }
}
