//! The GraphQL document types, shaped and named as OPA's GraphQL library (gqlparser) names them, because
//! `graphql.parse_query` and friends return them to policies as objects and accept them back. Serialising
//! gives every field (Go's zero values included); [`to_opa_value`] then prunes the way OPA does.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::Position;

/// Value kinds, numbered as gqlparser's `ValueKind` (they appear as numbers in the returned AST).
pub mod value_kind {
    /// `$name`
    pub const VARIABLE: u8 = 0;
    /// `12`
    pub const INT: u8 = 1;
    /// `1.5`
    pub const FLOAT: u8 = 2;
    /// `"text"`
    pub const STRING: u8 = 3;
    /// `"""text"""`
    pub const BLOCK: u8 = 4;
    /// `true` / `false`
    pub const BOOLEAN: u8 = 5;
    /// `null`
    pub const NULL: u8 = 6;
    /// `RED`
    pub const ENUM: u8 = 7;
    /// `[…]`
    pub const LIST: u8 = 8;
    /// `{…}`
    pub const OBJECT: u8 = 9;
}

/// An executable document: operations and fragments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct QueryDocument {
    /// `query`, `mutation` and `subscription` operations, in order.
    pub operations: Vec<OperationDefinition>,
    /// Fragment definitions, in order.
    pub fragments: Vec<FragmentDefinition>,
}

/// One operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct OperationDefinition {
    /// `query`, `mutation` or `subscription`.
    pub operation: String,
    /// Empty for an anonymous operation.
    pub name: String,
    /// `($x: T = default @dir)`
    pub variable_definitions: Vec<VariableDefinition>,
    /// Directives on the operation.
    pub directives: Vec<Directive>,
    /// The selections.
    pub selection_set: Vec<Selection>,
    /// Where it starts.
    #[serde(skip)]
    pub position: Position,
}

/// A variable an operation (or, experimentally, a fragment) declares.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VariableDefinition {
    /// The name, without `$`.
    pub variable: String,
    /// The declared type.
    #[serde(rename = "Type")]
    pub ty: Type,
    /// `= value`
    pub default_value: Option<Value>,
    /// Directives on the definition.
    pub directives: Vec<Directive>,
    /// Set by validation in gqlparser; always false in a parsed document.
    pub used: bool,
    /// Where it starts.
    #[serde(skip)]
    pub position: Position,
}

/// `fragment Name on Type { … }`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FragmentDefinition {
    /// The fragment's name.
    pub name: String,
    /// Fragment variables (an experimental syntax gqlparser parses); singular as gqlparser names it.
    pub variable_definition: Vec<VariableDefinition>,
    /// The type after `on`.
    pub type_condition: String,
    /// Directives on the definition.
    pub directives: Vec<Directive>,
    /// The selections.
    pub selection_set: Vec<Selection>,
    /// Where it starts.
    #[serde(skip)]
    pub position: Position,
}

/// One entry of a selection set.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Selection {
    /// `alias: name(args) @dirs { … }`
    Field(Field),
    /// `...Name @dirs`
    FragmentSpread(FragmentSpread),
    /// `... on Type @dirs { … }`
    InlineFragment(InlineFragment),
}

impl<'de> Deserialize<'de> for Selection {
    /// gqlparser's own decoder tries each shape in turn; these rules tell the shapes apart the way the
    /// parser writes them: a field always has `Alias`, an inline fragment has a `TypeCondition` or no
    /// `Name`, and anything else named is a fragment spread.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let object = value.as_object().ok_or_else(|| D::Error::custom("a selection must be an object"))?;
        let has = |key: &str| object.contains_key(key);
        let selection = if has("Alias") || has("Arguments") {
            Selection::Field(serde_json::from_value(value).map_err(D::Error::custom)?)
        } else if has("TypeCondition") || !has("Name") {
            Selection::InlineFragment(serde_json::from_value(value).map_err(D::Error::custom)?)
        } else if has("SelectionSet") {
            Selection::Field(serde_json::from_value(value).map_err(D::Error::custom)?)
        } else {
            Selection::FragmentSpread(serde_json::from_value(value).map_err(D::Error::custom)?)
        };
        Ok(selection)
    }
}

