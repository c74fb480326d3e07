#!/usr/bin/env python3
"""Figure 3b (Zipf, s = 1, over many tenants through a connection budget) for several
app-api builds, alternating in one run (before/after a change), each beside figure 1
(the hot path on one warm tenant, same build, same round) and the physical ceiling of a
miss (`pgbench -C`, a new backend per transaction, over the tail tenants):

    PG_SUPERUSER_URL=... python3 -B scripts/bench/skewed_ab.py [--tenants 1000] \\
        [--budget 100] [--clients 64] [--secs 10] [--repeats 3] NAME=DIR [NAME=DIR ...]

Each DIR holds an `app-api` binary; control-api comes from target/release. One line of
JSON per run, then per variant the medians: Zipf req/s, its ratio to figure 1, hit rate
(1 - connections opened / requests), errors, and the bound the miss rate sets with the
measured `pgbench -C` rate (misses a second cannot exceed it: req/s <= C / miss rate).
Everything the run creates carries the run prefix and is dropped at the end.
"""

import argparse
import concurrent.futures as cf
import json
import os

from common import APP_PORT, OUT_DIR, Pg, log, med
from figures_load import delta, select_file, write_zipf_script
from loadtools import pgbench_connect, wrk
from rig import Rig


def provision_all(rig, count):
    _, hot = rig.provision("zab-0000", plan="enterprise")
    rig.tenants.append(hot)
    log(f"provisioning {count - 1} more tenants, 4 at a time")
    with cf.ThreadPoolExecutor(4) as pool:
        done = list(pool.map(rig.provision, [f"zab-{i:04d}" for i in range(1, count)]))
    rig.tenants += [t for _, t in done]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tenants", type=int, default=1000)
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--secs", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("variants", nargs="+", help="NAME=DIR")
    args = ap.parse_args()
    variants = [v.split("=", 1) for v in args.variants]
    rig = Rig(False, Pg(os.environ["PG_SUPERUSER_URL"]),
              os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    release = rig.bin
    rows = []
    try:
        os.makedirs(OUT_DIR, exist_ok=True)
        rig.start_control()
        rig.control_login()
        provision_all(rig, args.tenants)
        rig.prepare_tenants()
        rig.stop(rig.services[0])
        hot = rig.tenants[0]
        hot_url = f"http://127.0.0.1:{APP_PORT}/v1/tickets/{hot['ticket']}"
        script = os.path.join(OUT_DIR, "zipf-ab.lua")
        write_zipf_script(script, rig.tenants)
        # The ceiling of a miss: tenants past the budget, one pgbench -C client each.
        tail = rig.tenants[args.budget:args.budget + args.clients]
        jobs = [(t["db"], select_file(t)) for t in tail]
        for rep in range(args.repeats):
            ceiling = pgbench_connect(rig.pg, jobs, args.secs)
            for name, d in variants:
                rig.bin = d
                app = rig.start_app(f"app-api-{name}", POOL_MAX_PER_TENANT=10)
                wrk(hot_url, 16, 1, rig.headers(hot))
                fig1 = wrk(hot_url, args.clients, args.secs, rig.headers(hot))
                rig.stop(app)
                app = rig.start_app(f"app-api-{name}-zipf", POOL_MAX_TOTAL=args.budget)
                rig.bin = release
                before = app.metrics()
                z = wrk(f"http://127.0.0.1:{APP_PORT}/", args.clients, args.secs,
                        script=script)
                after = app.metrics()
                rig.stop(app)
                opened = delta(before, after, "tenant_pool_connections_opened_total")
                hit = 1 - opened / max(1, z["requests"])
                row = {"rep": rep, "variant": name, "zipf_rps": z["rps"],
                       "zipf_p50": z["p50"], "zipf_p99": z["p99"], "errors": z["errors"],
                       "requests": z["requests"], "opened": opened, "hit_rate": hit,
                       "fig1_rps": fig1["rps"], "ratio_fig1": z["rps"] / fig1["rps"],
                       "pgbench_c": ceiling["rps"],
                       "bound": ceiling["rps"] / max(1e-9, 1 - hit),
                       "pools_created": delta(before, after, "tenant_pool_created_total"),
                       "rejections": delta(before, after,
                                           "tenant_pool_limit_rejections_total"),
                       # The server refusing connections below the budget (max_connections).
                       "refusals": delta(before, after,
                                         "tenant_pool_server_refusals_total")}
                row["of_bound"] = z["rps"] / row["bound"]
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        rig.bin = release
        rig.stop_all()
        rig.clean(only_own=True)
    with open(os.path.join(OUT_DIR, "skewed_ab.json"), "w") as f:
        json.dump(rows, f, indent=1)
    for name, _ in variants:
        mine = [r for r in rows if r["variant"] == name]
        log(f"{name}: zipf {med([r['zipf_rps'] for r in mine]):.0f} req/s "
            f"(p50 {med([r['zipf_p50'] for r in mine]):.1f} ms, "
            f"p99 {med([r['zipf_p99'] for r in mine]):.1f} ms), "
            f"figure 1 {med([r['fig1_rps'] for r in mine]):.0f}, "
            f"ratio {med([r['ratio_fig1'] for r in mine]):.3f}, "
            f"hit rate {med([r['hit_rate'] for r in mine]):.1%}, "
            f"pgbench -C {med([r['pgbench_c'] for r in mine]):.0f}/s, "
            f"of bound {med([r['of_bound'] for r in mine]):.2f}, "
            f"errors {sum(r['errors'] for r in mine)}")


if __name__ == "__main__":
    main()
