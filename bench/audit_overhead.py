"""Benchmark: what the audit trail costs a write, and whether parallel writers still scale.

Run by hand (not in CI), against PostgreSQL:
    DATABASE_URL=postgres://... .venv/bin/python bench/audit_overhead.py [--writes 300] [--writers 1 8]
Each writer (a process) updates its own principal through the service (one transaction per write), with the
audit receivers off, on (lanes as configured), and on with a single lane (a global chain). Prints
the mean time per write and the throughput (medians over interleaved rounds), and the ratios. Uses a throw-away test database.
"""

import argparse
import os
import statistics
import sys
import multiprocessing
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iam_project.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402


def _writer(pk, writes, ready, results):
    from principals.services import update_principal

    update_principal(None, pk, properties={"warm": True})  # connect before the clock starts
    ready.wait()
    own = []
    for n in range(writes):
        started = time.perf_counter()
        update_principal(None, pk, properties={"n": n})
        own.append(time.perf_counter() - started)
    connections.close_all()
    results.put(own)


def run(principals, writes_per_writer):
    """One writer process per principal (processes, so Python's GIL does not serialise them);
    return (mean seconds per write, writes per second over the whole run)."""
    connections.close_all()  # never share a connection across fork
    ctx = multiprocessing.get_context("fork")
    ready, results = ctx.Barrier(len(principals) + 1), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(p.pk, writes_per_writer, ready, results)) for p in principals]
    for proc in procs:
        proc.start()
    ready.wait()
    started = time.perf_counter()
    latencies = []
    for _ in procs:
        latencies.extend(results.get())
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    return sum(latencies) / len(latencies), len(latencies) / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writes", type=int, default=300, help="writes per writer")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--rounds", type=int, default=5, help="modes interleaved; the median is shown")
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        from django.contrib.auth import get_user_model

        from audit import signals
        from audit.chain import verify
        from audit.models import AuditEvent

        principals = [get_user_model().objects.create(email=f"bench{i}@example.com")
                      for i in range(max(args.writers))]
        lanes = settings.IAM["AUDIT_CHAIN_LANES"]
        samples = {}
        modes = [("off", None), ("on", lanes), ("on, 1 lane", 1)]
        for _ in range(args.rounds):  # interleaved, so drift (table growth, vacuum) hits every mode alike
            for mode, lane_count in modes:
                if lane_count is None:
                    signals.disconnect_models()
                else:
                    signals.reconnect_models()
                    settings.IAM["AUDIT_CHAIN_LANES"] = lane_count
                for writers in args.writers:
                    samples.setdefault((mode, writers), []).append(run(principals[:writers], args.writes))
        results = {key: (statistics.median(s[0] for s in runs), statistics.median(s[1] for s in runs))
                   for key, runs in samples.items()}
        settings.IAM["AUDIT_CHAIN_LANES"] = lanes
        breaks, _ = verify()

        print(f"database={connection.vendor} writes/writer={args.writes} rounds={args.rounds} lanes={lanes} "
              f"cpus={os.cpu_count()}")
        print(f"{'audit':<12}{'writers':>8}{'ms/write':>11}{'writes/s':>11}{'vs off':>9}{'scaling':>9}")
        for mode, _ in modes:
            for writers in args.writers:
                latency, throughput = results[mode, writers]
                overhead = latency / results["off", writers][0]
                scaling = throughput / results[mode, args.writers[0]][1]
                print(f"{mode:<12}{writers:>8}{latency * 1e3:>11.2f}{throughput:>11.0f}{overhead:>8.2f}x{scaling:>8.2f}x")
        print(f"events recorded: {AuditEvent.objects.count()}, chain breaks: {len(breaks)}")
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
