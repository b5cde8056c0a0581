//! Values of the correct type (spec §5.6.1) and unique input field names (§5.6.3).

use std::collections::BTreeSet;

use super::Validator;
use crate::ast::{Type, Value, kind, value_kind};
use crate::lexer::go_quote;

/// A value printed as GraphQL, for messages.
pub(super) fn print(value: &Value) -> String {
    match value.kind {
        value_kind::VARIABLE => format!("${}", value.raw),
        value_kind::STRING | value_kind::BLOCK => go_quote(&value.raw),
        value_kind::LIST => {
            let items: Vec<String> = value.children.iter().map(|child| print(&child.value)).collect();
            format!("[{}]", items.join(", "))
        }
        value_kind::OBJECT => {
            let fields: Vec<String> = value
                .children
                .iter()
                .map(|child| format!("{}: {}", child.name, print(&child.value)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        _ => value.raw.clone(),
    }
}

impl Validator<'_> {
    /// Checks `value` against `expected` (when it is known); variables are checked by the variable rules.
    /// Like gqlparser (and so OPA), an `Int` literal is not checked against the 32-bit range.
    pub(super) fn value(&mut self, value: &Value, expected: Option<&Type>) {
        if value.kind == value_kind::OBJECT {
            let mut seen = BTreeSet::new();
            for child in &value.children {
                if !seen.insert(child.name.as_str()) {
                    self.error(
                        child.position,
                        format!("There can be only one input field named \"{}\".", child.name),
                    );
                }
            }
        }
        let Some(expected) = expected else {
            for child in &value.children {
                self.value(&child.value, None);
            }
            return;
        };
        match value.kind {
            value_kind::VARIABLE => return,
            value_kind::NULL => {
                if expected.non_null {
                    self.error(value.position, format!("Expected value of type \"{expected}\", found null."));
                }
                return;
            }
            _ => {}
        }
        if let Some(item) = &expected.elem {
            if value.kind == value_kind::LIST {
                for child in &value.children {
                    self.value(&child.value, Some(item));
                }
            } else {
                self.value(value, Some(item));
            }
            return;
        }
        let Some(definition) = self.schema.get(&expected.named_type) else { return };
        let mismatch = format!("Expected value of type \"{expected}\", found {}.", print(value));
        match definition.kind.as_str() {
            kind::INPUT_OBJECT => {
                if value.kind != value_kind::OBJECT {
                    self.error(value.position, mismatch);
                    return;
                }
                for child in &value.children {
                    match definition.field(&child.name) {
                        Some(field) => self.value(&child.value, Some(&field.ty)),
                        None => {
                            self.error(
                                child.position,
                                format!(
                                    "Field \"{}\" is not defined by type \"{}\".",
                                    child.name, definition.name
                                ),
                            );
                            self.value(&child.value, None);
                        }
                    }
                }
                for field in &definition.fields {
                    let given = value.children.iter().any(|child| child.name == field.name);
                    if !given && field.ty.non_null && field.default_value.is_none() {
                        self.error(
                            value.position,
                            format!(
                                "Field \"{}.{}\" of required type \"{}\" was not provided.",
                                definition.name, field.name, field.ty
                            ),
                        );
                    }
                }
            }
            kind::ENUM => {
                if value.kind != value_kind::ENUM {
                    self.error(
                        value.position,
                        format!(
                            "Enum \"{}\" cannot represent non-enum value: {}.",
                            definition.name,
                            print(value)
                        ),
                    );
                } else if !definition.enum_values.iter().any(|v| v.name == value.raw) {
                    self.error(
                        value.position,
                        format!("Value \"{}\" does not exist in \"{}\" enum.", value.raw, definition.name),
                    );
                }
            }
            kind::SCALAR => {
                let problem = match definition.name.as_str() {
                    "Int" if value.kind != value_kind::INT => {
                        Some(format!("Int cannot represent non-integer value: {}", print(value)))
                    }
                    "Float" if !matches!(value.kind, value_kind::INT | value_kind::FLOAT) => {
                        Some(format!("Float cannot represent non numeric value: {}", print(value)))
                    }
                    "String" if !matches!(value.kind, value_kind::STRING | value_kind::BLOCK) => {
                        Some(format!("String cannot represent a non string value: {}", print(value)))
                    }
                    "Boolean" if value.kind != value_kind::BOOLEAN => {
                        Some(format!("Boolean cannot represent a non boolean value: {}", print(value)))
                    }
                    "ID" if !matches!(
                        value.kind,
                        value_kind::INT | value_kind::STRING | value_kind::BLOCK
                    ) =>
                    {
                        Some(format!(
                            "ID cannot represent a non-string and non-integer value: {}",
                            print(value)
                        ))
                    }
                    _ => None,
                };
                if let Some(problem) = problem {
                    self.error(value.position, problem);
                }
            }
            _ => self.error(value.position, mismatch),
        }
    }
}
