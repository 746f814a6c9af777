"""Benchmark: cost of one engine decision, warm (cached grants) and cold (compiled from the database).

Run by hand (not in CI):  .venv/bin/python bench/engine_decide.py [--bindings 30] [--rounds 20000]
Uses the configured database and cache (DATABASE_URL / REDIS_URL), in a throw-away test database.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iam_project.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bindings", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=20000)
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        from django.contrib.auth import get_user_model

        from roles import engine
        from roles.models import Role, RoleBinding

        principal = get_user_model().objects.create(email="bench@example.com")
        for index in range(args.bindings):
            role = Role.objects.create(key=f"bench:role{index}", acl_entries=[
                {"resource": f"svc{index}/items", "permission": "read"},
                {"resource": f"svc{index}/*", "permission": "write"},
            ])
            RoleBinding.objects.create(principal=principal, role=role)
        last = f"svc{args.bindings - 1}/items:read"

        cache.clear()
        started = time.perf_counter()
        cold_rounds = min(args.rounds, 500)
        for _ in range(cold_rounds):
            engine.invalidate(principal)
            assert engine.decide(principal, last).allowed
        cold = (time.perf_counter() - started) / cold_rounds

        engine.decide(principal, last)
        started = time.perf_counter()
        for _ in range(args.rounds):
            assert engine.decide(principal, last).allowed
        warm = (time.perf_counter() - started) / args.rounds

        started = time.perf_counter()
        for _ in range(args.rounds):
            assert not engine.decide(principal, "nothing/here:read").allowed
        denied = (time.perf_counter() - started) / args.rounds

        backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        print(f"database={connection.vendor} cache={backend} bindings={args.bindings} grants={2 * args.bindings}")
        print(f"cold decision (compile + cache): {cold * 1e6:9.1f} us")
        print(f"warm decision, allowed (last):   {warm * 1e6:9.1f} us")
        print(f"warm decision, denied (scan):    {denied * 1e6:9.1f} us")
        print(f"cold / warm ratio:               {cold / warm:9.1f}x")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
