//! YAML with a position on every node, so schema errors can name line and column.
//!
//! saphyr's `MarkedYaml` does the parsing (and rejects duplicate keys and alias bombs); this module turns
//! it into a small owned tree that can be converted to JSON for schema validation and searched by JSON
//! pointer to find where a value was written.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use serde_json::{Map, Number, Value};

/// A 1-based line and column (in characters), as editors count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// 0-based character index in the source.
    pub index: usize,
}

impl Position {
    fn from_marker(marker: &saphyr::Marker) -> Self {
        // Markers count lines from 1; a default (unset) marker says 0, which no editor can show.
        Position { line: marker.line().max(1), column: marker.col() + 1, index: marker.index() }
    }
}

/// A YAML node with where it starts and ends in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's value.
    pub value: NodeValue,
    /// Where the node starts.
    pub start: Position,
    /// Where the node ends (exclusive).
    pub end: Position,
}

/// The value of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Integer(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    String(String),
    /// A sequence.
    Sequence(Vec<Node>),
    /// A mapping, in document order, with each key's node.
    Mapping(Vec<(Node, Node)>),
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub position: Position,
}

/// Parses `source` as a single YAML document. `Ok(None)` means the file holds no document at all.
pub fn parse(source: &str) -> Result<Option<Node>, SyntaxError> {
    let documents = MarkedYaml::load_from_str(source).map_err(|err| SyntaxError {
        message: err.info().to_owned(),
        position: Position::from_marker(err.marker()),
    })?;
    let mut documents = documents.into_iter();
    let Some(first) = documents.next() else { return Ok(None) };
    if let Some(second) = documents.next() {
        return Err(SyntaxError {
            message: "a policy file holds one YAML document, found a second one".to_owned(),
            position: Position::from_marker(&second.span.start),
        });
    }
    convert(&first).map(Some)
}

/// Parses every document of a multi-document YAML stream (`---` separated), in order.
pub fn parse_documents(source: &str) -> Result<Vec<Node>, SyntaxError> {
    let documents = MarkedYaml::load_from_str(source).map_err(|err| SyntaxError {
        message: err.info().to_owned(),
        position: Position::from_marker(err.marker()),
    })?;
    documents.iter().map(convert).collect()
}

fn convert(node: &MarkedYaml<'_>) -> Result<Node, SyntaxError> {
    let start = Position::from_marker(&node.span.start);
    let end = Position::from_marker(&node.span.end);
    let unsupported = |what: &str| SyntaxError { message: what.to_owned(), position: start };
    let value = match &node.data {
        YamlData::Value(scalar) => match scalar {
            Scalar::Null => NodeValue::Null,
            Scalar::Boolean(b) => NodeValue::Bool(*b),
            Scalar::Integer(i) => NodeValue::Integer(*i),
            Scalar::FloatingPoint(f) => NodeValue::Float(f.into_inner()),
            Scalar::String(s) => NodeValue::String(s.to_string()),
        },
        YamlData::Representation(text, _, _) => NodeValue::String(text.to_string()),
        YamlData::Sequence(items) => {
            NodeValue::Sequence(items.iter().map(convert).collect::<Result<_, _>>()?)
        }
        YamlData::Mapping(entries) => NodeValue::Mapping(
            entries
                .iter()
                .map(|(k, v)| Ok((convert(k)?, convert(v)?)))
                .collect::<Result<_, SyntaxError>>()?,
        ),
        YamlData::Tagged(_, inner) => {
            // The tagged value may carry no position of its own; the tag's node does.
            let mut converted = convert(inner)?;
            if converted.start.line == 0 {
                converted.start = start;
                converted.end = end;
            }
            return Ok(converted);
        }
        YamlData::Alias(_) => return Err(unsupported("unresolved YAML alias")),
        YamlData::BadValue => return Err(unsupported("invalid YAML value")),
    };
    Ok(Node { value, start, end })
}

impl Node {
    /// The node as JSON, for schema validation. Mapping keys become strings; non-finite floats become
    /// strings too (JSON has no NaN), so they fail any numeric schema instead of vanishing.
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Integer(i) => Value::Number((*i).into()),
            NodeValue::Float(f) => {
                Number::from_f64(*f).map_or_else(|| Value::String(f.to_string()), Value::Number)
            }
            NodeValue::String(s) => Value::String(s.clone()),
            NodeValue::Sequence(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Mapping(entries) => {
                let mut map = Map::new();
                for (key, value) in entries {
                    map.insert(key.key_text(), value.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// A mapping key as text.
    pub fn key_text(&self) -> String {
        match &self.value {
            NodeValue::String(s) => s.clone(),
            NodeValue::Null => "null".to_owned(),
            NodeValue::Bool(b) => b.to_string(),
            NodeValue::Integer(i) => i.to_string(),
            NodeValue::Float(f) => f.to_string(),
            NodeValue::Sequence(_) | NodeValue::Mapping(_) => self.to_json().to_string(),
        }
    }

    /// The value of mapping entry `key`, with the key's own node.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.value {
            NodeValue::Mapping(entries) => {
                entries.iter().find(|(k, _)| k.key_text() == key).map(|(k, v)| (k, v))
            }
            _ => None,
        }
    }

    /// The node a JSON pointer (`/artifacts/attestations/0/if`) designates.
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        let mut node = self;
        for token in pointer.split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            node = match &node.value {
                NodeValue::Mapping(_) => node.entry(&token)?.1,
                NodeValue::Sequence(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_columns() {
        let node = parse("a:\n  b: [1, x]\n").unwrap().unwrap();
        let b = node.pointer("/a/b/1").unwrap();
        assert_eq!((b.start.line, b.start.column), (2, 10));
        assert_eq!(b.value, NodeValue::String("x".into()));
        let (key, _) = node.pointer("/a").unwrap().entry("b").unwrap();
        assert_eq!((key.start.line, key.start.column), (2, 3));
    }

    #[test]
    fn converts_to_json_with_core_schema_types() {
        let node = parse("s: yes\nb: true\ni: 3\nf: 1.5\nn: ~\nq: 'true'\nl: [a]").unwrap().unwrap();
        assert_eq!(
            node.to_json(),
            serde_json::json!({"s": "yes", "b": true, "i": 3, "f": 1.5, "n": null, "q": "true", "l": ["a"]})
        );
    }

    #[test]
    fn duplicate_keys_are_errors_with_position() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(err.message.contains("duplicate"), "{err:?}");
        assert_eq!(err.position.line, 3);
    }

    #[test]
    fn multiple_documents_and_empty_files() {
        assert!(parse("a: 1\n---\nb: 2\n").unwrap_err().message.contains("one YAML document"));
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# only a comment\n").unwrap(), None);
    }

    #[test]
    fn aliases_are_resolved_and_bombs_refused() {
        let node = parse("a: &x [1]\nb: *x\n").unwrap().unwrap();
        assert_eq!(node.to_json(), serde_json::json!({"a": [1], "b": [1]}));
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        assert!(parse(&bomb).is_err());
    }

    #[test]
    fn tagged_values_keep_a_position() {
        let node = parse("\t !\n;").unwrap().unwrap();
        assert!(node.start.line >= 1, "{node:?}");
        let node = parse("a: !!str 1\n").unwrap().unwrap();
        assert_eq!(node.pointer("/a").unwrap().start.line, 1);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("a: [1, 2\nb: 3").unwrap_err();
        assert!(err.position.line >= 1, "{err:?}");
    }
}