/// A field selection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Field {
    /// The response key: the alias, or the name when there is none.
    pub alias: String,
    /// The field's name.
    pub name: String,
    /// `(name: value, …)`
    pub arguments: Vec<Argument>,
    /// Directives on the field.
    pub directives: Vec<Directive>,
    /// Sub-selections.
    pub selection_set: Vec<Selection>,
    /// Where it starts.
    #[serde(skip)]
    pub position: Position,
}

/// `name: value`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Argument {
    /// The argument's name.
    pub name: String,
    /// Its value.
    pub value: Value,
    /// Where it starts.
    #[serde(skip)]
    pub position: Position,
}

/// `...Name`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FragmentSpread {
    /// The fragment spread.
    pub name: String,
    /// Directives on the spread.
    pub directives: Vec<Directive>,
    /// Where it starts.
    #[serde(skip)]
    pub position: Position,
}

/// `... on Type { … }`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InlineFragment {
    /// Empty when there is no `on Type`.
    pub type_condition: String,
    /// Directives on the fragment.
    pub directives: Vec<Directive>,
    /// The selections.
    pub selection_set: Vec<Selection>,
    /// Where it starts.
    #[serde(skip)]
    pub position: Position,
}

/// `@name(args)`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Directive {
    /// The directive's name, without `@`.
    pub name: String,
    /// Its arguments.
    pub arguments: Vec<Argument>,
    /// Set by validation in gqlparser; empty in a parsed document.
    pub location: String,
    /// Where its name starts.
    #[serde(skip)]
    pub position: Position,
}

/// A literal or variable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Value {
    /// The text: the variable's name, the number, the decoded string, the enum value; empty for lists
    /// and objects.
    pub raw: String,
    /// List items (with empty names) or object fields.
    pub children: Vec<ChildValue>,
    /// One of [`value_kind`].
    pub kind: u8,
    /// Set by validation in gqlparser; false in a parsed document.
    pub expected_type_has_default: bool,
    /// Where it starts.
    #[serde(skip)]
    pub position: Position,
}

/// A list item or object field of a [`Value`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ChildValue {
    /// The object field's name; empty for a list item.
    pub name: String,
    /// The item or field value.
    pub value: Value,
    /// Where it starts.
    #[serde(skip)]
    pub position: Position,
}

/// A type reference: a named type, or a list of one, either possibly non-null.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Type {
    /// The name; empty for a list type.
    pub named_type: String,
    /// The item type of a list type.
    pub elem: Option<Box<Type>>,
    /// `!`
    pub non_null: bool,
    /// Where it starts.
    #[serde(skip)]
    pub position: Position,
}

impl Type {
    /// A named type.
    pub fn named(name: &str, non_null: bool) -> Self {
        Self { named_type: name.to_owned(), elem: None, non_null, position: Position::default() }
    }

    /// The innermost named type.
    pub fn name(&self) -> &str {
        match &self.elem {
            Some(elem) => elem.name(),
            None => &self.named_type,
        }
    }

    /// Whether `other` is the same type, list and non-null wrappers included.
    pub fn same_as(&self, other: &Type) -> bool {
        self.named_type == other.named_type
            && self.non_null == other.non_null
            && match (&self.elem, &other.elem) {
                (Some(a), Some(b)) => a.same_as(b),
                (None, None) => true,
                _ => false,
            }
    }
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.elem {
            Some(elem) => write!(f, "[{elem}]")?,
            None => f.write_str(&self.named_type)?,
        }
        if self.non_null { f.write_str("!") } else { Ok(()) }
    }
}

