"""Load benchmark: the production server under `hey`, every hot endpoint, as a ratio to /healthz in the same run.

One command (from the repository root, after `make install`):

    apt-get install hey                       # the load generator (Debian's package), once
    .venv/bin/pip install -e '.[bench]'       # matplotlib for the chart, py-spy for profiles
    .venv/bin/python bench/load.py --identities 10000 1000000

For each directory size it: starts PostgreSQL and Redis on loopback when DATABASE_URL/REDIS_URL are not
set (as .ci/run does); makes the database ``<name>_<size>`` (kept between runs: ``--reseed`` to make it
again), migrates it and seeds N principals with COPY (1% of them holding a role, for ``rolePrefix``);
starts gunicorn as in production (``--workers``, ``--worker-class``, DEBUG off); drives each endpoint
with `hey` (``--connections``, ``--seconds``) and prints, per endpoint, req/s, p50 and p95 (ms) and the
ratios to /healthz. Results go to bench/results/<label>-<size>.json; ``--chart`` redraws
docs/performance.png from every result there. ``--app-dir`` serves another checkout (the "before").
Record ``uptime`` beside the figures: on a shared machine only the ratios carry over.
"""

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PASSWORD = "Bench-password-correct-horse-42"


# --- services ------------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_services(work):
    """PostgreSQL and Redis of our own on loopback (as .ci/run starts them); returns (db url, redis url, stop)."""
    initdb = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not initdb or not shutil.which("redis-server"):
        sys.exit("bench: set DATABASE_URL and REDIS_URL, or install postgresql and redis-server")
    pgbin = initdb[-1].parent
    pgport, redisport = free_port(), free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    (work / "pg").mkdir(parents=True)
    if as_postgres:
        subprocess.run(["chown", "-R", "postgres", str(work)], check=True)
    subprocess.run([*as_postgres, str(pgbin / "initdb"), "-D", str(work / "pg"), "-A", "trust", "-U", "postgres"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*as_postgres, str(pgbin / "pg_ctl"), "-D", str(work / "pg"), "-l", str(work / "pg.log"), "-w",
                    "-o", f"-c listen_addresses=127.0.0.1 -p {pgport} -k {work / 'pg'} -c max_connections=200",
                    "start"], check=True, stdout=subprocess.DEVNULL)
    redis = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(redisport), "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)

    def stop():
        redis.terminate()
        subprocess.run([*as_postgres, str(pgbin / "pg_ctl"), "-D", str(work / "pg"), "-m", "fast", "stop"],
                       stdout=subprocess.DEVNULL)

    return f"postgres://postgres@127.0.0.1:{pgport}/portcullis", f"redis://127.0.0.1:{redisport}/0", stop


def database_url_for(base, size):
    head, _, name = base.rpartition("/")
    return f"{head}/{name.split('?')[0]}_bench_{size}"


def psql(url, sql):
    import psycopg

    head, _, _ = url.rpartition("/")
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def database_exists(url):
    import psycopg

    head, _, name = url.rpartition("/")
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


# --- seeding (a child process with Django set up on the bench database) -----------------------------------------

