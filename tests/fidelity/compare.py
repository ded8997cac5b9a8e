#!/usr/bin/env python3
"""Compares copy A (the sidecar + the plugin's finalize) with copy B (WooCommerce's own save())
for every pass of the fidelity suite, holds the differences against known-differences.json and
writes the report.

A check is one value of one product (or of the store) in one pass, e.g. ("plain",
"simple-managed", "postmeta._stock"). It passes when A and B agree, or when they differ exactly
as a known difference says. It fails when they differ and nothing lists it, and every listed
(pass/case, field) that did not differ is a failure too, so the list stays true.

Checks "interim.*" compare what a visitor of A is shown between the sidecar's commit and the
plugin's finalize (the probe) with what B shows after its saves.
"""

import argparse
import json
import os
import sys
from collections import defaultdict

STATUSES = ("deliberate", "open: WordPress knows at once")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def flatten(snapshot):
    """(case, field) → value. Product sections are split one level (postmeta by key, lookup
    by column, getters by name…); lists and deeper values are compared whole."""
    out = {}
    for case, sections in snapshot["products"].items():
        for section, value in sections.items():
            if value == [] and section in ("queued", "terms", "postmeta"):
                value = {}  # PHP encodes an empty array as a list
            if isinstance(value, dict):
                for key, v in value.items():
                    out[(case, f"{section}.{key}")] = v
            else:
                out[(case, section)] = value
    for key, value in snapshot["store"].items():
        if key in ("term_counts", "term_product_counts", "transients", "transient_versions") and isinstance(value, dict):
            for k, v in value.items():
                out[("store", f"{key}.{k}")] = v
        else:
            out[("store", key)] = value
    return out


def hooks(path, cases_by_id):
    """(case, "hooks.<name>") → sorted distinct details ("fired" when there is none)."""
    seen = defaultdict(set)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                r = json.loads(line)
                if r["hook"] == "cachicamo_sync_product_finalized":
                    continue  # the plugin's own action, not one WooCommerce has
                case = cases_by_id.get(r["id"], "store" if r["id"] == 0 else f"other:{r['id']}")
                seen[(case, "hooks." + r["hook"])].add(r["detail"] or "fired")
    return {k: sorted(v) for k, v in seen.items()}


MISSING = "(absent)"


def differences(a, b, prefix=""):
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, MISSING), b.get(key, MISSING)
        if va != vb:
            out.append((key[0], prefix + key[1], va, vb))
    return out


