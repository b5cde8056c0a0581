"""Shared by the differential scripts (benches/*_vs_opa.py): evaluate a module's `out` in verdict (through
`verdict evaluate input`, wrapped in the Kosli contract) and in real OPA (PyPI opa-golib-python-bindings),
each as ("value", v), ("undefined", None) or ("error", last lines), and compare the two."""
import json
import os
import subprocess


def verdict_eval(verdict, module, document, tmp):
    path = os.path.join(tmp, "policy.rego")
    open(path, "w").write("package policy\n\nallow := false\n\nviolations contains json.marshal({\"v\": out})\n\n" + module + "\n")
    input_file = os.path.join(tmp, "input.json")
    json.dump(document, open(input_file, "w"))
    proc = subprocess.run([verdict, "evaluate", "input", "--input-file", input_file, "--policy", path, "--no-assert", "-o", "json"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return ("error", (proc.stderr or proc.stdout).strip().splitlines()[-1:])
    violations = json.loads(proc.stdout)["violations"] or []
    if not violations:
        return ("undefined", None)
    return ("value", json.loads(violations[0])["v"])


def opa_eval(module, document):
    from opa_bindings import OpaEngine

    engine = OpaEngine()
    try:
        engine.add_policy("policy.rego", "package policy\n\n" + module + "\n")
        result = engine.eval_query("x := data.policy.out", input=document)
    except Exception as err:  # noqa: BLE001 - any OPA failure is "error"
        return ("error", str(err).splitlines()[-1:])
    if not result:
        return ("undefined", None)
    return ("value", result[0]["x"])


def numeric(value):
    """Integral floats as integers: JSON's 1000.0 and 1000 are the same number."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [numeric(v) for v in value]
    if isinstance(value, dict):
        return {k: numeric(v) for k, v in value.items()}
    return value


def same(got, want):
    """Both failed, both undefined, or the same value (numbers by value)."""
    if got[0] != want[0]:
        return False
    return got[0] != "value" or json.dumps(numeric(got[1]), sort_keys=True) == json.dumps(numeric(want[1]), sort_keys=True)
