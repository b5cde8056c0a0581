#!/usr/bin/env python3
"""verdict vs. real OPA on the two Kosli-style Rego policies in benches/rego, side by side in one run.

Usage:  cargo build --release && VENV/bin/python benches/rego_vs_opa.py [--verdict target/release/verdict]

Needs OPA 1.20 through PyPI's opa-golib-python-bindings in the Python running this script (see
docs/benchmarks.md for the install). Prints a Markdown table; numbers are microseconds unless noted.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [10, 100, 1000]


def pr_input(n):
    trails = []
    for i in range(n):
        approvers = [] if i == n - 1 else [f"reviewer-{i % 7}"]
        pr = {"url": f"https://git.example/app/pull/{i}", "author": f"dev-{i % 5}", "approvers": approvers}
        trails.append({"name": f"trail-{i}", "compliance_status": {"attestations_statuses": {"pull-request": {"is_compliant": True, "pull_requests": [pr]}}}})
    return {"trails": trails}, {"pr_attestation_name": "pull-request"}


def snyk_input(n):
    artifacts = {}
    for i in range(n):
        high = 5 if i == n - 1 else i % 2
        results = {"results": [{"high_count": high, "medium_count": 3, "low_count": 7}]}
        artifacts[f"artifact-{i}"] = {"attestations_statuses": {"snyk-scan": {"is_compliant": high == 0, "processed_snyk_results": results}}}
    return {"trail": {"name": "release-1", "compliance_status": {"artifacts_statuses": artifacts}}}, {"max_high": 1}


GRAPHQL_SCHEMA = """
type Item { name: String price: Int owner: User }
type User { login: String email: String }
type Query { item(id: Int!): Item secret: String }
"""


def graphql_input(n):
    fields = " ".join(f"a{i}: item(id: {i}) {{ name price owner {{ login }} }}" for i in range(n - 1))
    return {"query": f"query Q {{ {fields} secret }}"}, {"schema": GRAPHQL_SCHEMA, "denied_fields": ["secret", "email"]}


POLICIES = [
    ("pr-approved.rego", "input.trails", pr_input),
    ("snyk-threshold.rego", "input.trail", snyk_input),
    ("graphql-guard.rego", "input.query, n fields", graphql_input),
]


def stats(samples):
    samples = sorted(samples)
    return statistics.median(samples), samples[min(len(samples) - 1, int(round((len(samples) - 1) * 0.99)))]


def opa_in_process(policy_src, params, document, iterations):
    from opa_bindings import OpaEngine

    engine = OpaEngine()
    engine.add_policy("policy.rego", policy_src)
    engine.add_data({"params": params})
    query = "allow := data.policy.allow; violations := data.policy.violations"
    for _ in range(20):
        engine.eval_query(query, input=document)
    samples = []
    result = None
    for _ in range(iterations):
        start = time.perf_counter()
        result = engine.eval_query(query, input=document)
        samples.append((time.perf_counter() - start) * 1e6)
    dumps = []
    for _ in range(iterations):
        start = time.perf_counter()
        json.dumps(document)
        dumps.append((time.perf_counter() - start) * 1e6)
    return stats(samples), statistics.median(dumps), result


def verdict_in_process(verdict, policy, input_file, params_file, iterations):
    out = subprocess.run(
        [verdict, "bench", "rego", "--policy", policy, "--input-file", input_file, "--params", "@" + params_file, "--iterations", str(iterations)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)


def whole_process(command, runs):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True)
        samples.append((time.perf_counter() - start) * 1e3)
    return stats(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--verdict", default=os.path.join(HERE, "..", "target", "release", "verdict"))
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--only", help="run only the policies whose file name contains this")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for policy_name, shape, generate in POLICIES:
            if args.only and args.only not in policy_name:
                continue
            policy = os.path.join(HERE, "rego", policy_name)
            policy_src = open(policy).read()
            for n in SIZES:
                document, params = generate(n)
                input_file = os.path.join(tmp, f"{policy_name}-{n}.json")
                params_file = os.path.join(tmp, f"{policy_name}-params.json")
                json.dump(document, open(input_file, "w"))
                json.dump(params, open(params_file, "w"))
                iterations = args.iterations if n < 1000 else max(50, args.iterations // 5)
                v = verdict_in_process(args.verdict, policy, input_file, params_file, iterations)
                (opa_median, opa_p99), dumps, opa_result = opa_in_process(policy_src, params, document, iterations)
                opa_allow = opa_result[0]["allow"] if opa_result else None
                if v["allow"] != opa_allow or v["violations"] != len(opa_result[0]["violations"]):
                    sys.exit(f"verdict and OPA disagree on {policy_name} n={n}: {v} vs {opa_result}")
                cli = [args.verdict, "evaluate", "input", "--input-file", input_file, "--policy", policy, "--params", "@" + params_file, "--no-assert", "-o", "json"]
                proc_median, proc_p99 = whole_process(cli, args.runs)
                py_opa = [sys.executable, "-c", (
                    "import json,sys; from opa_bindings import OpaEngine; e=OpaEngine(); "
                    f"e.add_policy('p.rego', open({policy!r}).read()); e.add_data({{'params': json.load(open({params_file!r}))}}); "
                    f"print(e.eval_query('allow := data.policy.allow; violations := data.policy.violations', input=json.load(open({input_file!r}))))"
                )]
                opa_proc_median, _ = whole_process(py_opa, max(5, args.runs // 3))
                size_kb = os.path.getsize(input_file) / 1024
                rows.append((policy_name, shape, n, size_kb, v["median_us"], v["p99_us"], opa_median, opa_p99, dumps, proc_median, proc_p99, opa_proc_median))
    print("| policy | n | input KiB | verdict in-process median / p99 µs | OPA in-process median / p99 µs (of which Python json.dumps) | OPA ÷ verdict | verdict whole process median / p99 ms | Python + OPA whole process median ms |")
    print("|---|---|---|---|---|---|---|---|")
    for policy_name, shape, n, kb, vm, vp, om, op, dumps, pm, pp, opm in rows:
        print(f"| {policy_name} ({shape}) | {n} | {kb:.1f} | {vm:.0f} / {vp:.0f} | {om:.0f} / {op:.0f} ({dumps:.0f}) | {om / vm:.1f}× | {pm:.1f} / {pp:.1f} | {opm:.0f} |")


if __name__ == "__main__":
    main()
