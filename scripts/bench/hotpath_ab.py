#!/usr/bin/env python3
"""Figure 1 alone for several app-api builds, alternating in one run (before/after a
change), each against pgbench on the same SELECT in the same run:

    PG_SUPERUSER_URL=... python3 -B scripts/bench/hotpath_ab.py [--secs S] [--repeats R] \\
        NAME=DIR [NAME=DIR ...]

Each DIR holds an `app-api` binary; control-api comes from target/release. One line of
JSON per run, then per variant the median req/s and median app/pgbench ratio at 16 and 64
connections.
"""

import argparse
import json
import os

from common import APP_PORT, OUT_DIR, Pg, log, med
from loadtools import pgbench, wrk
from rig import Rig


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("variants", nargs="+", help="NAME=DIR")
    args = ap.parse_args()
    variants = [v.split("=", 1) for v in args.variants]
    rig = Rig(True, Pg(os.environ["PG_SUPERUSER_URL"]),
              os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    rig.n = dict(rig.n, tenants=1, zipf=1)
    release = rig.bin
    rows = []
    try:
        rig.start_control()
        rig.control_login()
        _, hot = rig.provision("ab-000", plan="enterprise")
        rig.tenants.append(hot)
        rig.prepare_tenants()
        rig.stop(rig.services[0])
        url = f"http://127.0.0.1:{APP_PORT}/v1/tickets/{hot['ticket']}"
        select = os.path.join(OUT_DIR, "select-ab.sql")
        with open(select, "w") as f:
            f.write("SELECT id, title, description, status, priority, requester_id, "
                    f"assignee_id, created_at, updated_at FROM tickets WHERE id = "
                    f"'{hot['ticket']}' AND (NULL::uuid IS NULL OR requester_id = NULL::uuid);\n")
        for rep in range(args.repeats):
            base = {c: pgbench(rig.pg, hot["db"], select, c, args.secs)["rps"] for c in (16, 64)}
            for name, d in variants:
                rig.bin = d
                app = rig.start_app(f"app-api-{name}", POOL_MAX_PER_TENANT=10)
                rig.bin = release
                wrk(url, 16, 1, rig.headers(hot))
                for c in (16, 64):
                    r = wrk(url, c, args.secs, rig.headers(hot))
                    row = {"rep": rep, "variant": name, "clients": c, "rps": r["rps"],
                           "pgbench": base[c], "ratio": r["rps"] / base[c],
                           "errors": r["errors"]}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                rig.stop(app)
    finally:
        rig.stop_all()
        rig.clean(only_own=True)
    for name, _ in variants:
        for c in (16, 64):
            mine = [r for r in rows if r["variant"] == name and r["clients"] == c]
            log(f"{name} c={c}: {med([r['rps'] for r in mine]):.0f} req/s, "
                f"ratio {med([r['ratio'] for r in mine]):.2f} "
                f"(pgbench {med([r['pgbench'] for r in mine]):.0f}), "
                f"errors {sum(r['errors'] for r in mine)}")


if __name__ == "__main__":
    main()