/// A type-system document: schema definitions, directives, types and extensions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SchemaDocument {
    /// `schema { … }` definitions.
    pub schema: Vec<SchemaDefinition>,
    /// `extend schema …`
    pub schema_extension: Vec<SchemaDefinition>,
    /// `directive @…` definitions.
    pub directives: Vec<DirectiveDefinition>,
    /// Type definitions.
    pub definitions: Vec<Definition>,
    /// `extend type …` and the other type extensions.
    pub extensions: Vec<Definition>,
}

impl SchemaDocument {
    /// Appends everything in `other`.
    pub fn merge(&mut self, other: SchemaDocument) {
        self.schema.extend(other.schema);
        self.schema_extension.extend(other.schema_extension);
        self.directives.extend(other.directives);
        self.definitions.extend(other.definitions);
        self.extensions.extend(other.extensions);
    }
}

/// `schema @dirs { query: Q … }`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SchemaDefinition {
    /// Its description.
    pub description: String,
    /// Directives on it.
    pub directives: Vec<Directive>,
    /// The root operation types.
    pub operation_types: Vec<OperationTypeDefinition>,
    /// Where it starts.
    #[serde(skip)]
    pub position: Position,
}

/// `query: TypeName`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct OperationTypeDefinition {
    /// `query`, `mutation` or `subscription`.
    pub operation: String,
    /// The root type's name.
    #[serde(rename = "Type")]
    pub ty: String,
    /// Where it starts.
    #[serde(skip)]
    pub position: Position,
}

/// `directive @name(args) repeatable on LOCATIONS`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DirectiveDefinition {
    /// Its description.
    pub description: String,
    /// Its name, without `@`.
    pub name: String,
    /// Its arguments.
    pub arguments: Vec<ArgumentDefinition>,
    /// Where it may appear (`FIELD`, `OBJECT`, …).
    pub locations: Vec<String>,
    /// `repeatable`
    pub is_repeatable: bool,
    /// Where its name starts.
    #[serde(skip)]
    pub position: Position,
}

/// A type definition or extension (object, interface, union, enum, input object or scalar).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Definition {
    /// `OBJECT`, `INTERFACE`, `UNION`, `ENUM`, `INPUT_OBJECT` or `SCALAR`.
    pub kind: String,
    /// Its description.
    pub description: String,
    /// Its name.
    pub name: String,
    /// Directives on it.
    pub directives: Vec<Directive>,
    /// Interfaces it implements.
    pub interfaces: Vec<String>,
    /// Fields (objects, interfaces) or input fields (input objects).
    pub fields: Vec<FieldDefinition>,
    /// Union members.
    pub types: Vec<String>,
    /// Enum values.
    pub enum_values: Vec<EnumValueDefinition>,
    /// True for the built-in scalars and introspection types.
    #[serde(rename = "BuiltIn")]
    pub built_in: bool,
    /// Where its name starts.
    #[serde(skip)]
    pub position: Position,
}

impl Definition {
    /// Whether it is an object, interface or union.
    pub fn is_composite(&self) -> bool {
        matches!(self.kind.as_str(), kind::OBJECT | kind::INTERFACE | kind::UNION)
    }

    /// Whether it is a scalar or enum.
    pub fn is_leaf(&self) -> bool {
        matches!(self.kind.as_str(), kind::SCALAR | kind::ENUM)
    }

    /// Whether it is an interface or union.
    pub fn is_abstract(&self) -> bool {
        matches!(self.kind.as_str(), kind::INTERFACE | kind::UNION)
    }

    /// Whether it may be the type of an argument or variable.
    pub fn is_input(&self) -> bool {
        matches!(self.kind.as_str(), kind::SCALAR | kind::ENUM | kind::INPUT_OBJECT)
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&FieldDefinition> {
        self.fields.iter().find(|field| field.name == name)
    }
}

/// The kinds of [`Definition`].
pub mod kind {
    /// A scalar.
    pub const SCALAR: &str = "SCALAR";
    /// An object type.
    pub const OBJECT: &str = "OBJECT";
    /// An interface.
    pub const INTERFACE: &str = "INTERFACE";
    /// A union.
    pub const UNION: &str = "UNION";
    /// An enum.
    pub const ENUM: &str = "ENUM";
    /// An input object.
    pub const INPUT_OBJECT: &str = "INPUT_OBJECT";
}

/// A field of an object or interface, or an input field of an input object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FieldDefinition {
    /// Its description.
    pub description: String,
    /// Its name.
    pub name: String,
    /// Its arguments (object and interface fields).
    pub arguments: Vec<ArgumentDefinition>,
    /// Its default (input fields).
    pub default_value: Option<Value>,
    /// Its type.
    #[serde(rename = "Type")]
    pub ty: Type,
    /// Directives on it.
    pub directives: Vec<Directive>,
    /// Where it starts.
    #[serde(skip)]
    pub position: Position,
}

