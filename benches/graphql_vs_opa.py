#!/usr/bin/env python3
"""Differential check of verdict's graphql.* builtins against real OPA on many documents.

Usage:  VENV/bin/python benches/graphql_vs_opa.py [--verdict target/debug/verdict] [--seed N] [--mutants N]

Needs OPA through PyPI's opa-golib-python-bindings in the Python running this script (install as in
docs/benchmarks.md). The documents are every GraphQL text of the fuzz corpus (fuzz/corpus/graphql_document,
seeded from the OPA conformance cases), the validation-rule examples of crates/verdict-graphql/tests,
random mutants of them (tokens dropped, duplicated or swapped), and generated well-formed queries over
the pets schema's names (arguments, variables, directives, fragments, aliases) that exercise the rules. One policy computes, for every
document, `graphql.schema_is_valid`, `graphql.is_valid` and `graphql.parse_and_verify` against a fixed
schema, and the parsed AST of every document OPA can parse; verdict and OPA must give the same JSON.
Prints the counts and every disagreement; exits 1 on any.
"""
import argparse
import glob
import json
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")

POLICY = """package policy

allow := false

violations contains json.marshal(out) if {
	out := {
		"schema_valid": [graphql.schema_is_valid(s) | some s in input.docs],
		"query_valid": [graphql.is_valid(q, input.schema) | some q in input.docs],
		"verified": [graphql.parse_and_verify(q, input.schema) | some q in input.docs],
		"query_asts": [graphql.parse_query(q) | some q in input.queries],
		"schema_asts": [graphql.parse_schema(s) | some s in input.schemas],
	}
}
"""

OPA_PROBE = """package probe

q := graphql.parse_query(input.doc)

s := graphql.parse_schema(input.doc)
"""


def corpus():
    docs = []
    for path in sorted(glob.glob(os.path.join(ROOT, "fuzz", "corpus", "graphql_document", "*"))):
        text = open(path, encoding="utf-8", errors="replace").read()
        docs.extend(part for part in text.split("\n---\n"))
    tests = open(os.path.join(ROOT, "crates", "verdict-graphql", "tests", "validation.rs")).read()
    schema = re.search(r'const PETS: &str = r#"(.*?)"#;', tests, re.S).group(1)
    for literal in re.findall(r'\(\s*"((?:[^"\\\\]|\\\\.)*)",\s*"', tests):
        docs.append(json.loads('"' + literal + '"'))
    return schema, docs


TOKEN = re.compile(r'"""(?:[^"]|"(?!""))*"""|"(?:[^"\\\\]|\\\\.)*"|\\.\\.\\.|[A-Za-z_][A-Za-z0-9_]*|-?\\d+(?:\\.\\d+)?|\\S')


def mutate(doc, rng):
    tokens = TOKEN.findall(doc)
    if not tokens:
        return doc
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(tokens))
        op = rng.choice(["drop", "dup", "swap"])
        if op == "drop" and len(tokens) > 1:
            del tokens[i]
        elif op == "dup":
            tokens.insert(i, tokens[i])
        else:
            j = rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
    return " ".join(tokens)


def without_comments(value):
    """The OPA in the Python bindings is newer than the OPA 1.20 of the conformance oracle and adds
    gqlparser's comment fields to ASTs (`Comment`, `AfterDescriptionComment`, ...); verdict follows the
    oracle, so those fields are left out of the comparison."""
    if isinstance(value, dict):
        return {k: without_comments(v) for k, v in value.items() if not k.endswith("Comment")}
    if isinstance(value, list):
        return [without_comments(v) for v in value]
    return value


NAMES = ["dog", "name", "barkVolume", "owner", "pets", "pet", "catOrDog", "meowVolume", "human", "nope",
         "__typename", "doesKnowCommand", "isHousetrained", "findDog", "dogs", "rename", "newDog", "newCat"]
ARGUMENTS = ["", "(dogCommand: SIT)", "(dogCommand: $cmd)", "(atOtherHomes: true)", "(atOtherHomes: $flag)",
             "(id: 4)", "(id: \"4\")", "(x: 1)", "(filter: {minAge: 1})", "(filter: {name: $n, minAge: 2})",
             "(names: [\"a\"])", "(names: $names)", "(dogCommand: JUMP)", "(filter: {minAge: 1.5})"]
DIRECTIVES = ["", " @skip(if: true)", " @include(if: $flag)", " @cached(ttl: 1)", " @skip(if: $cmd)", " @deprecated"]
HEADS = ["", "query Q($cmd: DogCommand!, $flag: Boolean!, $n: String, $names: [String!]!) ", "query ($flag: Boolean) ",
         "mutation ", "subscription S ", "query Q ($unused: Int) "]


