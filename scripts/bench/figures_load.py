"""Figures about the request path: 2 (criterion micro-benchmarks of the tenancy layer),
1 (the hot path against pgbench on the same database), 3 (many tenants round-robin
through a tight connection budget, against pgbench -C) and 3b (a Zipf load over ten
times as many tenants as connections). Each stores raw numbers in rig.results and the commands it ran in
rig.commands."""

import json
import os
import subprocess

from common import APP_PORT, OUT_DIR, ROOT, log
from loadtools import ConnSampler, pgbench, pgbench_connect, wrk

MICRO = ("slug_validation", "resolution_cache_hit", "pool_factory_hit", "jwt_verification")


def figure_micro(rig):
    log("figure 2: criterion micro-benchmarks of the tenancy layer")
    times = ["--warm-up-time", "1", "--measurement-time", "2"] if rig.quick else \
        ["--warm-up-time", "2", "--measurement-time", "5"]
    subprocess.run(["cargo", "bench", "--quiet", "-p", "app-api", "--bench", "tenancy", "--",
                    "--noplot", *times], cwd=ROOT, check=True, capture_output=True)
    micro = {}
    for name in MICRO:
        with open(os.path.join(rig.target, "criterion", name, "new", "estimates.json")) as f:
            est = json.load(f)
        micro[name] = {"median": est["median"]["point_estimate"],
                       "lo": est["median"]["confidence_interval"]["lower_bound"],
                       "hi": est["median"]["confidence_interval"]["upper_bound"]}
    rig.results["micro"] = micro
    rig.commands["micro"] = [
        f"cargo bench -p app-api --bench tenancy -- --noplot {' '.join(times)}"]