SEED = r'''
import json, os, sys, time, uuid
import django
django.setup()
from django.core.management import call_command
from django.db import connection
size, fresh = int(sys.argv[1]), sys.argv[2] == "1"
if fresh:
    call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from iam_project.context import request_context
from clients import services as clients
from roles import services as roles
from roles.models import Role, RoleBinding
Principal = get_user_model()
started = time.monotonic()
with request_context(actor="system", request_id="bench-seed"):
    reader, _ = roles.put_role(None, "bench:reader", "Bench reader", [
        {"resource": "iam/authorize", "permission": "read"}, {"resource": "iam/principals", "permission": "read"},
        {"resource": "iam/clients", "permission": "read"}, {"resource": "oauth/introspect", "permission": "read"}]) \
        if not Role.objects.filter(key="bench:reader").exists() else (Role.objects.get(key="bench:reader"), False)
    subject_role = Role.objects.filter(key="bench:subject").first() or roles.put_role(
        None, "bench:subject", "Bench subject", [{"resource": "orders/items", "permission": "read"}])[0]
    if fresh:
        now = "2026-01-01 00:00:00+00"
        columns = ["id", "iam_id", "email", "password", "properties", "suspended", "must_change_password",
                   "security_stamp", "version", "created_at", "updated_at"]
        bound = []
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY principals_principal ({', '.join(columns)}) FROM STDIN") as copy:
                for n in range(size):
                    pk = uuid.uuid4()
                    if n % 100 == 0:
                        bound.append(pk)
                    copy.write_row((str(pk), f"iam-Principal-{pk}", f"user{n:07d}@bench.example", "!",
                                    json.dumps({"team": f"team{n % 1000}", "n": n}), "f", "f", uuid.uuid4().hex,
                                    "1", now, now))
            bcols = ["id", "role_id", "principal_id", "scope", "conditions", "source", "created_by", "version",
                     "created_at", "updated_at"]
            with cursor.copy(f"COPY roles_rolebinding ({', '.join(bcols)}) FROM STDIN") as copy:
                for pk in bound:
                    copy.write_row((str(uuid.uuid4()), str(subject_role.pk), str(pk), "", "{}", "direct", "system",
                                    "1", now, now))
        print(f"seeded principals={size} bound={len(bound)} seconds={time.monotonic() - started:.1f}", flush=True)
    client = clients.create_client(None, {"name": f"bench {uuid.uuid4().hex[:6]}",
                                          "grantTypes": ["client_credentials"],
                                          "scopes": ["iam/authorize:read", "iam/principals:read"]})
    roles.create_binding(None, client, reader, check=False)
    _, secret = clients.create_secret(None, client.pk)
    _, api_key = clients.create_api_key(None, client, "bench")
    person = Principal.objects.filter(email="signin@bench.example").first()
    if person is None:
        person = Principal(email="signin@bench.example")
        person.set_password(os.environ["BENCH_PASSWORD"])
        person.save()
    subject = Principal.objects.filter(email="user0000000@bench.example").first()
print("BENCH " + json.dumps({"client_id": client.client_id, "secret": secret, "api_key": api_key,
                             "subject": subject.iam_id, "signin": person.email}), flush=True)
'''


def seed(env, size, fresh):
    done = subprocess.run([sys.executable, "-c", SEED, str(size), "1" if fresh else "0"], env=env, cwd=env["BENCH_APP"],
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stdout[-3000:] + done.stderr[-3000:])
    for line in done.stdout.splitlines():
        if line.startswith("seeded"):
            print("bench:", line)
    found = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
    return json.loads(found[-1][6:])


def vacuum(url):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE principals_principal")
        conn.execute("VACUUM ANALYZE roles_rolebinding")


# --- the server --------------------------------------------------------------------------------------------

