#!/usr/bin/env python3
"""Differential check of verdict's graphql.* builtins against real OPA on many documents.

Usage:  VENV/bin/python benches/graphql_vs_opa.py [--verdict target/debug/verdict] [--seed N] [--mutants N]

Needs OPA through PyPI's opa-golib-python-bindings in the Python running this script (install as in
docs/benchmarks.md). The documents are every GraphQL text of the fuzz corpus (fuzz/corpus/graphql_document,
seeded from the OPA conformance cases), the validation-rule examples of crates/verdict-graphql/tests,
and random mutants of them (tokens dropped, duplicated or swapped). One policy computes, for every
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--verdict", default=os.path.join(ROOT, "target", "debug", "verdict"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mutants", type=int, default=2000)
    args = parser.parse_args()
    from opa_bindings import OpaEngine

    schema, docs = corpus()
    rng = random.Random(args.seed)
    docs = docs + [mutate(rng.choice(docs), rng) for _ in range(args.mutants)]
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
        out = subprocess.run([args.verdict, "evaluate", "input", "--input-file", input_file, "--policy", policy, "--no-assert", "-o", "json"],
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
    print(f"{len(docs)} documents ({len(queries)} parse as queries, {len(schemas)} as schemas): {disagreements} disagreements")
    sys.exit(1 if disagreements else 0)


if __name__ == "__main__":
    main()
