//! Benchmarks of the GraphQL parser and validator behind Rego's `graphql.*` builtins, on queries with n
//! aliased fields (one line, as gateways send them). Run: `cargo bench -p verdict-graphql --bench graphql`.
//! Results are recorded in docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use divan::{Bencher, black_box};
use verdict_graphql::{Schema, parse_query, parse_schema, to_opa_value, validate};

const SCHEMA: &str = "type Item { name: String price: Int owner: User }\ntype User { login: String email: String }\ntype Query { item(id: Int!): Item secret: String }\n";

fn main() {
    divan::main();
}

fn query(n: usize) -> String {
    let fields: Vec<String> =
        (0..n).map(|i| format!("a{i}: item(id: {i}) {{ name price owner {{ login }} }}")).collect();
    format!("query Q {{ {} secret }}", fields.join(" "))
}

#[divan::bench(args = [10, 100, 1000])]
fn parse(bencher: Bencher, n: usize) {
    let text = query(n);
    bencher.bench(|| parse_query(black_box(&text)).unwrap());
}

#[divan::bench(args = [10, 100, 1000])]
fn parse_to_opa_ast(bencher: Bencher, n: usize) {
    let text = query(n);
    bencher.bench(|| to_opa_value(&parse_query(black_box(&text)).unwrap()));
}

#[divan::bench(args = [10, 100, 1000])]
fn validate_against_schema(bencher: Bencher, n: usize) {
    let document = parse_query(&query(n)).unwrap();
    let schema = Schema::build(&parse_schema(SCHEMA).unwrap()).unwrap();
    bencher.bench(|| validate(&schema, black_box(&document)).unwrap());
}

#[divan::bench]
fn build_schema_with_prelude(bencher: Bencher) {
    let document = parse_schema(SCHEMA).unwrap();
    bencher.bench(|| Schema::build(black_box(&document)).unwrap());
}
