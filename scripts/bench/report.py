#!/usr/bin/env python3
"""Writes the generated part of docs/BENCHMARKS.md from saved measurements: fills
BENCHMARKS.template.md (beside this file) with table rows computed from
.bench/results.json and replaces only the text between the bench markers, so the
hand-written analysis around it stays as it is.

    python3 scripts/bench/report.py [RESULTS_JSON]   # default: .bench/results.json

measure.py calls it at the end of a run; run it alone to re-render a saved run.
"""

import json
import os
import string
import sys

from common import DOC, RESULTS, med, pct, spread

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "BENCHMARKS.template.md")


def hot_rows(hp):
    rows = []
    for conns in (16, 64):
        a, p = hp[f"app_{conns}"], hp[f"pgbench_{conns}"]
        ar, pr = [x["rps"] for x in a], [x["rps"] for x in p]
        rows.append(
            f"| {conns} | {med(ar):.0f} | {spread(ar)} | {med([x['p50'] for x in a]):.2f} | "
            f"{med([x['p99'] for x in a]):.2f} | {med(pr):.0f} | {spread(pr)} | "
            f"{med([x['p50'] for x in p]):.2f} | {med([x['p99'] for x in p]):.2f} | "
            f"**{med(ar) / med(pr):.2f}** | {sum(x['errors'] for x in a)} |")
    return rows


def micro_rows(mi, single_p50):
    rows = [f"| {name.replace('_', ' ')} | {v['median']:.0f} | {v['lo']:.0f}–{v['hi']:.0f} | "
            f"{100 * v['median'] / single_p50:.2f} % |" for name, v in mi.items()]
    total = sum(v["median"] for v in mi.values())
    rows.append(f"| **all four** | **{total:.0f}** | | **{100 * total / single_p50:.2f} %** |")
    return rows


def many_rows(many_runs, ceiling, hot64):
    cr = [x["rps"] for x in ceiling]
    rows = []
    for many in many_runs:
        mr = [x["rps"] for x in many["runs"]]
        rows.append(
            f"| app-api, {many['tenants']} tenants | {many['budget']} | {med(mr):.0f} | "
            f"{spread(mr)} | {med([x['p50'] for x in many['runs']]):.2f} | "
            f"{med([x['p99'] for x in many['runs']]):.2f} | **{med(mr) / med(cr):.2f}** | "
            f"{med(mr) / hot64:.2f} | {sum(x['errors'] for x in many['runs'])} | "
            f"{100 * many['hit_rate']:.1f} % | {many['peak_connections']} "
            f"({many['samples']} samples) | {many['pools_created']:.0f} | "
            f"{many['limit_rejections']:.0f} |")
    rows.append(
        f"| pgbench -C, {many_runs[0]['tenants']} tenants | (a new backend per transaction) | "
        f"{med(cr):.0f} | {spread(cr)} | | | 1.00 | {med(cr) / hot64:.2f} | "
        f"{sum(x['errors'] for x in ceiling)} | 0 % | {many_runs[0].get('clients', 64)} | | |")
    return rows


def skewed_rows(sk, hot64):
    r = [x["rps"] for x in sk["runs"]]
    return [
        f"| {sk['tenants']} | {sk['budget']} | {med(r):.0f} | {spread(r)} | "
        f"{med([x['p50'] for x in sk['runs']]):.2f} | {med([x['p99'] for x in sk['runs']]):.2f} | "
        f"**{med(r) / hot64:.2f}** | {100 * sk['hit_rate']:.2f} % | {sk['opened']:.0f} | "
        f"{sk['requests']} | {sum(x['errors'] for x in sk['runs'])} |"]


def cold_rows(cold):
    c, w, b = cold["cold"], cold["warm"], cold["bare"]
    return [
        f"| first request (no pool) | {med(c):.2f} | {pct(c, 99):.2f} |",
        f"| second request (warm) | {med(w):.2f} | {pct(w, 99):.2f} |",
        f"| bare connect + prepare + SELECT, in-process | {med(b):.2f} | {pct(b, 99):.2f} |",
        f"| **first request / bare** | **{med(c) / med(b):.2f}** | "
        f"{pct(c, 99) / pct(b, 99):.2f} |",
    ]


