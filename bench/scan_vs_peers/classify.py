#!/usr/bin/env python3
"""Scores portcullis scan, Schemathesis and OFFAT per planted flaw (bench/scan_vs_peers/run.sh).

usage: classify.py OUT_DIR

OUT_DIR holds, per target (bank, vampi): spec.yaml, flaws.tsv (flaw, rule, operation id),
portcullis.json, schemathesis.ndjson, offat.json. A flaw is a row; its kind is its rule's
middle part (PC-SCAN-SQLI-002 -> SQLI). Each tool's claims become (kind, operation):

* portcullis: its findings (rule and operation, or the URL path of an undocumented one);
  matched on the exact rule.
* Schemathesis: failed checks of its NDJSON events. ignored_auth claims AUTHN; a failed
  response_schema_conformance on an operation with an exposure flaw counts for it (EXPO), a
  negative_data_rejection for a LOGIC flaw, a not_a_server_error for a SQLI or CMDI flaw on the
  same operation (generous: a crash where the injection is). Its other failures are spec
  conformance findings, neither true nor false security claims (counted apart).
* OFFAT: results with vulnerable=true claim their test's kind (SQLi -> SQLI, BOLA -> BOLA,
  BOPLA -> MASS, Missing Authentication -> AUTHN, OS Command Injection -> CMDI, SSTI, XSS,
  UnSupported HTTP Method -> METHOD, on the path template: it counts for a METHOD flaw of an
  operation on that template); data_leak=true counts for an EXPO flaw on the same
  operation (otherwise informational).

A claim that matches a flaw of the same kind on the same operation is a true positive; a
vulnerability claim that matches none is a false positive (one per kind and operation).
"""
import json, os, re, sys, collections

def templates(spec_path):
    import yaml  # schemathesis depends on PyYAML
    spec = yaml.safe_load(open(spec_path))
    ops = []
    for path, item in (spec.get("paths") or {}).items():
        for method, op in item.items():
            if method.lower() not in ("get", "put", "post", "delete", "patch", "head", "options"):
                continue
            rx = "^" + re.sub(r"\\\{[^}]+?\\\}", "[^/]+", re.escape(path)) + "/?$"
            ops.append((method.upper(), path, re.compile(rx), op.get("operationId") or f"{method.upper()} {path}"))
    return ops

def op_of(ops, method, path):
    path = (path or "").split("?")[0]
    for m, template, rx, oid in ops:
        if path == template and (method or "").upper() == m:
            return oid
    for m, template, rx, oid in ops:
        if rx.match(path) and (method or "").upper() == m:
            return oid
    return path

def kind(rule):
    parts = rule.split("-")
    return parts[2] if len(parts) > 2 else rule