def start_server(env, args, log):
    port = free_port()
    # uvicorn: the ASGI application under gunicorn's uvicorn worker (the bench extra's uvicorn-worker)
    application, worker_class = (("iam_project.asgi:application", "uvicorn_worker.UvicornWorker")
                                 if args.worker_class == "uvicorn" else ("iam_project.wsgi:application", args.worker_class))
    command = [sys.executable, "-m", "gunicorn", application, "--bind", f"127.0.0.1:{port}",
               "--workers", str(args.workers), "--worker-class", worker_class, "--log-level", "warning"]
    if args.worker_class == "gthread":
        command += ["--threads", str(args.threads)]
    process = subprocess.Popen(command, env=env, cwd=env["BENCH_APP"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.3)
    process.terminate()
    sys.exit("bench: the server did not start")


def post_form(url, data, headers=None):
    import urllib.parse
    import urllib.request

    request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode(), headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


# --- the load ----------------------------------------------------------------------------------------------

def endpoints(url, ids, token, size):
    basic = "Basic " + base64.b64encode(f"{ids['client_id']}:{ids['secret']}".encode()).decode()
    bearer = f"Bearer {token}"
    csrf = secrets.token_hex(16)  # a 32-character secret: the cookie's and the form's
    middle = f"user{size // 2:07d}@bench.example"
    deep = base64.b64encode(f"p={middle}".encode()).decode()
    form = "application/x-www-form-urlencoded"
    return [
        ("/healthz", ["GET", f"{url}/healthz"]),
        (REFERENCE, ["GET", f"{url}/bench/select1"]),
        ("client-credentials token", ["POST", f"{url}/oauth/token/", "-H", f"Authorization: {basic}", "-T", form,
                                      "-d", "grant_type=client_credentials"]),
        ("/identity/token (API key)", ["POST", f"{url}/identity/token", "-T", form,
                                       "-d", f"grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey={ids['api_key']}"]),
        ("POST /resources/iam/authorize", ["POST", f"{url}/resources/iam/authorize", "-H", f"Authorization: {bearer}",
                                           "-T", "application/json",
                                           "-d", json.dumps({"iamId": ids["subject"], "permission": "orders/items:read"})]),
        ("/oauth/introspect/", ["POST", f"{url}/oauth/introspect/", "-H", f"Authorization: {basic}", "-T", form,
                                "-d", f"token={token}"]),
        ("principals, first page of 50", ["GET", f"{url}/resources/iam/principals?limit=50", "-H",
                                          f"Authorization: {bearer}"]),
        ("principals, email filter", ["GET", f"{url}/resources/iam/principals?email=USER{size // 3:07d}@bench.example",
                                      "-H", f"Authorization: {bearer}"]),
        ("principals, rolePrefix", ["GET", f"{url}/resources/iam/principals?limit=50&rolePrefix=bench:",
                                    "-H", f"Authorization: {bearer}"]),
        ("principals, deep cursor page", ["GET", f"{url}/resources/iam/principals?limit=50&cursor={deep}",
                                          "-H", f"Authorization: {bearer}"]),
        ("password sign-in (form)", ["POST", f"{url}/oauth/login/", "-disable-redirects", "-T", form,
                                     "-H", f"Cookie: csrftoken={csrf}", "-H", f"Origin: {url}",
                                     "-H", f"Referer: {url}/oauth/login/",
                                     "-d", f"csrfmiddlewaretoken={csrf}&username={ids['signin']}&password={PASSWORD}"]),
    ]


# The reference: a Django view doing SELECT 1 (bench/reference_urls.py), served only by the benchmark.
REFERENCE = "view + SELECT 1 (reference)"

HEY_LINE = {"rps": re.compile(r"Requests/sec:\s+([\d.]+)"), "p50": re.compile(r"50% in ([\d.]+) secs"),
            "p95": re.compile(r"95% in ([\d.]+) secs")}


def hey(spec, seconds, connections):
    method, target, *rest = spec
    output = subprocess.run(["hey", "-z", f"{seconds}s", "-c", str(connections), "-m", method, *rest, target],
                            capture_output=True, text=True).stdout
    result = {}
    for name, pattern in HEY_LINE.items():
        found = pattern.search(output)
        result[name] = float(found.group(1)) if found else 0.0
    result["p50"] *= 1000
    result["p95"] *= 1000
    result["codes"] = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", output))
    return result


def median_run(runs):
    """Each figure's median over the runs (throughput, p50 and p95 apart); the status counts of the median run
    by throughput."""
    middle = len(runs) // 2
    result = dict(sorted(runs, key=lambda run: run["rps"])[middle])
    for figure in ("rps", "p50", "p95"):
        result[figure] = sorted(run[figure] for run in runs)[middle]
    result["runs"] = [{figure: run[figure] for figure in ("rps", "p50", "p95")} for run in runs]
    return result


def table(rows):
    """Each endpoint beside the bare /healthz and beside the reference view (the issue's /healthz: SELECT 1)."""
    base = rows[0][1]
    reference = dict(rows).get(REFERENCE) or base

    def over(value, of):
        return value / of if of else 0

    lines = ["| endpoint | req/s | p50 ms | p95 ms | × `/healthz` req/s | × `/healthz` p95 "
             "| × reference req/s | × reference p95 | status |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows:
        codes = ", ".join(f"{code}×{count}" for code, count in sorted(r["codes"].items()))
        lines.append(f"| {name} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} "
                     f"| {over(r['rps'], base['rps']):.2f} | {over(r['p95'], base['p95']):.2f} "
                     f"| {over(r['rps'], reference['rps']):.2f} | {over(r['p95'], reference['p95']):.2f} | {codes} |")
    return "\n".join(lines)


def chart(label="after"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))]
    runs = [run for run in runs if run.get("label") == label] or runs
    if not runs:
        return None
    names = [name for name, _ in runs[0]["rows"]]
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 6))
    width = 0.8 / len(runs)
    for index, run in enumerate(runs):
        rows = dict((name, r) for name, r in run["rows"])
        positions = [n + index * width for n in range(len(names))]
        label = f"{run['identities']:,} identities"
        left.barh(positions, [rows[n]["rps"] / rows["/healthz"]["rps"] for n in names], width, label=label)
        right.barh(positions, [rows[n]["p95"] for n in names], width, label=label)
    for axis, title in ((left, "throughput, × /healthz (same run)"), (right, "p95 latency, ms")):
        axis.set_yticks([n + width * (len(runs) - 1) / 2 for n in range(len(names))], names)
        axis.invert_yaxis()
        axis.set_title(title)
        axis.legend()
    right.set_yticklabels([])
    figure.tight_layout()
    target = ROOT / "docs" / "performance.png"
    figure.savefig(target, dpi=90)
    return target


