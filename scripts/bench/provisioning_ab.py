#!/usr/bin/env python3
"""Figure 5 alone, for two control-api builds alternating in one run (before/after a
change), quick sizes: `python3 -B scripts/bench/provisioning_ab.py BEFORE_DIR AFTER_DIR
[REPEATS]`, each directory holding a control-api binary; PG_SUPERUSER_URL as for bench.sh.
Prints one JSON line per run with both ratios against the bare baseline of the same run."""
import json
import os
import sys

from common import Pg
from figures_tenants import figure_provisioning
from rig import Rig


def main():
    variants = {"before": sys.argv[1], "after": sys.argv[2]}
    for rep in range(int(sys.argv[3]) if len(sys.argv) > 3 else 3):
        for name, d in variants.items():
            rig = Rig(True, Pg(os.environ["PG_SUPERUSER_URL"]), "redis://127.0.0.1:6379")
            rig.bin = d
            try:
                rig.start_control()
                rig.control_login()
                figure_provisioning(rig)
            finally:
                rig.stop_all()
                rig.clean(only_own=True)
            r = rig.results["provisioning"]
            row = {"rep": rep, "variant": name,
                   **{f"{k}_{m}": r[k][m] for k in r for m in ("p50", "p99", "per_min")}}
            row["ratio_p50"] = r["api_seq"]["p50"] / r["base_seq"]["p50"]
            row["ratio_par"] = r["api_par"]["per_min"] / r["base_par"]["per_min"]
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
