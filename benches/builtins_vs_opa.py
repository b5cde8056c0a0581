#!/usr/bin/env python3
"""Differential check of everyday Rego builtins (strings, numbers, sprintf, time, regex, units, semver,
json/yaml, objects, arrays, sets, net, glob, encoding) between verdict and real OPA.

Usage:  VENV/bin/python benches/builtins_vs_opa.py [--verdict target/debug/verdict]

Needs OPA through PyPI's opa-golib-python-bindings (see docs/benchmarks.md). All calls are evaluated in
one module in each engine; a call that errors counts as "error" in both. Prints every disagreement and
exits 1 on any.
"""
import argparse
import os
import sys
import tempfile

from opa_diff import opa_eval, same, verdict_eval

HERE = os.path.dirname(os.path.abspath(__file__))

CALLS = [
    # strings
    'concat(", ", ["a", "b"])', 'contains("abc", "")', 'endswith("abc", "bc")', 'format_int(-255, 16)',
    'format_int(255, 2)', 'format_int(3.9, 10)', 'indexof("héllo", "l")', 'indexof_n("abcabc", "bc")',
    'lower("ÀB")', 'upper("straße")', 'replace("aaa", "a", "bb")', 'split("a,b,,c", ",")',
    'sprintf("%5d|%-5d|%05d", [42, 42, 42])', 'sprintf("%s %v %q", ["x", {"a": [1]}, "q\\"t"])',
    'sprintf("%.3f|%8.2f|%t", [3.14159, 2.5, true])', 'sprintf("%x %X", ["hi", "hi"])', 'sprintf("%v", [[1, "a", null, {"b": set()}]])',
    'sprintf("%d%%", [50])', 'sprintf("%+d|% d|%+.1f|%-8s|%8s|%08.3f|%-05d|%x|%.2s|%5.1s|", [5, 5, 2.25, "ab", "ab", -3.14159, 7, "é", "abc", "xyz"])',
    'sprintf("%q|%10q|%-10q|", ["a", "b", "c"])', 'sprintf("%3c|%o|%O|%b", [65, 64, 64, 5])', 'sprintf("%v", [1.0])', 'sprintf("%v", [0.1])', 'sprintf("%v", [100000000000000000000])', 'sprintf("%v", [1e-7])',
    'startswith("abc", "")', 'strings.any_prefix_match(["a/b", "c"], ["a/"])', 'strings.any_suffix_match("x.yaml", [".yml", ".yaml"])',
    'strings.reverse("héllo")', 'substring("héllo", 1, 3)', 'substring("abc", 1, -1)', 'substring("abc", 5, 1)',
    'trim("  xx  ", " ")', 'trim_left("aab", "a")', 'trim_prefix("aab", "a")', 'trim_right("baa", "a")', 'trim_space("\\t x \\n")',
    'trim_suffix("abb", "b")', 'strings.count("cheese", "e")', 'strings.replace_n({"a": "1", "b": "2"}, "abc")',
    'strings.render_template("{{.x}}-{{.y}}", {"x": 1, "y": "z"})', 'count("héllo")',
    # numbers
    'abs(-3.5)', 'ceil(1.2)', 'floor(-1.2)', 'round(2.5)', 'round(-2.5)', '7 / 2', '7 % 3', '-7 % 3', '10 / 4',
    '0.1 + 0.2 == 0.3', '1e3 == 1000', 'numbers.range(1, 5)', 'numbers.range(5, 1)', 'numbers.range_step(0, 10, 3)',
    'to_number("1e3")', 'to_number("0x10")', 'to_number(" 5")', 'to_number(true)', 'to_number(null)',
    'max([1, "a", 2])', 'min([[], {}, 3])', 'sum([1, 2.5])', 'product([2, 3])', 'sort([3, "a", null, 1, false])',
    'bits.and(12, 10)', 'bits.lsh(1, 10)', 'bits.rsh(-8, 1)', 'bits.negate(5)', 'bits.xor(5, 3)',
    # types
    'type_name(set())', 'is_number(1.5)', 'is_string("")', 'is_null(null)', 'is_array([])', 'is_object({})', 'is_set(set())', 'is_boolean(false)',
    # aggregates/sets/arrays/objects
    'count({1, 2, 1})', 'array.concat([1], [2, 3])', 'array.slice([1, 2, 3, 4], 1, 3)', 'array.slice([1, 2], -1, 5)', 'array.reverse([1, 2, 3])',
    'intersection({{1, 2}, {2, 3}})', 'union({{1}, {2}})', '{1, 2} - {2}', '{1, 2} | {3}', '{1, 2} & {2}',
    'object.get({"a": {"b": 1}}, ["a", "b"], 0)', 'object.get({"a": 1}, "z", "d")', 'object.keys({"a": 1, "b": 2})',
    'object.remove({"a": 1, "b": 2}, ["a"])', 'object.filter({"a": 1, "b": 2}, {"b"})', 'object.union({"a": {"x": 1}}, {"a": {"y": 2}})',
    'object.union_n([{"a": 1}, {"a": 2}, {"b": 3}])', 'object.subset({"a": {"b": 1, "c": 2}}, {"a": {"b": 1}})', 'object.subset([1, 2, 3], [2, 3])',
    'json.filter({"a": {"b": 1, "c": 2}}, ["a/b"])', 'json.remove({"a": {"b": 1, "c": 2}}, ["a/b"])',
    'json.patch({"a": 1}, [{"op": "add", "path": "/b", "value": 2}])', 'walk_count',
    # json/yaml/encoding
    'json.marshal({"b": 1, "a": [true, null]})', 'json.marshal_with_options({"a": 1}, {"pretty": true, "indent": "  "})', 'json.unmarshal("{\\"a\\": 1.50}")',
    'json.is_valid("{")', 'yaml.marshal({"a": [1, "two"]})', 'yaml.unmarshal("a: [1, two]\\nb: yes")', 'yaml.is_valid("a: : b")',
    'base64.encode("héllo")', 'base64.decode("aGk=")', 'base64.is_valid("aGk")', 'base64url.encode("??>")', 'base64url.encode_no_pad("??>")',
    'base64url.decode("Pz8-")', 'hex.encode("hi")', 'hex.decode("6869")', 'urlquery.encode("a b&c=d/é")', 'urlquery.decode("a%20b+c")',
    'urlquery.encode_object({"a": ["1", "2"], "b": "x y"})', 'urlquery.decode_object("a=1&a=2&b=x+y")',
    # regex / glob
    'regex.match("^a.c$", "abc")', 'regex.find_n("a.", "a1a2a3", 2)', 'regex.find_all_string_submatch_n("(a)(\\\\d)", "a1a2", -1)',
    'regex.split(",\\\\s*", "a, b,c")', 'regex.replace("a1b2", "\\\\d", "#")', 'regex.is_valid("(")', 'regex.template_match("urn:foo:{.*}", "urn:foo:bar:baz", "{", "}")',
    'glob.match("*.example.com", ["."], "api.example.com")', 'glob.match("**.example.com", ["."], "a.b.example.com")', 'glob.match("a?c", [], "abc")',
    'glob.quote_meta("*.x[1]")', 'glob.quote_meta("a?c\\\\d{e}!f-g")',
    'lower("İSTANBUL ΣΑΣ")', 'upper("ﬁx ǆ")', 'semver.compare("v1.2.3", "1.2.3")', 'semver.is_valid("V1.2.3")',
    'to_number("5 ")', 'to_number("1e400")', 'to_number("-0")',
    'time.format([1709208000000000000, "UTC", "MST 15:04"])', 'time.format([1709208000000000000, "America/New_York", "MST -0700"])',
    # units / semver / time
    'units.parse("10Ki")', 'units.parse("1.5G")', 'units.parse("500m")', 'units.parse_bytes("1.5GiB")', 'units.parse_bytes("10kb")',
    'semver.compare("1.2.3", "1.2.10")', 'semver.compare("1.0.0-alpha", "1.0.0")', 'semver.is_valid("v1.2.3")', 'semver.is_valid("1.2.3-rc.1+build")',
    'time.parse_rfc3339_ns("2024-02-29T12:00:00.123456789+02:00")', 'time.parse_ns("2006-01-02", "2024-03-01")', 'time.parse_duration_ns("1h2m3.5s")',
    'time.date(1709208000000000000)', 'time.clock([1709208000000000000, "America/New_York"])', 'time.weekday(1709208000000000000)',
    'time.add_date(1709208000000000000, 0, 1, 1)', 'time.diff(1709208000000000000, 1609459200000000000)', 'time.format(1709208000123456789)',
    'time.format([1709208000000000000, "Europe/Paris", "Mon Jan _2 15:04:05 MST 2006"])',
    # net
    'net.cidr_contains("10.0.0.0/8", "10.1.2.3")', 'net.cidr_contains("10.0.0.0/8", "11.0.0.0/24")', 'net.cidr_intersects("10.0.0.0/8", "10.1.0.0/16")',
    'net.cidr_expand("192.168.0.0/30")', 'net.cidr_is_valid("10.0.0.0/33")', 'net.cidr_merge(["10.0.0.0/24", "10.0.1.0/24"])', 'net.cidr_contains("fd00::/8", "fd12::1")',
    # crypto / uuid
    'crypto.sha256("abc")', 'crypto.md5("")', 'crypto.hmac.sha256("msg", "key")', 'uuid.parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")',
    'uuid.rfc4122("seed") == uuid.rfc4122("seed")',
    # misc
    'graph.reachable({"a": ["b"], "b": ["c"], "c": []}, ["a"])', 'graph.reachable_paths({"a": ["b"], "b": []}, ["a"])',
    'object.keys({[1]: 1, "a": 2})', 'cast_array({1, 2})', 'cast_set([1, 1, 2])',
]


WALK_COUNT = 'walk_count := count([p | walk({"a": [1, {"b": 2}]}, [p, _])])'


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--verdict", default=os.path.join(HERE, "..", "target", "debug", "verdict"))
    args = parser.parse_args()
    # Call by call, so one error does not hide the others.
    disagreements = 0
    with tempfile.TemporaryDirectory() as tmp:
        for call in CALLS:
            module = f"{WALK_COUNT}\n\nout := {call}\n"
            got = verdict_eval(args.verdict, module, {}, tmp)
            want = opa_eval(module, {})
            if not same(got, want):
                disagreements += 1
                print(f"DIFF {call}\n     verdict: {got}\n     OPA:     {want}")
    print(f"{len(CALLS)} calls: {disagreements} disagreements")
    sys.exit(1 if disagreements else 0)


if __name__ == "__main__":
    main()