def selection_set(rng, depth):
    items = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        name = rng.choice(NAMES)
        alias = rng.choice(["", "", "a: ", "name: "])
        if depth > 0 and kind < 0.35:
            items.append(f"{alias}{name}{rng.choice(ARGUMENTS)}{rng.choice(DIRECTIVES)} {selection_set(rng, depth - 1)}")
        elif depth > 0 and kind < 0.5:
            items.append(f"... on {rng.choice(['Dog', 'Cat', 'Pet', 'Human', 'CatOrDog', 'DogCommand'])} {selection_set(rng, depth - 1)}")
        elif kind < 0.55:
            items.append(rng.choice(["...DogName", "...PetName", "...Missing"]))
        else:
            items.append(f"{alias}{name}{rng.choice(ARGUMENTS)}{rng.choice(DIRECTIVES)}")
    return "{ " + " ".join(items) + " }"


# The pets schema by type: field -> (type it returns or None for a leaf, argument choices).
TYPES = {
    "Query": {"dog": ("Dog", [""]), "pet": ("Pet", [""]), "catOrDog": ("CatOrDog", [""]),
              "findDog": ("Dog", ["(filter: {minAge: 1})", "(filter: {name: $n, minAge: 2})", "(filter: {minAge: 1, command: HEEL})", ""]),
              "dogs": ("Dog", ["(names: [\"a\"])", "(names: $names)", "(names: \"a\")"]), "human": ("Human", ["(id: 4)", "(id: \"4\")", ""]),
              "pair": (None, ["(a: 1, b: 2)", "(b: 2, a: 1)", "(a: 1, b: 3)", "(a: 1)", "(b: 1)", ""])},
    "Dog": {"name": (None, [""]), "barkVolume": (None, [""]), "owner": ("Human", [""]),
            "doesKnowCommand": (None, ["(dogCommand: SIT)", "(dogCommand: $cmd)"]),
            "isHousetrained": (None, ["", "(atOtherHomes: true)", "(atOtherHomes: $flag)"])},
    "Cat": {"name": (None, [""]), "meowVolume": (None, [""])},
    "Pet": {"name": (None, [""])},
    "CatOrDog": {},
    "Human": {"name": (None, [""]), "pets": ("Pet", [""])},
}
FRAGMENT_TYPES = {"Query": ["Query"], "Dog": ["Dog", "Pet"], "Cat": ["Cat", "Pet"], "Pet": ["Dog", "Cat", "Pet"],
                  "CatOrDog": ["Dog", "Cat", "CatOrDog", "Pet"], "Human": ["Human"]}


def typed_set(rng, parent, depth, noise):
    items = []
    for _ in range(rng.randint(1, 3)):
        fields = TYPES[parent]
        if (not fields or rng.random() < 0.3) and depth > 0:
            condition = rng.choice(FRAGMENT_TYPES[parent]) if rng.random() > noise else rng.choice(list(TYPES))
            items.append(f"... on {condition}{rng.choice(DIRECTIVES[:3])} {typed_set(rng, condition, depth - 1, noise)}")
            continue
        if not fields or rng.random() < noise:
            items.append(rng.choice(NAMES) + rng.choice(ARGUMENTS))
            continue
        name = rng.choice(list(fields))
        target, arguments = fields[name]
        alias = rng.choice(["", "", "", "x: "])
        directive = rng.choice(DIRECTIVES[:3]) if rng.random() > noise else rng.choice(DIRECTIVES)
        if target is None or depth == 0:
            items.append(f"{alias}{name}{rng.choice(arguments)}{directive}" + ("" if target is None else " { __typename }"))
        else:
            items.append(f"{alias}{name}{rng.choice(arguments)}{directive} {typed_set(rng, target, depth - 1, noise)}")
    return "{ " + " ".join(items) + " }"


def typed(rng, count):
    head = "query Q($cmd: DogCommand!, $flag: Boolean!, $n: String, $names: [String!]!) "
    out = []
    for _ in range(count):
        body = typed_set(rng, "Query", 3, rng.choice([0.0, 0.0, 0.05, 0.15]))
        used = [v for v in ("$cmd", "$flag", "$n", "$names") if v in body]
        declared = {"$cmd": "$cmd: DogCommand!", "$flag": "$flag: Boolean!", "$n": "$n: String", "$names": "$names: [String!]!"}
        head = f"query Q({', '.join(declared[v] for v in used)}) " if used else rng.choice(["", "query Q "])
        out.append(head + body)
    return out


