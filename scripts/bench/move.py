#!/usr/bin/env python3
"""Moving one tenant (10,000 tickets, 50,000 comments) to a second PostgreSQL server through
the platform (API to job `succeeded`: fence, role and database on the target, `pg_dump -Fc |
pg_restore`, verify, switch, drop) against a bare `pg_dump -Fc | pg_restore` of the same
database into a fresh database on the same target, alternating in one run, with a writer
loop through app-api measuring how long writes were refused. The second server is started
here (initdb in a temporary directory, trust auth on 127.0.0.1) and removed at the end.
Writes the figures between the move markers of docs/BENCHMARKS.md.

    scripts/bench.sh --move [--quick]     (builds, then runs this)
    python3 scripts/bench/move.py [--quick]   (needs PG_SUPERUSER_URL, REDIS_URL, a release build)
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import rig as rig_module
from backup import FILL, TICKETS, COMMENTS_PER_TICKET, free_port
from common import DOC, call, http_for, log, med, pct, spread, Pg
from rig import Rig

CONTROL_PORT = rig_module.CONTROL_PORT = free_port()
APP_PORT = rig_module.APP_PORT = free_port()
BEGIN, END = "<!-- move-bench:begin -->", "<!-- move-bench:end -->"


def as_pg(argv):
    return (["runuser", "-u", "postgres", "--"] + argv) if os.geteuid() == 0 else argv


class Cluster:
    """A second PostgreSQL server of this run's own."""

    def __init__(self, bindir):
        self.bindir, self.port = bindir, free_port()
        self.dir = tempfile.mkdtemp(prefix="bench-pg-")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        data = os.path.join(self.dir, "data")
        subprocess.run(as_pg([os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres",
                              "--auth=trust", "-E", "UTF8", "--no-instructions"]),
                       check=True, capture_output=True)
        with open(os.path.join(data, "postgresql.conf"), "a") as f:
            f.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.dir}'\n")
        subprocess.run(as_pg([os.path.join(bindir, "pg_ctl"), "-D", data, "-l",
                              os.path.join(self.dir, "log"), "-w", "start"]),
                       check=True, capture_output=True)
        self.pg = Pg(f"postgres://postgres@127.0.0.1:{self.port}/postgres")

    def stop(self):
        subprocess.run(as_pg([os.path.join(self.bindir, "pg_ctl"), "-D",
                              os.path.join(self.dir, "data"), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class Writer(threading.Thread):
    """Writes tickets through app-api in a loop; records (start, end, status) of each."""

    def __init__(self, slug, token):
        super().__init__(daemon=True)
        self.h = {"x-tenant-slug": slug, "authorization": f"Bearer {token}"}
        self.log, self.other, self.stop_at = [], [], None

    def run(self):
        i = 0
        while self.stop_at is None or time.perf_counter() < self.stop_at:
            t0 = time.perf_counter()
            status, body = http_for(APP_PORT).request(
                "POST", "/v1/tickets", {"title": f"during move {i}", "description": "w"}, self.h)
            if status == 503 and isinstance(body, dict) and body.get("code") == "tenant_moving":
                pass
            elif status != 201:
                self.other.append(f"{status} {body.get('code') if isinstance(body, dict) else ''}")
                status = 503
            self.log.append((t0, time.perf_counter(), status))
            i += 1
            if status == 503:
                time.sleep(0.005)

    def refused_waits(self):
        """For each refused write, how long until a write was accepted again."""
        waits, ok_after = [], None
        for t0, _, status in reversed(self.log):
            if status == 201:
                ok_after = t0
            elif ok_after is not None:
                waits.append(ok_after - t0)
        return waits

    def window(self):
        refused = [t0 for t0, _, s in self.log if s == 503]
        if not refused:
            return 0.0
        after = [t0 for t0, _, s in self.log if s == 201 and t0 > refused[-1]]
        return (after[0] if after else refused[-1]) - refused[0]


def wait_job(auth, job_id, slug, dst):
    """Waits for the job's end; when the tenant was first seen on `dst` (the switch)."""
    switched = None
    while True:
        if switched is None:
            t = call(CONTROL_PORT, "GET", f"/v1/tenants/{slug}", headers=auth, expect=200)
            if t["server"] == dst:
                switched = time.perf_counter()
        job = call(CONTROL_PORT, "GET", f"/v1/jobs/{job_id}", headers=auth, expect=200)
        if job["state"] not in ("queued", "running", "retrying"):
            if job["state"] != "succeeded":
                raise RuntimeError(f"job {job_id}: {job['state']}: {job.get('last_error')}")
            return switched or time.perf_counter()
        time.sleep(0.02)


def main():
    quick = "--quick" in sys.argv
    runs = 3 if quick else 5
    pg = Pg(os.environ["PG_SUPERUSER_URL"])
    bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True,
                            text=True).stdout.strip()
    tool = lambda name: os.path.join(bindir, name) if bindir else name
    rig = Rig(quick, pg, os.environ["REDIS_URL"])
    rig.env["CONTROL_API_ADDR"] = f"127.0.0.1:{CONTROL_PORT}"
    rig.env["APP_API_ADDR"] = f"127.0.0.1:{APP_PORT}"
    rig.env["PROVISION_LEASE_SECS"] = "120"
    # The source is dropped right after the switch: the grace period is a wait, not work.
    rig.env["MOVE_GRACE_SECS"] = "0"
    rig.clean(only_own=True)
    second = Cluster(bindir)
    servers = {"default": pg, "second": second.pg}
    r = {"move": [], "switch": [], "bare": [], "window": [], "waits": [], "acked": 0, "refused": 0, "other": []}
    try:
        rig.start_control()
        rig.control_login()
        auth = rig.auth
        call(CONTROL_PORT, "POST", "/v1/servers",
             {"name": "second", "host": "127.0.0.1", "port": second.port,
              "admin_url": f"postgres://postgres@127.0.0.1:{second.port}/postgres",
              "capacity": 10}, auth, expect=201)
        _, t = rig.provision("move-bench")
        slug = t["slug"]
        log(f"filling {slug}: {TICKETS} tickets, {TICKETS * COMMENTS_PER_TICKET} comments")
        pg.sql(FILL, db=t["db"])
        rig.start_app()
        token = call(APP_PORT, "POST", "/v1/auth/login",
                     {"email": f"owner@{slug}.test", "password": f"{slug}-owner-pw"},
                     {"x-tenant-slug": slug}, expect=200)["access_token"]
        for i in range(runs):
            now = call(CONTROL_PORT, "GET", f"/v1/tenants/{slug}", headers=auth, expect=200)
            src, dst = now["server"], ("second" if now["server"] == "default" else "default")
            log(f"round {i + 1}/{runs}: {src} -> {dst}")
            # Bare: the same pipe, the same source, a fresh database on the same target.
            scratch = f"{rig.prefix}bare_copy"
            servers[dst].sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            servers[dst].sql(f'CREATE DATABASE "{scratch}" TEMPLATE template0')
            t0 = time.perf_counter()
            dump = subprocess.Popen([tool("pg_dump"), "-Fc", "--no-owner", "--no-privileges",
                                     *servers[src].args(now["db_name"])],
                                    env=servers[src].env, stdout=subprocess.PIPE)
            subprocess.run([tool("pg_restore"), "--no-owner", "--no-privileges",
                            "--exit-on-error", "--single-transaction",
                            *servers[dst].args(scratch)],
                           env=servers[dst].env, stdin=dump.stdout, check=True)
            dump.stdout.close()
            if dump.wait() != 0:
                raise RuntimeError("bare pg_dump failed")
            r["bare"].append(time.perf_counter() - t0)
            servers[dst].sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            # Platform: API call to job succeeded, a writer running throughout.
            writer = Writer(slug, token)
            writer.start()
            time.sleep(0.5)
            t0 = time.perf_counter()
            moved = call(CONTROL_PORT, "POST", f"/v1/tenants/{slug}/move", {"server": dst},
                         auth, expect=202)
            switched = wait_job(auth, moved["job"]["id"], slug, dst)
            r["move"].append(time.perf_counter() - t0)
            r["switch"].append(switched - t0)
            writer.stop_at = time.perf_counter() + 1.0
            writer.join()
            r["window"].append(writer.window())
            r["waits"] += writer.refused_waits()
            r["acked"] += sum(1 for _, _, s in writer.log if s == 201)
            r["refused"] += sum(1 for _, _, s in writer.log if s == 503) - len(writer.other)
            r["other"] += writer.other
            now = call(CONTROL_PORT, "GET", f"/v1/tenants/{slug}", headers=auth, expect=200)
            n = servers[dst].sql("SELECT count(*) FROM comments", db=now["db_name"])
            if now["server"] != dst or n != str(TICKETS * COMMENTS_PER_TICKET):
                raise RuntimeError(f"after the move: {now['server']}, {n} comments")
    finally:
        rig.stop_all()
        rig.clean(only_own=True)
        second.stop()
    write(r, runs)


def write(r, runs):
    bare = med(r["bare"])
    waits = r["waits"] or [0.0]
    text = "\n".join([
        BEGIN,
        f"{TICKETS:,} tickets and {TICKETS * COMMENTS_PER_TICKET:,} comments moved between two "
        f"PostgreSQL servers on this machine, {runs} alternating rounds "
        f"(`scripts/bench.sh --move`, `MOVE_GRACE_SECS=0`), a writer looping through app-api; "
        f"ratios against a bare `pg_dump -Fc | pg_restore` of the same database to the same "
        f"target in the same run (median {bare:.2f} s, range {spread(r['bare'], '{:.2f}')} s):",
        "",
        "| | median s | range | / bare copy |",
        "|---|---|---|---|",
        f"| move (API to job `succeeded`) | {med(r['move']):.2f} | "
        f"{spread(r['move'], '{:.2f}')} | **{med(r['move']) / bare:.2f}** |",
        f"| move to the switch (API to the tenant served from the target) | "
        f"{med(r['switch']):.2f} | {spread(r['switch'], '{:.2f}')} | "
        f"**{med(r['switch']) / bare:.2f}** |",
        f"| write-fence window (first refused write to the next accepted) | "
        f"{med(r['window']):.2f} | {spread(r['window'], '{:.2f}')} | "
        f"**{med(r['window']) / bare:.2f}** |",
        f"| a refused write's wait until writes are accepted, p50 | {pct(waits, 50):.2f} | | "
        f"**{pct(waits, 50) / bare:.2f}** |",
        f"| a refused write's wait until writes are accepted, p99 | {pct(waits, 99):.2f} | | "
        f"**{pct(waits, 99) / bare:.2f}** |",
        "",
        f"The time after the switch is the source's `DROP DATABASE`, which waits for a "
        f"checkpoint of that server; the tenant is served from the target meanwhile. "
        f"Writes during the rounds: {r['acked']:,} accepted, {r['refused']:,} refused with 503 "
        f"`tenant_moving`, {len(r['other'])} answered otherwise"
        + (f" ({', '.join(sorted(set(r['other'])))}; counted as refused)." if r["other"] else "."),
        END,
    ])
    doc = open(DOC).read() if os.path.exists(DOC) else "# Benchmarks\n"
    if BEGIN in doc:
        head, rest = doc.split(BEGIN, 1)
        doc = head + text + rest.split(END, 1)[1]
    else:
        doc = doc.rstrip("\n") + "\n\n## Moving a tenant to another server\n\n" + text + "\n"
    with open(DOC, "w") as f:
        f.write(doc)
    log("wrote the move figures to docs/BENCHMARKS.md")
    print(text)


if __name__ == "__main__":
    main()