def short(v, n=160):
    s = json.dumps(v, ensure_ascii=False, sort_keys=True)
    return s if len(s) <= n else s[: n - 1] + "…"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--known", required=True)
    ap.add_argument("--report", required=True, help="path without extension")
    ap.add_argument("--passes", nargs="+", required=True)
    ap.add_argument("--seconds", type=int, default=0)
    ap.add_argument("--problem", action="append", default=[], help="a failure found before the comparison")
    ap.add_argument("--suggest", action="store_true", help="print entries for unlisted differences")
    args = ap.parse_args()

    known = load(args.known)
    problems = list(args.problem)
    entries = []
    for i, e in enumerate(known["differences"]):
        if e.get("status") not in STATUSES:
            problems.append(f"known-differences.json entry {i} ({e.get('field')}): status must be one of {STATUSES}")
        if not e.get("why"):
            problems.append(f"known-differences.json entry {i} ({e.get('field')}): no reason given")
        cases = e["case"] if isinstance(e["case"], list) else [e["case"]]
        entries.append((e, set(cases)))

    checks = 0
    found = []  # (pass, case, field, a, b)
    for p in args.passes:
        d = os.path.join(args.work, p)
        cases = load(os.path.join(d, "cases.json"))
        by_id = {c["id"]: c["case"] for c in cases}
        a, b = load(os.path.join(d, "a.json")), load(os.path.join(d, "b.json"))
        fa, fb = flatten(a), flatten(b)
        fa.update(hooks(os.path.join(d, "a-hooks.log"), by_id))
        fb.update(hooks(os.path.join(d, "b-hooks.log"), by_id))
        checks += len(set(fa) | set(fb))
        found += [(p,) + x for x in differences(fa, fb)]
        # The window between the sidecar's commit and the finalize: what a visitor sees.
        probe = flatten(load(os.path.join(d, "a-probe.json")))
        fb_visible = {k: v for k, v in fb.items() if k[1].split(".")[0] in ("php", "transients") and k in probe}
        checks += len(fb_visible)
        found += [(p,) + x for x in differences({k: probe[k] for k in fb_visible}, fb_visible, "interim.")]

    unexpected, matched = [], []
    used = defaultdict(set)
    for p, case, field, va, vb in found:
        key = f"{p}/{case}"
        hit = None
        for idx, (e, cases) in enumerate(entries):
            if e["field"] == field and key in cases:
                hit = idx
                break
        if hit is None:
            unexpected.append((p, case, field, va, vb))
        else:
            used[hit].add(key)
            matched.append((hit, p, case, field, va, vb))
    stale = []
    for idx, (e, cases) in enumerate(entries):
        for key in sorted(cases - used[idx]):
            stale.append((e["field"], key))

    failed = len(unexpected) + len(stale) + len(problems)
    passed = checks - len(unexpected)

    # The report.
    by_entry = defaultdict(list)
    for hit, p, case, field, va, vb in matched:
        by_entry[hit].append((p, case, va, vb))
    md = ["# Fidelity against WooCommerce's own save()", ""]
    md.append(f"Run: {', '.join(args.passes)} passes; {checks} checks; {len(found)} differences, "
              f"{len(matched)} known, {len(unexpected)} unexpected; {len(stale)} listed differences "
              f"that no longer occur; {args.seconds} s.")
    md.append("")
    md.append("A = the sidecar's SQL + the plugin's finalize (WP-Cron); B = wc_get_product() → set_…() → save().")
    md.append("")
    cases0 = load(os.path.join(args.work, args.passes[0], "cases.json"))
    md.append("Matrix (" + str(len(cases0)) + " products, in every pass): " + ", ".join(f"`{c['case']}`" for c in cases0) + ".")
    md.append("")
    md += ["## Summary", "", "| field | status | occurrences |", "|---|---|---|"]
    unexpected_by_field = defaultdict(int)
    for x in unexpected:
        unexpected_by_field[x[2]] += 1
    for field, n in sorted(unexpected_by_field.items()):
        md.append(f"| `{field}` | **unexpected** | {n} |")
    for idx, (e, cases) in enumerate(entries):
        md.append(f"| `{e['field']}` | {e['status']} | {len(by_entry.get(idx, []))} |")
    md.append("")
    if problems:
        md += ["## Problems", ""] + [f"- {x}" for x in problems] + [""]
    if unexpected:
        md += ["## Unexpected differences (fail)", "", "| pass | case | field | A (sidecar) | B (WooCommerce) |", "|---|---|---|---|---|"]
        for p, case, field, va, vb in unexpected:
            md.append(f"| {p} | {case} | `{field}` | `{short(va)}` | `{short(vb)}` |")
        md.append("")
    if stale:
        md += ["## Listed differences that no longer occur (fail: update known-differences.json)", ""]
        md += [f"- `{field}` in {key}" for field, key in stale] + [""]
    md += ["## Known differences", ""]
    for idx, (e, cases) in enumerate(entries):
        rows = by_entry.get(idx, [])
        md.append(f"### `{e['field']}` — {e['status']}")
        md.append("")
        md.append(e["why"])
        md.append("")
        if rows:
            md += ["| pass | case | A (sidecar) | B (WooCommerce) |", "|---|---|---|---|"]
            for p, case, va, vb in rows:
                md.append(f"| {p} | {case} | `{short(va)}` | `{short(vb)}` |")
            md.append("")
    os.makedirs(os.path.dirname(args.report), exist_ok=True)
    with open(args.report + ".md", "w", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")
    with open(args.report + ".json", "w", encoding="utf-8") as f:
        json.dump(
            {
                "passes": args.passes,
                "seconds": args.seconds,
                "checks": checks,
                "passed": passed,
                "failed": failed,
                "problems": problems,
                "unexpected": [dict(zip(("pass", "case", "field", "a", "b"), x)) for x in unexpected],
                "stale": [{"field": f_, "case": k} for f_, k in stale],
                "known": [
                    dict(zip(("pass", "case", "field", "a", "b", "status"), (p, case, field, va, vb, entries[hit][0]["status"])))
                    for hit, p, case, field, va, vb in matched
                ],
            },
            f,
            indent=1,
            ensure_ascii=False,
        )

    for x in problems:
        print(f"fidelity: {x}", file=sys.stderr)
    for p, case, field, va, vb in unexpected:
        print(f"fidelity: UNEXPECTED {p}/{case} {field}: A={short(va, 100)} B={short(vb, 100)}", file=sys.stderr)
    for field, key in stale:
        print(f"fidelity: listed but not found: {field} in {key}", file=sys.stderr)
    if args.suggest and unexpected:
        groups = defaultdict(list)
        for p, case, field, va, vb in unexpected:
            groups[field].append(f"{p}/{case}")
        print(json.dumps([{"field": k, "case": v, "why": "", "status": ""} for k, v in sorted(groups.items())], indent=1))
    print(f"fidelity: report in {args.report}.md", file=sys.stderr)
    print(f"fidelity: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
