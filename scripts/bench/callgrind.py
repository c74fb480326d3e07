#!/usr/bin/env python3
"""Instructions per request of the hot path (`GET /v1/tickets/{id}`), counted by valgrind's
callgrind in app-api alone: repeatable on a busy machine, where wall-clock figures are not.

    scripts/bench/callgrind.sh [REQUESTS] [CLIENTS]     # defaults: 2000 requests, 4 clients
    APP_API_BIN=/path/to/app-api scripts/bench/callgrind.sh   # another build

Provisions one enterprise tenant through a release control-api (stopped afterwards), starts
the release app-api under `valgrind --tool=callgrind`, warms it up (pool, caches, prepared
statements, lazy statics), zeroes the counters, sends REQUESTS requests from CLIENTS
keep-alive clients, dumps, and prints Ir per request and the top functions (inclusive).
The profile stays in .bench/callgrind/ for `callgrind_annotate`. Everything the run
created is dropped at the end, like scripts/bench.sh.
"""

import concurrent.futures as cf
import glob
import os
import re
import subprocess
import sys
import time

from common import APP_PORT, OUT_DIR, Http, Pg, Service, log
from rig import Rig

WARM_UP = 300


def drive(rig, path, headers, total, clients):
    """`total` requests over `clients` keep-alive connections; every answer must be 200."""

    def worker(count):
        client = Http(APP_PORT)
        for _ in range(count):
            status, body = client.request("GET", path, headers=headers)
            if status != 200:
                raise RuntimeError(f"GET {path}: {status} {body}")

    share = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    with cf.ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, share))


def control(pid, *args):
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def total_ir(path):
    with open(path) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {path}")


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    pg = Pg(os.environ["PG_SUPERUSER_URL"])
    rig = Rig(True, pg, os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    rig.n = dict(rig.n, tenants=1)
    outdir = os.path.join(OUT_DIR, "callgrind")
    os.makedirs(outdir, exist_ok=True)
    for old in glob.glob(os.path.join(outdir, "callgrind.out*")):
        os.remove(old)
    try:
        rig.start_control()
        rig.control_login()
        _, tenant = rig.provision("cg-000", plan="enterprise")
        rig.tenants.append(tenant)
        rig.prepare_tenants()
        rig.stop(rig.services[0])
        out = os.path.join(outdir, "callgrind.out")
        # APP_API_BIN profiles another build (a saved "before" binary, say).
        binary = os.environ.get("APP_API_BIN", os.path.join(rig.bin, "app-api"))
        argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                "--dump-instr=no", binary]
        # The hot tenant's plan rate would refuse a warm-up faster than 500/s; valgrind
        # keeps it far below that anyway.
        app = Service("app-api-callgrind", argv, rig.env, APP_PORT)
        rig.services.append(app)
        path = f"/v1/tickets/{tenant['ticket']}"
        headers = rig.headers(tenant)
        log(f"warming up with {WARM_UP} requests")
        drive(rig, path, headers, WARM_UP, clients)
        control(app.proc.pid, "--zero")
        log(f"counting {total} requests from {clients} clients")
        t0 = time.time()
        drive(rig, path, headers, total, clients)
        secs = time.time() - t0
        control(app.proc.pid, "--dump=measured")
        dumps = sorted(glob.glob(out + "*"), key=os.path.getmtime)
        measured = dumps[-1]
        ir = total_ir(measured)
        print(f"Ir/request: {ir / total:.0f}   ({ir} Ir over {total} requests, "
              f"{clients} clients, {total / secs:.0f} req/s under valgrind)")
        top = subprocess.run(["callgrind_annotate", "--inclusive=yes", measured],
                             capture_output=True, text=True).stdout
        rows = [line for line in top.splitlines() if re.match(r"^\s*[\d,]+ \(", line)]
        print("\n".join(rows[:40]))
        print(f"profile: {os.path.relpath(measured)}")
    finally:
        rig.stop_all()
        rig.clean(only_own=True)


if __name__ == "__main__":
    main()