def provisioning_rows(pv):
    rows = []
    for key, label in (("api_seq", "API, one at a time"), ("api_par", "API, 4 at a time"),
                       ("base_seq", "createdb + psql, one at a time"),
                       ("base_par", "createdb + psql, 4 at a time")):
        v = pv[key]
        rows.append(f"| {label} | {v['n']} | {v['per_min']:.0f} | {v['p50']:.3f} | "
                    f"{v['p99']:.3f} |")
    rows.append(f"| **API / bare, p50 one at a time** | | | "
                f"**{pv['api_seq']['p50'] / pv['base_seq']['p50']:.2f}** | |")
    rows.append(f"| **API / bare, tenants/min 4 at a time** | | "
                f"**{pv['api_par']['per_min'] / pv['base_par']['per_min']:.2f}** | | |")
    return rows


def memory_rows(mem):
    return [
        f"| at rest | {mem['idle'] / 1024:.1f} |",
        f"| {mem['ghosts']} tenant records cached (suspended tenants) | "
        f"{mem['records'] / 1024:.1f} |",
        f"| + {mem['real']} active tenants' records and pools open ({mem['pools_open']:.0f} "
        f"pools, {mem['connections']:.0f} connections) | {mem['pools'] / 1024:.1f} |",
        f"| per cached record | {(mem['records'] - mem['idle']) / mem['ghosts']:.2f} KiB |",
        f"| per active tenant (record, pool, one connection) | "
        f"{(mem['pools'] - mem['records']) / max(1, mem['real']):.1f} KiB |",
    ]


def render(saved):
    """The generated part of the report, from one run's saved measurements."""
    meta, r, c = saved["meta"], saved["results"], saved["commands"]
    hp = r["hot_path"]
    single_p50 = med([x["p50"] for x in r["single"]]) * 1e6  # ns
    values = {
        "flag": " --quick" if meta["quick"] else "",
        "mode": "quick" if meta["quick"] else "full",
        "date": meta["date"],
        "machine": meta["machine"],
        "elapsed": f"{r['elapsed']:.0f}",
        "hot_runs": len(hp["app_16"]),
        "hot_rows": hot_rows(hp),
        "single_us": f"{single_p50 / 1000:.0f}",
        "micro_rows": micro_rows(r["micro"], single_p50),
        "many_tenants": r["many"][0]["tenants"],
        "many_budget": r["many"][0]["budget"],
        "many_clients": r["many"][0].get("clients", 64),
        "skewed_clients": r["skewed"].get("clients", 64),
        "many_runs": len(r["many"][0]["runs"]),
        "many_rows": many_rows(r["many"], r["many_ceiling"],
                               med([x["rps"] for x in hp["app_64"]])),
        "skewed_tenants": r["skewed"]["tenants"],
        "skewed_budget": r["skewed"]["budget"],
        "skewed_rows": skewed_rows(r["skewed"], med([x["rps"] for x in hp["app_64"]])),
        "cold_tenants": len(r["cold"]["cold"]),
        "cold_rows": cold_rows(r["cold"]),
        "provisioning_rows": provisioning_rows(r["provisioning"]),
        "memory_rows": memory_rows(r["memory"]),
    }
    for key, figure in (("hot", "hot_path"), ("micro", "micro"), ("many", "many"),
                        ("skewed", "skewed"),
                        ("cold", "cold"), ("provisioning", "provisioning"),
                        ("memory", "memory")):
        values[f"{key}_commands"] = c[figure]
    values = {k: "\n".join(v) if isinstance(v, list) else v for k, v in values.items()}
    with open(TEMPLATE) as f:
        return string.Template(f.read()).substitute(values).rstrip("\n")


def splice(doc, generated):
    """Replaces what lies between the markers; everything outside them is kept."""
    if BEGIN not in doc:
        doc += f"\n{BEGIN}\n{END}\n"
    head, rest = doc.split(BEGIN, 1)
    tail = rest.split(END, 1)[1] if END in rest else ""
    return f"{head}{BEGIN}\n{generated}\n{END}{tail}"


def write(saved, path=DOC):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path) as f:
            doc = f.read()
    else:
        doc = f"# Benchmarks\n\nRun `scripts/bench.sh` (or `--quick`).\n\n{BEGIN}\n{END}\n"
    with open(path, "w") as f:
        f.write(splice(doc, render(saved)))


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else RESULTS
    with open(source) as f:
        saved = json.load(f)
    write(saved)
    print(f"wrote {os.path.relpath(DOC)} from {source}", file=sys.stderr)


if __name__ == "__main__":
    main()
