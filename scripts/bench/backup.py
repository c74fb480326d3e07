#!/usr/bin/env python3
"""Backup and restore of one tenant (10,000 tickets, 50,000 comments) through the platform
(API to job `succeeded`: pg_dump piped through the STREAM AEAD to disk; verify, pg_restore
from the decrypted stream, migrations, switch, drop) against a bare `pg_dump -Fc` to a
file and a bare `pg_restore` of that file into a fresh database, alternating in one run.
Writes the figures between the backup markers of docs/BENCHMARKS.md.

    scripts/bench.sh --backup            (builds, then runs this)
    python3 scripts/bench/backup.py [--quick]   (needs PG_SUPERUSER_URL, REDIS_URL, a release build)
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import rig as rig_module
from common import DOC, call, log, med, spread, Pg
from rig import Rig


def free_port():
    """A port nothing listens on: the fixed bench port may be another run's."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONTROL_PORT = rig_module.CONTROL_PORT = free_port()

BEGIN, END = "<!-- backup-bench:begin -->", "<!-- backup-bench:end -->"
TICKETS, COMMENTS_PER_TICKET = 10_000, 5

FILL = f"""
INSERT INTO tickets (title, description, priority, requester_id, created_at)
SELECT 'Ticket ' || i, repeat('The printer on floor ' || i || ' is on fire. ', 4),
       (ARRAY['low','medium','high','urgent'])[1 + i % 4],
       (SELECT id FROM users LIMIT 1), now() - i * interval '1 minute'
FROM generate_series(1, {TICKETS}) i;
INSERT INTO comments (ticket_id, author_id, body, internal)
SELECT t.id, t.requester_id, 'Comment ' || c || ' on ' || t.title || ': tried turning it off and on.',
       c % 3 = 0
FROM tickets t, generate_series(1, {COMMENTS_PER_TICKET}) c;
ANALYZE;
"""


def wait_job(auth, job_id):
    while True:
        job = call(CONTROL_PORT, "GET", f"/v1/jobs/{job_id}", headers=auth, expect=200)
        if job["state"] not in ("queued", "running", "retrying"):
            if job["state"] != "succeeded":
                raise RuntimeError(f"job {job_id}: {job['state']}: {job.get('last_error')}")
            return
        time.sleep(0.02)


