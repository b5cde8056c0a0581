#!/usr/bin/env python3
"""verdict's Rego path vs. stock regorus, on the two Kosli-style policies in benches/rego, side by side.

Usage:  cargo build --release && python3 benches/rego_vs_stock.py [--verdict target/release/verdict]

Both are timed inside one `verdict bench rego --compare-stock` process, iterations interleaved, on the same
generated inputs (benches/rego_vs_opa.py's generators); the run refuses to report when the two decide
differently. Prints a Markdown table in microseconds.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rego_vs_opa import HERE, POLICIES, SIZES  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--verdict", default=os.path.join(HERE, "..", "target", "release", "verdict"))
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--isolated", action="store_true", help="time verdict's worker-thread path instead")
    args = parser.parse_args()
    print("| policy | n | verdict median / p99 µs | stock regorus median / p99 µs | verdict ÷ stock (median) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, root, generate in POLICIES:
            for n in SIZES:
                document, params = generate(n)
                input_file = os.path.join(tmp, "input.json")
                params_file = os.path.join(tmp, "params.json")
                with open(input_file, "w") as f:
                    json.dump(document, f)
                with open(params_file, "w") as f:
                    json.dump(params, f)
                out = subprocess.run(
                    [args.verdict, "bench", "rego", "--policy", os.path.join(HERE, "rego", name),
                     "--input-file", input_file, "--params", "@" + params_file,
                     "--iterations", str(args.iterations), "--compare-stock"] + (["--isolated"] if args.isolated else []),
                    check=True, capture_output=True, text=True,
                )
                stats = json.loads(out.stdout)
                stock = stats["stock"]
                ratio = stats["median_us"] / stock["median_us"]
                print(f"| {name} ({root}) | {n} | {stats['median_us']:.0f} / {stats['p99_us']:.0f} | "
                      f"{stock['median_us']:.0f} / {stock['p99_us']:.0f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