def sdl(rng):
    """A random schema: types of every kind referring to each other (and now and then to nothing),
    interfaces, unions, enums, inputs, extensions, directive definitions and uses."""
    names = [f"T{i}" for i in range(rng.randint(2, 5))]
    kinds = {name: rng.choice(["type", "type", "interface", "union", "enum", "input", "scalar"]) for name in names}
    refs = names + ["Int", "String", "Boolean", "ID", "Float"]
    def ref():
        base = "Missing" if rng.random() < 0.03 else rng.choice(refs)
        return rng.choice([base, base + "!", f"[{base}]", f"[{base}!]!"])
    def directive():
        if rng.random() < 0.75:
            return ""
        return rng.choice([" @deprecated", " @deprecated", " @tag(name: \"x\")", " @skip(if: true)", " @tag", " @unknown"])
    parts = []
    if rng.random() < 0.5:
        parts.append(f"directive @tag(name: String!){rng.choice(['', ' repeatable'])} on {rng.choice(['OBJECT | FIELD_DEFINITION', 'FIELD_DEFINITION', 'OBJECT', 'SCHEMA | ENUM_VALUE'])}")
    interfaces = [n for n in names if kinds[n] == "interface"]
    for name in names:
        kind = kinds[name]
        fields = " ".join(f"f{i}{rng.choice(['', '(a: ' + ref() + ')', '(a: Int = 1, b: String)'])}: {ref()}{directive()}"
                          for i in range(rng.randint(0 if rng.random() < 0.1 else 1, 3)))
        if kind in ("type", "interface"):
            implements = ""
            if interfaces and rng.random() < 0.5:
                implements = " implements " + " & ".join(rng.sample(interfaces, rng.randint(1, len(interfaces))))
            parts.append(f"{kind} {name}{implements}{directive()} {{ {fields} }}" if fields else f"{kind} {name}{implements} {{ }}")
        elif kind == "union":
            objects = [n for n in names if kinds[n] == "type"] or names
            parts.append(f"union {name} = " + " | ".join(rng.sample(objects + ["Int"], min(len(objects) + 1, rng.randint(1, 2)))))
        elif kind == "enum":
            parts.append(f"enum {name} {{ " + " ".join(rng.sample(["A", "B", "C", "D", "true"], rng.randint(1, 3))) + f"{directive()} }}")
        elif kind == "input":
            parts.append(f"input {name} {{ " + " ".join(f"i{i}: {ref()}{rng.choice(['', ' = 1'])}" for i in range(rng.randint(1, 3))) + " }")
        else:
            parts.append(f"scalar {name}{directive()}")
    if rng.random() < 0.3:
        parts.append(f"extend type {rng.choice(names + ['New'])} {{ extra: {ref()} }}")
    if rng.random() < 0.3:
        parts.append(f"schema {{ query: {rng.choice(names)} }}")
    if rng.random() < 0.2:
        parts.append("type Query { q: Int }")
    rng.shuffle(parts)
    return "\n".join(parts)


def generated(rng, count):
    fragments = ["", " fragment DogName on Dog { name }", " fragment PetName on Pet { name ...PetName }",
                 " fragment DogName on Dog { name } fragment PetName on Pet { name }"]
    return [rng.choice(HEADS) + selection_set(rng, 3) + rng.choice(fragments) for _ in range(count)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--verdict", default=os.path.join(ROOT, "target", "debug", "verdict"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mutants", type=int, default=2000)
    parser.add_argument("--generated", type=int, default=2000)
    args = parser.parse_args()
    from opa_bindings import OpaEngine

    schema, docs = corpus()
    rng = random.Random(args.seed)
    docs = docs + [mutate(rng.choice(docs), rng) for _ in range(args.mutants)] + generated(rng, args.generated) + typed(rng, args.generated) + [sdl(rng) for _ in range(args.generated // 2)]
    probe = OpaEngine()
    probe.add_policy("probe.rego", OPA_PROBE)
    queries, schemas = [], []
    for doc in docs:
        for rule, bucket in (("q", queries), ("s", schemas)):
            try:
                if probe.eval_query(f"x := data.probe.{rule}", input={"doc": doc}):
                    bucket.append(doc)
            except Exception:
                pass
    document = {"docs": docs, "schema": schema, "queries": queries, "schemas": schemas}
    engine = OpaEngine()
    engine.add_policy("policy.rego", POLICY)
    want = without_comments(json.loads(engine.eval_query("v := data.policy.violations", input=document)[0]["v"][0]))
    with tempfile.TemporaryDirectory() as tmp:
        policy = os.path.join(tmp, "policy.rego")
        open(policy, "w").write(POLICY)
        input_file = os.path.join(tmp, "input.json")
        json.dump(document, open(input_file, "w"))
        out = subprocess.run([args.verdict, "evaluate", "input", "--input-file", input_file, "--policy", policy, "--no-assert", "-o", "json", "--timeout", "10m"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"verdict failed ({out.returncode}): {out.stderr or out.stdout}")
        report = json.loads(out.stdout)
        got = json.loads(report["violations"][0])
    disagreements = 0
    for key in ("schema_valid", "query_valid", "verified"):
        for doc, a, b in zip(docs, got[key], want[key]):
            if a != b:
                disagreements += 1
                print(f"{key}: {doc!r}\n  verdict: {json.dumps(a)[:300]}\n  OPA:     {json.dumps(b)[:300]}")
    for key, texts in (("query_asts", queries), ("schema_asts", schemas)):
        for doc, a, b in zip(texts, got[key], want[key]):
            if a != b:
                disagreements += 1
                print(f"{key}: {doc!r}\n  verdict: {json.dumps(a)[:300]}\n  OPA:     {json.dumps(b)[:300]}")
    valid = sum(1 for v in want["query_valid"] if v)
    valid_schemas = sum(1 for v in want["schema_valid"] if v)
    print(f"{len(docs)} documents ({len(queries)} parse as queries, {valid} valid against the schema (per OPA), "
          f"{len(schemas)} parse as schemas, {valid_schemas} valid schemas): {disagreements} disagreements")
    sys.exit(1 if disagreements else 0)


if __name__ == "__main__":
    main()