def run_size(args, base_env, size):
    db_url = database_url_for(args.database_url, size)
    fresh = args.reseed or not database_exists(db_url)
    if fresh:
        psql(args.database_url, f'DROP DATABASE IF EXISTS "{db_url.rpartition("/")[2]}"')
        psql(args.database_url, f'CREATE DATABASE "{db_url.rpartition("/")[2]}"')
    env = {**base_env, "DATABASE_URL": db_url}
    started = time.monotonic()
    ids = seed(env, size, fresh)
    env.update(dict(pair.split("=", 1) for pair in args.server_env))
    if fresh:
        vacuum(db_url)
        print(f"bench: database {db_url.rpartition('/')[2]} ready in {time.monotonic() - started:.0f}s")
    with open(Path(base_env["IAM_VAR_DIR"]).parent / f"server-{size}.log", "w") as log:
        server, url = start_server(env, args, log)
        try:
            token = post_form(f"{url}/oauth/token/", {"grant_type": "client_credentials"}, {
                "Authorization": "Basic " + base64.b64encode(f"{ids['client_id']}:{ids['secret']}".encode()).decode()
            })["access_token"]
            rows = []
            for name, spec in endpoints(url, ids, token, size):
                if args.only and name not in ("/healthz", REFERENCE) and not any(word in name for word in args.only):
                    continue
                hey(spec, 2, args.connections)  # warm every worker's caches and connections
                runs = [hey(spec, args.seconds, args.connections) for _ in range(args.repeat)]
                rows.append((name, median_run(runs)))
                print(f"bench: {name}: {rows[-1][1]['rps']:.0f} req/s", flush=True)
        finally:
            server.terminate()
            server.wait(30)
    load = os.getloadavg()
    result = {"label": args.label, "identities": size, "rows": rows, "workers": args.workers,
              "worker_class": args.worker_class, "threads": args.threads, "connections": args.connections,
              "server_env": args.server_env,
              "seconds": args.seconds, "repeat": args.repeat, "loadavg": load, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    (RESULTS / f"{args.label}-{size}.json").write_text(json.dumps(result, indent=1))
    print(f"\n{args.label}: {size:,} identities, gunicorn {args.worker_class} ×{args.workers}"
          f"{f' ×{args.threads} threads' if args.worker_class == 'gthread' else ''} {' '.join(args.server_env)}, "
          f"hey -c {args.connections}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    print(table(rows))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, nargs="+", default=[10_000])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread", "uvicorn"])
    parser.add_argument("--server-env", nargs="*", default=[], metavar="NAME=VALUE",
                        help="settings for the server only, e.g. DATABASE_POOL=1 DATABASE_PREPARED_STATEMENTS=0")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1, help="drive each endpoint this many times; each figure's median is kept")
    parser.add_argument("--label", default="after")
    parser.add_argument("--app-dir", default=str(ROOT), help="the checkout to serve (default: this one)")
    parser.add_argument("--only", nargs="*", help="endpoints whose name contains one of these words")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--chart", action="store_true", help="redraw docs/performance.png from bench/results")
    parser.add_argument("--chart-only", action="store_true", help="only redraw the chart")
    parser.add_argument("--chart-label", default="after", help="the results (by --label) the chart shows")
    args = parser.parse_args()
    if args.chart_only:
        print("bench: chart", chart(args.chart_label))
        return
    if not shutil.which("hey"):
        sys.exit("bench: the load generator is Debian's hey: apt-get install hey")
    RESULTS.mkdir(exist_ok=True)
    stop = None
    work = Path(tempfile.mkdtemp(prefix="portcullis-bench."))
    if not args.database_url or not args.redis_url:
        args.database_url, args.redis_url, stop = start_services(work)
    base_env = {**os.environ, "REDIS_URL": args.redis_url, "DEBUG": "0",
                # the production settings plus the reference view (bench/reference_settings.py)
                "DJANGO_SETTINGS_MODULE": "reference_settings",
                "IAM_VAR_DIR": str(work / "var"), "BENCH_APP": args.app_dir, "BENCH_PASSWORD": PASSWORD,
                "PYTHONPATH": f"{args.app_dir}{os.pathsep}{ROOT / 'bench'}",
                # the limits guard against abuse, not load from one address: out of the measurement's way
                "IAM_RATELIMIT_API_PER_IDENTITY": "100000000/m", "IAM_RATELIMIT_CREDENTIAL_REQUESTS_PER_IP": "100000000/m",
                "IAM_RATELIMIT_CACHE_PREFIX": f"rl-bench-{uuid.uuid4().hex[:8]}:"}
    try:
        for size in args.identities:
            run_size(args, base_env, size)
    finally:
        if stop:
            stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.chart:
        print("bench: chart", chart(args.chart_label))


if __name__ == "__main__":
    main()
