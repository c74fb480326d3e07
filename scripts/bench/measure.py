#!/usr/bin/env python3
"""Measures every benchmark figure against a release build on this machine's PostgreSQL
and Redis, saves the raw numbers to .bench/results.json, then has report.py write
docs/BENCHMARKS.md from them. Called by scripts/bench.sh, which builds the binaries and
installs the tools; see that script for usage.

Every figure is a ratio against a baseline taken in the same run. Everything this run
creates (a control database, tenant databases and roles, Redis keys) carries a random
run prefix and is dropped at the end, so it can run beside the dev platform or the tests.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import time

import report
from common import OUT_DIR, RESULTS, ROOT, Pg, log
from figures_load import figure_hot_path, figure_many_tenants, figure_micro, figure_skewed
from figures_tenants import figure_cold, figure_memory, figure_provisioning
from rig import Rig


def machine(pg):
    """One line naming what the figures were measured on, for the report's header."""
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    version = pg.sql("SHOW server_version")
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True).stdout.strip() or "?"
    return (f"{os.cpu_count()} cores ({cpu}), {mem} memory, PostgreSQL {version}, "
            f"Linux {platform.release()}, commit {rev}")


def measure(rig):
    """Runs the figures in the order their tenants need; the rig is cleaned up whatever fails."""
    os.makedirs(OUT_DIR, exist_ok=True)
    started = time.time()
    # Leftovers of earlier runs go first, unless another run may be live (BENCH_SWEEP=0).
    rig.clean(only_own=os.environ.get("BENCH_SWEEP", "1") == "0")
    try:
        figure_micro(rig)
        rig.start_control()
        rig.control_login()
        figure_provisioning(rig)
        rig.provision_rest()
        rig.prepare_tenants()
        # The control plane's work is done: stop it so it takes no CPU or connections.
        rig.stop(rig.services[0])
        figure_hot_path(rig)
        figure_many_tenants(rig)
        figure_skewed(rig)
        figure_cold(rig)
        figure_memory(rig)
    finally:
        rig.stop_all()
        rig.clean(only_own=True)
    rig.results["elapsed"] = time.time() - started
    return {
        "meta": {"quick": rig.quick, "date": datetime.date.today().isoformat(),
                 "machine": machine(rig.pg)},
        "results": rig.results,
        "commands": rig.commands,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer, shorter runs")
    args = ap.parse_args()
    pg = Pg(os.environ["PG_SUPERUSER_URL"])
    rig = Rig(args.quick, pg, os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    saved = measure(rig)
    with open(RESULTS, "w") as f:
        json.dump(saved, f, indent=1)
    report.write(saved)
    log(f"done in {saved['results']['elapsed']:.0f} s; wrote .bench/results.json and "
        "docs/BENCHMARKS.md")


if __name__ == "__main__":
    main()