impl FieldDefinition {
    /// The argument called `name`.
    pub fn argument(&self, name: &str) -> Option<&ArgumentDefinition> {
        self.arguments.iter().find(|argument| argument.name == name)
    }
}

/// An argument of a field or directive definition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ArgumentDefinition {
    /// Its description.
    pub description: String,
    /// Its name.
    pub name: String,
    /// `= value`
    pub default_value: Option<Value>,
    /// Its type.
    #[serde(rename = "Type")]
    pub ty: Type,
    /// Directives on it.
    pub directives: Vec<Directive>,
    /// Where it starts.
    #[serde(skip)]
    pub position: Position,
}

/// One value of an enum.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EnumValueDefinition {
    /// Its description.
    pub description: String,
    /// Its name.
    pub name: String,
    /// Directives on it.
    pub directives: Vec<Directive>,
    /// Where it starts.
    #[serde(skip)]
    pub position: Position,
}

/// `value` as OPA returns a GraphQL AST: nulls, empty lists and empty objects dropped, at every depth.
pub fn to_opa_value<T: Serialize>(value: &T) -> serde_json::Value {
    prune(serde_json::to_value(value).unwrap_or(serde_json::Value::Null))
}

fn prune(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    let keep = |value: &J| match value {
        J::Null => false,
        J::Array(items) => !items.is_empty(),
        J::Object(map) => !map.is_empty(),
        _ => true,
    };
    match value {
        J::Array(items) => J::Array(items.into_iter().map(prune).filter(keep).collect()),
        J::Object(map) => J::Object(
            map.into_iter()
                .filter(|(key, _)| key != "Position")
                .map(|(key, value)| (key, prune(value)))
                .filter(|(_, value)| keep(value))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_drops_nulls_and_empty_collections_but_keeps_falsy_scalars() {
        let value = serde_json::json!({"A": null, "B": [], "C": {}, "D": "", "E": false, "F": 0,
            "G": [null, {}, [], {"H": []}, 1], "Position": {"Line": 1}});
        assert_eq!(prune(value), serde_json::json!({"D": "", "E": false, "F": 0, "G": [1]}));
    }

    #[test]
    fn selections_decode_by_their_keys() {
        let set: Vec<Selection> = serde_json::from_value(serde_json::json!([
            {"Alias": "a", "Name": "a"}, {"Name": "Frag"}, {"TypeCondition": "T", "SelectionSet": [{"Alias": "x", "Name": "x"}]},
            {"SelectionSet": [{"Name": "F"}]}
        ]))
        .unwrap();
        assert!(matches!(&set[0], Selection::Field(f) if f.name == "a"));
        assert!(matches!(&set[1], Selection::FragmentSpread(f) if f.name == "Frag"));
        assert!(matches!(&set[2], Selection::InlineFragment(f) if f.type_condition == "T"));
        assert!(matches!(&set[3], Selection::InlineFragment(f) if f.type_condition.is_empty()));
        assert!(serde_json::from_value::<Vec<Selection>>(serde_json::json!([1])).is_err());
    }

    #[test]
    fn types_print_as_graphql() {
        let list =
            Type { elem: Some(Box::new(Type::named("String", true))), non_null: true, ..Type::default() };
        assert_eq!(list.to_string(), "[String!]!");
        assert_eq!(list.name(), "String");
    }
}