def main():
    quick = "--quick" in sys.argv
    runs = 3 if quick else 5
    pg = Pg(os.environ["PG_SUPERUSER_URL"])
    rig = Rig(quick, pg, os.environ["REDIS_URL"])
    backup_dir = tempfile.mkdtemp(prefix="bench-backups-")
    bare_dir = tempfile.mkdtemp(prefix="bench-bare-")
    rig.env["BACKUP_DIR"] = backup_dir
    rig.env["CONTROL_API_ADDR"] = f"127.0.0.1:{CONTROL_PORT}"
    rig.env["PROVISION_LEASE_SECS"] = "120"
    # Only this run's names: other runs may share this machine's PostgreSQL.
    rig.clean(only_own=True)
    results = {"platform_backup": [], "bare_dump": [], "platform_restore": [],
               "bare_restore": [], "platform_bytes": 0, "bare_bytes": 0}
    try:
        rig.start_control()
        rig.control_login()
        _, t = rig.provision("backup-bench")
        slug, auth = t["slug"], rig.auth
        log(f"filling {slug}: {TICKETS} tickets, {TICKETS * COMMENTS_PER_TICKET} comments")
        pg.sql(FILL, db=t["db"])
        pg_bin = subprocess.run(["pg_config", "--bindir"], capture_output=True,
                                text=True).stdout.strip()
        tool = lambda name: os.path.join(pg_bin, name) if pg_bin else name
        for i in range(runs):
            log(f"round {i + 1}/{runs}")
            db = call(CONTROL_PORT, "GET", f"/v1/tenants/{slug}", headers=auth, expect=200)["db_name"]
            # Bare dump of the same database, to a file (what an operator would do).
            dump = os.path.join(bare_dir, "tenant.dump")
            t0 = time.perf_counter()
            subprocess.run([tool("pg_dump"), "-Fc", "-f", dump, *pg.args(db)], env=pg.env,
                           check=True)
            results["bare_dump"].append(time.perf_counter() - t0)
            results["bare_bytes"] = os.path.getsize(dump)
            # Platform backup: API call to job succeeded.
            t0 = time.perf_counter()
            created = call(CONTROL_PORT, "POST", f"/v1/tenants/{slug}/backups", headers=auth,
                           expect=202)
            wait_job(auth, created["job"]["id"])
            results["platform_backup"].append(time.perf_counter() - t0)
            listed = call(CONTROL_PORT, "GET", f"/v1/tenants/{slug}/backups", headers=auth,
                          expect=200)
            results["platform_bytes"] = next(b for b in listed if b["id"] == created["id"])["size_bytes"]
            # Bare restore of the bare dump into a fresh database.
            scratch = f"{rig.prefix}bare_restore"
            pg.sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            pg.sql(f'CREATE DATABASE "{scratch}" TEMPLATE template0')
            t0 = time.perf_counter()
            subprocess.run([tool("pg_restore"), "--no-owner", "--no-privileges",
                            "--exit-on-error", "--single-transaction", *pg.args(scratch), dump],
                           env=pg.env, check=True)
            results["bare_restore"].append(time.perf_counter() - t0)
            pg.sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            # Platform restore of its backup: API call to job succeeded.
            t0 = time.perf_counter()
            restored = call(CONTROL_PORT, "POST", f"/v1/tenants/{slug}/restore",
                            {"backup_id": created["id"]}, auth, expect=202)
            wait_job(auth, restored["job"]["id"])
            results["platform_restore"].append(time.perf_counter() - t0)
            db = call(CONTROL_PORT, "GET", f"/v1/tenants/{slug}", headers=auth, expect=200)["db_name"]
            n = pg.sql("SELECT (SELECT count(*) FROM tickets) || ' ' || (SELECT count(*) FROM comments)", db=db)
            if n != f"{TICKETS} {TICKETS * COMMENTS_PER_TICKET}":
                raise RuntimeError(f"restored tenant has {n} tickets and comments")
    finally:
        rig.stop_all()
        rig.clean(only_own=True)
        shutil.rmtree(backup_dir, ignore_errors=True)
        shutil.rmtree(bare_dir, ignore_errors=True)
    write(results, runs)


def write(r, runs):
    def row(name, platform, bare):
        p, b = r[platform], r[bare]
        return (f"| {name} | {med(p):.2f} | {spread(p, '{:.2f}')} | {med(b):.2f} | "
                f"{spread(b, '{:.2f}')} | **{med(p) / med(b):.2f}** |")
    text = "\n".join([
        BEGIN,
        f"{TICKETS:,} tickets and {TICKETS * COMMENTS_PER_TICKET:,} comments, {runs} alternating "
        f"rounds on this machine (`scripts/bench.sh --backup`), medians in seconds:",
        "",
        "| | platform s | range | bare s | range | platform / bare |",
        "|---|---|---|---|---|---|",
        row("backup (API to job done) vs `pg_dump -Fc` to a file", "platform_backup", "bare_dump"),
        row("restore (API to job done) vs `pg_restore` into a fresh database", "platform_restore",
            "bare_restore"),
        "",
        f"Encrypted backup file {r['platform_bytes']:,} bytes; bare dump {r['bare_bytes']:,} bytes "
        f"(ratio {r['platform_bytes'] / r['bare_bytes']:.3f}: a 16-byte tag per 64 KiB chunk and "
        f"a 32-byte header).",
        END,
    ])
    doc = open(DOC).read()
    if BEGIN in doc:
        head, rest = doc.split(BEGIN, 1)
        doc = head + text + rest.split(END, 1)[1]
    else:
        doc = doc.rstrip("\n") + "\n\n## Backup and restore\n\n" + text + "\n"
    with open(DOC, "w") as f:
        f.write(doc)
    log("wrote the backup figures to docs/BENCHMARKS.md")


if __name__ == "__main__":
    main()