def main(out):
    rows, totals = [], collections.defaultdict(lambda: collections.Counter())
    for target in ("bank", "vampi"):
        d = os.path.join(out, target)
        if not os.path.isdir(d):
            continue
        ops = templates(os.path.join(d, "spec.yaml"))
        flaws = [l.rstrip("\n").split("\t") for l in open(os.path.join(d, "flaws.tsv")) if l.strip()]
        # Real findings outside the flaw list (rule, place), checked by hand: not false positives.
        extra_path = os.path.join(d, "also-real.tsv")
        also_real = {tuple(l.rstrip("\n").split("\t")[:2]) for l in open(extra_path) if l.strip()} if os.path.exists(extra_path) else set()
        flaw_keys = {(kind(r), o) for _, r, o in flaws}
        # OFFAT claims a method on a path template ("PUT /accounts/{accountId}"): it counts for
        # a METHOD flaw of an operation on the same template (generous: any method).
        template_of = {oid: t for _, t, _, oid in ops}
        method_paths = {template_of.get(o) for _, r, o in flaws if kind(r) == "METHOD"}
        def method_claim(c):
            return c[0] == "METHOD" and c[1].split(" ", 1)[-1] in method_paths
        claims = {}
        # portcullis
        rep = json.load(open(os.path.join(d, "portcullis.json")))
        pc = set()
        for f in rep["findings"]:
            loc = f["location"]
            at = loc.get("operation") or "/" + (loc.get("url") or "").split("/", 3)[-1].split("?")[0]
            pc.add((f["rule"], at))
        claims["portcullis"] = {(kind(r), o) for r, o in pc}
        exact_pc = pc
        # Schemathesis
        st, conformance = set(), set()
        path = os.path.join(d, "schemathesis.ndjson")
        for line in open(path) if os.path.exists(path) else []:
            e = json.loads(line)
            if "ScenarioFinished" not in e:
                continue
            r = e["ScenarioFinished"]["recorder"]
            for cid, checks in r.get("checks", {}).items():
                case = r["cases"].get(cid, {}).get("value", {})
                oid = op_of(ops, case.get("method"), case.get("path"))
                for c in checks:
                    if c.get("status") != "failure":
                        continue
                    name = c["name"]
                    if name == "ignored_auth":
                        st.add(("AUTHN", oid))
                    elif name == "response_schema_conformance" and ("EXPO", oid) in flaw_keys:
                        st.add(("EXPO", oid))
                    elif name == "negative_data_rejection" and ("LOGIC", oid) in flaw_keys:
                        st.add(("LOGIC", oid))
                    elif name == "not_a_server_error" and ({("SQLI", oid), ("CMDI", oid)} & flaw_keys):
                        st.update({("SQLI", oid), ("CMDI", oid)} & flaw_keys)
                    else:
                        conformance.add((name, oid))
        claims["schemathesis"] = st
        # OFFAT
        of, leaks = set(), set()
        path = os.path.join(d, "offat.json")
        results = json.load(open(path)).get("results", []) if os.path.exists(path) else []
        names = [("SQLi", "SQLI"), ("BOPLA", "MASS"), ("BOLA", "BOLA"), ("Missing Authentication", "AUTHN"),
                 ("OS Command", "CMDI"), ("SSTI", "SSTI"), ("XSS", "XSS"), ("UnSupported HTTP Method", "METHOD")]
        for r in results:
            oid = op_of(ops, r.get("method"), r.get("endpoint"))
            if r.get("vulnerable"):
                k = next((k for n, k in names if n.lower() in r.get("test_name", "").lower()), r.get("test_name"))
                if k == "METHOD":
                    # An undocumented method on a documented path: one claim per path template.
                    path = (r.get("endpoint") or "").split("?")[0]
                    oid = next((f"{r.get('method')} {t}" for _, t, rx, _ in ops if rx.match(path)), oid)
                of.add((k, oid))
            if r.get("data_leak") and ("EXPO", oid) in flaw_keys:
                of.add(("EXPO", oid))
        claims["offat"] = of
        print(f"\n== {target}: {len(flaws)} flaws")
        print(f"{'flaw':70s} {'portcullis':>10s} {'schemathesis':>12s} {'offat':>6s}")
        for flaw, rule, oid in flaws:
            hits = []
            for tool in ("portcullis", "schemathesis", "offat"):
                if oid == "-":
                    hit = any(r == rule for r, _ in exact_pc) if tool == "portcullis" else any(k == kind(rule) for k, _ in claims[tool])
                else:
                    hit = (rule, oid) in exact_pc if tool == "portcullis" else (kind(rule), oid) in claims[tool] or (
                        kind(rule) == "METHOD" and any(k == "METHOD" and c.split(" ", 1)[-1] == template_of.get(oid) for k, c in claims[tool]))
                hits.append("yes" if hit else "-")
                totals[tool]["tp"] += hit
            print(f"{flaw[:70]:70s} {hits[0]:>10s} {hits[1]:>12s} {hits[2]:>6s}")
        for tool in ("portcullis", "schemathesis", "offat"):
            any_op = {kind(r) for _, r, o in flaws if o == "-"}
            fps = sorted(c for c in claims[tool] if c not in flaw_keys and c[0] not in any_op and c not in also_real and not method_claim(c))
            if tool == "portcullis":
                listed = {(r2, o2) for _, r2, o2 in flaws}
                fps = sorted((r, o) for r, o in exact_pc
                             if (r, o) not in listed and (r, "-") not in listed and (r, o) not in also_real)
            totals[tool]["fp"] += len(fps)
            for c in fps:
                print(f"  false positive ({tool}): {c[0]} on {c[1]}")
        print(f"  Schemathesis conformance failures (not security claims): {len(conformance)}")
    print("\n== totals (true positives / false positives)")
    for tool in ("portcullis", "schemathesis", "offat"):
        print(f"  {tool:12s} TP {totals[tool]['tp']:3d}  FP {totals[tool]['fp']:3d}")
    peers = totals["schemathesis"]["tp"] + totals["offat"]["tp"]
    print(f"  goal: portcullis TP >= 2 x peers' TP together ({2 * peers}), no false positive: "
          + ("met" if totals["portcullis"]["tp"] >= 2 * peers and totals["portcullis"]["fp"] == 0 else "NOT met"))

if __name__ == "__main__":
    main(sys.argv[1])
