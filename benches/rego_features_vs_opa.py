#!/usr/bin/env python3
"""Differential check of Rego language features and builtins verdict added for OPA parity (template
strings, METADATA annotations, walk, ref heads, providers.aws.sign_req, crypto.x509/keys, graphql)
against real OPA, case by case.

Usage:  VENV/bin/python benches/rego_features_vs_opa.py [--verdict target/debug/verdict]

Needs OPA through PyPI's opa-golib-python-bindings (see docs/benchmarks.md). Each case is a module
defining `out`; verdict evaluates it through `verdict evaluate input` (wrapped in the Kosli contract),
OPA through the bindings. Both must agree on the value, or both fail. Prints every disagreement and
exits 1 on any.
"""
import argparse
import os
import sys
import tempfile

from opa_diff import opa_eval, same, verdict_eval

HERE = os.path.dirname(os.path.abspath(__file__))

INPUT = {"name": "alice", "n": 3, "xs": [10, 20], "m": {"k1": 1, "k2": 2}, "f": 1.5, "big": 12345678901234567890,
         "nested": {"a": [{"b": "x"}, "yy"]}, "empty": "", "uni": "é✓"}

CASES = {
    # Template strings.
    "template basic": 'out := $"Hello {input.name}!"',
    "template arithmetic": 'out := $"{input.n} + 1 = {input.n + 1}"',
    "template float": 'out := $"{input.f} {1.0} {1e3} {0.1 + 0.2} {-0} {input.big}"',
    "template collections": 'out := $"{input.xs} {input.m} {set()} {{3, 1, \\"a\\"}} {[]} {{}} {null} {true}"',
    "template undefined": 'out := $"missing {input.nope} here"',
    "template empty": 'out := $""',
    "template escapes": 'out := $"\\{brace\\} \\t tab \\" quote \\u00e9 \\\\ backslash"',
    "template raw": 'out := $`raw \\n \\{x} {input.name} "quoted"`',
    "template raw multiline": 'out := $`line1\nline2 {input.n}`',
    "template nested": 'out := $"outer {$"inner {input.name}"} done"',
    "template braces in strings": 'out := $"a { \\"}\\" } b { \\"{\\" }"',
    "template in comprehension": 'out := [$"x={x}" | some x in input.xs]',
    "template object key": 'out := {$"k{i}": v | some i, v in input.xs}',
    "template multiple outputs": 'out := $"{input.xs[_]}"',
    "template unicode": 'out := $"{input.uni} ✓ {count(input.uni)}"',
    "template function call": 'out := $"{upper(input.name)} {sprintf(\\"%d\\", [input.n])}"',
    "template object nested strings": 'out := $"{{\\"a\\": [\\"b\\", {\\"c\\": \\"d\\"}]}}"',
    "template rule head": 'out contains $"user {input.name}" if true',
    # sprintf of big numbers.
    "sprintf big integers": 'out := sprintf("%v %d %s", [input.big, input.big, "x"])',
    "sprintf big literal": 'out := sprintf("%v", [123456789012345678901234567890])',
    "sprintf floats": 'out := sprintf("%v %.2f %e", [input.f, input.f, 1234.5])',
    "sprintf %e": 'out := [sprintf("%e|%E|%.2e|%.0e", [x, x, x, x]) | some x in [-2.5, 1234.5, 0.000123, 6.5e-7]]',
    "sprintf %g": 'out := [sprintf("%g|%G|%.3g|%.1g", [x, x, x, x]) | some x in [-2.5, 1234.5, 100000.5, 1234567.5, 0.0001, 0.00001, 6.02e-23]]',
    "sprintf negative integers": 'out := sprintf("%d|%x|%X|%b|%o|%O", [-5, -255, -255, -2, -8, -8])',
    # Annotations.
    "metadata chain": '# METADATA\n# title: T\n# authors:\n# - A B <a@b.example>\n# related_resources:\n# - https://x.example\nout := rego.metadata.chain()',
    "metadata rule": '# METADATA\n# title: T\n# custom:\n#   severity: high\nout := rego.metadata.rule()',
    "metadata rule none": 'out := rego.metadata.rule()',
    # walk and ref heads.
    "walk value form": 'out := [p | [p, v] := walk(input.nested); is_string(v)]',
    "walk output form": 'out := [p | walk(input.nested, [p, v]); is_string(v)]',
    "ref heads general and specific": 'p[q].r contains s if { some q in ["a", "b"]; some s in ["a", "b", "c"]; q != s }\np.b.r contains "foo"\nout := [p.b.r, p.a.r]',
    # AWS SigV4, AWS's documented example.
    "aws sign_req": 'out := providers.aws.sign_req({"method": "GET", "url": "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", "headers": {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}}, {"aws_access_key": "AKIDEXAMPLE", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "aws_region": "us-east-1", "aws_service": "iam"}, 1440938160000000000)',
    "aws sign_req s3 json body": 'out := providers.aws.sign_req({"method": "PUT", "url": "https://b.s3.amazonaws.com/k?x=1", "body": {"b": "<&>", "a": [1, 2.5]}}, {"aws_access_key": "AK", "aws_secret_access_key": "SK", "aws_region": "eu-west-1", "aws_service": "s3", "aws_session_token": "TOK"}, 1700000000123456789)',
    "aws sign_req missing key": 'out := providers.aws.sign_req({"method": "GET", "url": "https://x/"}, {"aws_service": "s3"}, 0)',
    # Keys.
    "parse_private_keys empty": 'out := crypto.parse_private_keys("")',
    "parse_private_keys none": 'out := crypto.parse_private_keys("nope")',
    # graphql odds and ends.
    "graphql parse_and_verify bad": 'out := graphql.parse_and_verify("{ x }", "type Query { y: Int }")',
    "graphql is_valid non-string": 'out := graphql.is_valid(1, "type Query { y: Int }")',
    "graphql schema_is_valid object": 'out := graphql.schema_is_valid(graphql.parse_schema("type Query { y: Int }"))',
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--verdict", default=os.path.join(HERE, "..", "target", "debug", "verdict"))
    args = parser.parse_args()
    disagreements = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, module in CASES.items():
            got = verdict_eval(args.verdict, module, INPUT, tmp)
            want = opa_eval(module, INPUT)
            agree = same(got, want)
            if not agree:
                disagreements += 1
            print(f"{'ok  ' if agree else 'DIFF'} {name}" + ("" if agree else f"\n     verdict: {got}\n     OPA:     {want}"))
    print(f"{len(CASES)} cases: {disagreements} disagreements")
    sys.exit(1 if disagreements else 0)


if __name__ == "__main__":
    main()