def figure_hot_path(rig):
    hot = rig.tenants[0]
    n = rig.n
    log(f"figure 1: hot path vs pgbench, {n['runs']} runs of {n['secs']} s per setting")
    app = rig.start_app(POOL_MAX_PER_TENANT=10)
    url = f"http://127.0.0.1:{APP_PORT}/v1/tickets/{hot['ticket']}"
    wrk(url, 16, 1, rig.headers(hot))  # warm-up: pool, caches, prepared statements
    select = os.path.join(OUT_DIR, "select.sql")
    with open(select, "w") as f:
        f.write("SELECT id, title, description, status, priority, requester_id, assignee_id, "
                f"created_at, updated_at FROM tickets WHERE id = '{hot['ticket']}' "
                "AND (NULL::uuid IS NULL OR requester_id = NULL::uuid);\n")
    runs = {(k, c): [] for k in ("app", "pgbench") for c in (16, 64)}
    single = []
    for _ in range(n["runs"]):
        for c in (16, 64):
            runs[("app", c)].append(wrk(url, c, n["secs"], rig.headers(hot)))
            runs[("pgbench", c)].append(pgbench(rig.pg, hot["db"], select, c, n["secs"]))
        single.append(wrk(url, 1, max(2, n["secs"] // 2), rig.headers(hot)))
    rig.stop(app)
    rig.results["hot_path"] = {f"{k}_{c}": v for (k, c), v in runs.items()}
    rig.results["single"] = single
    rig.commands["hot_path"] = [
        f"wrk -t 2 -c {{16,64}} -d {n['secs']}s --latency -H 'x-tenant-slug: {hot['slug']}' "
        "-H 'authorization: Bearer …' http://127.0.0.1:3100/v1/tickets/{id}",
        f"pgbench -n -M prepared -c {{16,64}} -j 2 -T {n['secs']} -f select.sql -l "
        f"{hot['db']}   # select.sql: the app's SELECT for the same ticket",
        f"wrk -t 2 -c 1 -d {max(2, n['secs'] // 2)}s --latency …   # one connection, for figure 2",
    ]


def select_file(t):
    """A pgbench script of the app's SELECT for tenant t's ticket."""
    path = os.path.join(OUT_DIR, f"select-{t['slug']}.sql")
    with open(path, "w") as f:
        f.write("SELECT id, title, description, status, priority, requester_id, assignee_id, "
                f"created_at, updated_at FROM tickets WHERE id = '{t['ticket']}' "
                "AND (NULL::uuid IS NULL OR requester_id = NULL::uuid);\n")
    return path


def figure_many_tenants(rig):
    # More tenants than connections (round-robin, the worst case for any cache), beside the
    # physical ceiling of that load: a new backend per request (pgbench -C over the same
    # databases); and the same load over only as many tenants as the budget keeps warm.
    n = rig.n
    tenants = rig.tenants[: n["tenants"]]
    budget = n["tenants"] // 2
    # No more clients than connections: past that, requests queue for the budget itself
    # (and time out 429), which measures the queue, not the tenants.
    clients = min(64, budget)
    ceiling = []

    def pgbench_c(run):
        jobs = [(t["db"], select_file(t)) for t in
                (tenants[(run * clients + i) % len(tenants)] for i in range(clients))]
        ceiling.append(pgbench_connect(rig.pg, jobs, n["secs"]))

    rig.results["many"] = [
        round_robin(rig, tenants, "all", budget, clients, between_runs=pgbench_c),
        round_robin(rig, tenants[:budget], "fits", budget, clients)]
    rig.results["many_ceiling"] = ceiling
    rig.commands["many"] = [
        f"POOL_MAX_TOTAL={budget} app-api; wrk -t 2 -c {clients} -d {n['secs']}s --latency "
        "-s round-robin.lua http://127.0.0.1:3100/",
        f"{clients} x pgbench -n -C -M prepared -c 1 -j 1 -T {n['secs']} -f select-TENANT.sql "
        f"TENANT_DB   # at once, {clients} of the same tenants per run (shifted by {clients} "
        "each run)",
        "psql: SELECT count(*) FROM pg_stat_activity WHERE application_name = 'app-api' "
        "AND datname LIKE 'bench…_%'   # every 20 ms during the runs",
    ]


def figure_skewed(rig):
    """Zipf (s = 1) over many tenants, ten times as many as the connection budget."""
    n = rig.n
    tenants = rig.tenants[: n["zipf"]]
    budget = len(tenants) // 10
    clients = min(64, budget)
    log(f"figure 3b: Zipf (s=1) over {len(tenants)} tenants, POOL_MAX_TOTAL={budget}")
    script = os.path.join(OUT_DIR, "zipf.lua")
    write_zipf_script(script, tenants)
    app = rig.start_app(POOL_MAX_TOTAL=budget)
    before = app.metrics()
    runs = [wrk(f"http://127.0.0.1:{APP_PORT}/", clients, n["secs"], script=script)
            for _ in range(n["runs"])]
    after = app.metrics()
    pools = after.get("tenant_pools_active", 0)
    rig.stop(app)
    opened = delta(before, after, "tenant_pool_connections_opened_total")
    requests = sum(r["requests"] for r in runs)
    rig.results["skewed"] = {
        "tenants": len(tenants), "budget": budget, "clients": clients, "runs": runs,
        "opened": opened,
        "requests": requests, "hit_rate": 1 - opened / max(1, requests),
        "pools_created": delta(before, after, "tenant_pool_created_total"),
        "pools_active": pools,
    }
    rig.commands["skewed"] = [
        f"POOL_MAX_TOTAL={budget} app-api; wrk -t 2 -c {clients} -d {n['secs']}s --latency "
        f"-s zipf.lua http://127.0.0.1:3100/   # tenant of rank k with weight 1/k, "
        f"{len(tenants)} tenants",
        "hit rate = 1 - tenant_pool_connections_opened_total / requests (deltas over the runs)",
    ]


def write_zipf_script(path, tenants):
    """A wrk script drawing each request's tenant from Zipf(s = 1) over the list's order."""
    with open(path, "w") as f:
        f.write("local tenants = {\n")
        for t in tenants:
            f.write(f'  {{"{t["slug"]}", "Bearer {t["token"]}", "/v1/tickets/{t["ticket"]}"}},\n')
        f.write("}\nlocal n = #tenants\nlocal cdf = {}\nlocal sum = 0\n"
                "for k = 1, n do sum = sum + 1 / k; cdf[k] = sum end\n"
                "for k = 1, n do cdf[k] = cdf[k] / sum end\n"
                "local started = 0\n"
                "function setup(thread)\n  thread:set('seed', started * 7919 + 17)\n"
                "  started = started + 1\nend\n"
                "function init(args) math.randomseed(seed) end\n"
                "function request()\n  local u = math.random()\n  local lo, hi = 1, n\n"
                "  while lo < hi do\n    local mid = math.floor((lo + hi) / 2)\n"
                "    if cdf[mid] < u then lo = mid + 1 else hi = mid end\n  end\n"
                "  local t = tenants[lo]\n"
                "  return wrk.format('GET', t[3], {['X-Tenant-Slug'] = t[1], "
                "['Authorization'] = t[2]})\nend\n")


def delta(before, after, prefix):
    return sum(v for k, v in after.items() if k.startswith(prefix)) - \
        sum(v for k, v in before.items() if k.startswith(prefix))


def write_round_robin_script(path, tenants):
    """A wrk script cycling over the tenants, each thread starting at a different offset."""
    with open(path, "w") as f:
        f.write("local tenants = {\n")
        for t in tenants:
            f.write(f'  {{"{t["slug"]}", "Bearer {t["token"]}", "/v1/tickets/{t["ticket"]}"}},\n')
        f.write("}\nlocal n = #tenants\nlocal started = 0\n"
                "function setup(thread)\n  thread:set('offset', started * 97)\n"
                "  started = started + 1\nend\n"
                "local i = 0\nfunction init(args) i = offset end\n"
                "function request()\n  i = i % n + 1\n  local t = tenants[i]\n"
                "  return wrk.format('GET', t[3], {['X-Tenant-Slug'] = t[1], "
                "['Authorization'] = t[2]})\nend\n")


def round_robin(rig, tenants, label, budget, clients, between_runs=None):
    count = len(tenants)
    log(f"figure 3: round-robin over {count} tenants, POOL_MAX_TOTAL={budget}")
    script = os.path.join(OUT_DIR, f"round-robin-{label}.lua")
    write_round_robin_script(script, tenants)
    app = rig.start_app(POOL_MAX_TOTAL=budget)
    runs = []
    sampler = ConnSampler(rig.pg, rig.prefix)
    sampler.start()
    before = app.metrics()
    for run in range(rig.n["runs"]):
        runs.append(wrk(f"http://127.0.0.1:{APP_PORT}/", clients, rig.n["secs"], script=script))
        if between_runs:
            sampler.paused = True
            between_runs(run)
            sampler.paused = False
    after = app.metrics()
    sampler.stop()
    rig.stop(app)
    opened = delta(before, after, "tenant_pool_connections_opened_total")
    requests = sum(r["requests"] for r in runs)
    return {
        "label": label, "runs": runs, "tenants": count, "budget": budget, "clients": clients,
        "peak_connections": sampler.peak, "samples": sampler.samples,
        "pools_created": delta(before, after, "tenant_pool_created_total"),
        "pools_evicted": delta(before, after, "tenant_pool_evicted_total"),
        "evicted_by_reason": {k: after[k] - before.get(k, 0) for k in after
                              if k.startswith("tenant_pool_evicted_total")},
        "limit_rejections": delta(before, after, "tenant_pool_limit_rejections_total"),
        "opened": opened, "requests": requests, "hit_rate": 1 - opened / max(1, requests),
    }
