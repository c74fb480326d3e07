#!/usr/bin/env python3
"""Figure 5 alone, for two control-api builds alternating in one run (before/after a
change), quick sizes: `python3 -B scripts/bench/provisioning_ab.py BEFORE_DIR AFTER_DIR
[REPEATS]`, each directory holding a control-api binary; PG_SUPERUSER_URL as for bench.sh.
Prints one JSON line per run with both ratios against the bare baseline of the same run.

More variants, or one binary under other settings: `VARIANTS='name=DIR[,KEY=VALUE...];...'`
(for example `VARIANTS='before=/tmp/b;after=/tmp/a;nospares=/tmp/a,PROVISION_SPARES=0'`)
replaces the two directories; then the only argument is REPEATS.

`AB_CLEAN_AT_END=1` drops each turn's databases only after the last turn: on a server busy
with other work a turn's `DROP DATABASE`s can take minutes, which would stretch the
interleaving (every turn still starts its own control database and prefix). A variant
with `PROVISION_SPARES` set is measured once its spares are made (`wait_for_spares`)."""
import json
import os
import sys
import time

from common import Pg
from figures_tenants import figure_provisioning
from rig import Rig


def wait_for_spares(rig, n):
    """Waits until control-api's spare databases are made (`PROVISION_SPARES`): the run
    measures provisioning against a service that has been up, not one still warming."""
    like = rig.prefix.replace("_", "\\_") + "\\_sp\\_%"
    deadline = time.time() + 120
    while n and time.time() < deadline:
        ready = rig.pg.sql("SELECT count(*) FROM pg_database WHERE datname LIKE "
                           f"'{like}' AND shobj_description(oid, 'pg_database') LIKE "
                           "'tenancy:spare=%'")
        if int(ready) >= n:
            return
        time.sleep(0.2)


def main():
    if os.environ.get("VARIANTS"):
        variants = {}
        for spec in os.environ["VARIANTS"].split(";"):
            name, rest = spec.split("=", 1)
            d, *settings = rest.split(",")
            variants[name] = (d, dict(s.split("=", 1) for s in settings))
        repeats = sys.argv[1:2]
    else:
        variants = {"before": (sys.argv[1], {}), "after": (sys.argv[2], {})}
        repeats = sys.argv[3:4]
    at_end = os.environ.get("AB_CLEAN_AT_END") == "1"
    used = []
    for rep in range(int(repeats[0]) if repeats else 3):
        for name, (d, settings) in variants.items():
            rig = Rig(True, Pg(os.environ["PG_SUPERUSER_URL"]), "redis://127.0.0.1:6379")
            rig.bin = d
            rig.env.update(settings)
            try:
                rig.start_control()
                rig.control_login()
                wait_for_spares(rig, int(settings.get("PROVISION_SPARES", "0")))
                figure_provisioning(rig)
            finally:
                rig.stop_all()
                if at_end:
                    used.append(rig)
                else:
                    rig.clean(only_own=True)
            r = rig.results["provisioning"]
            row = {"rep": rep, "variant": name,
                   **{f"{k}_{m}": r[k][m] for k in r for m in ("p50", "p99", "per_min")}}
            row["ratio_p50"] = r["api_seq"]["p50"] / r["base_seq"]["p50"]
            row["ratio_par"] = r["api_par"]["per_min"] / r["base_par"]["per_min"]
            print(json.dumps(row), flush=True)
    for rig in used:
        rig.clean(only_own=True)


if __name__ == "__main__":
    main()
