"""Benchmark: what the credential-endpoint rate limits cost a successful client-credentials token request.

Run by hand (not in CI):  .venv/bin/python bench/ratelimit_overhead.py [--rounds 400]
Uses the configured database and cache (DATABASE_URL / REDIS_URL), in a throw-away test database.
Prints the limiter's own cost per request (its counters in the cache) and token requests per
second through the whole Django stack with the limits on and off.
"""

import argparse
import base64
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iam_project.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, RequestFactory, override_settings  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        from clients import services
        from iam_project.ratelimit import Attempt, endpoint_for

        client = services.create_client(None, {"name": "bench", "grantTypes": ["client_credentials"],
                                               "scopes": ["iam/principals:read"]})
        _, secret = services.create_secret(None, client.pk)
        auth = "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
        # the bench's own prefix: its counts never meet a running server's
        limits = {**settings.IAM_RATE_LIMITS, "CREDENTIAL_REQUESTS_PER_IP": "10000000/1d"}
        with override_settings(RATELIMIT_CACHE_PREFIX=f"rl-bench-{os.getpid()}:", IAM_RATE_LIMITS=limits):
            request = RequestFactory().post("/oauth/token/", {"grant_type": "client_credentials"},
                                            HTTP_AUTHORIZATION=auth, content_type="application/x-www-form-urlencoded")
            request.client_ip = "127.0.0.1"
            endpoint = endpoint_for(request)
            started = time.perf_counter()
            for _ in range(args.rounds * 5):
                assert Attempt(request, endpoint).refused() is None
            limiter = (time.perf_counter() - started) / (args.rounds * 5)
            from django.core.cache import cache

            started = time.perf_counter()
            for _ in range(args.rounds * 5):
                cache.get("bench:nothing")
            one_get = (time.perf_counter() - started) / (args.rounds * 5)

            http = Client()

            def run():
                begun = time.perf_counter()
                for _ in range(args.rounds):
                    response = http.post("/oauth/token/", {"grant_type": "client_credentials"},
                                         HTTP_AUTHORIZATION=auth)
                    assert response.status_code == 200, response.content
                return args.rounds / (time.perf_counter() - begun)

            run()  # warm up
            offs, ons = [], []
            for _ in range(args.pairs):  # alternated, so that a growing token table weighs on both alike
                with override_settings(RATELIMIT_ENABLE=False):
                    offs.append(run())
                ons.append(run())
            off, on = statistics.median(offs), statistics.median(ons)
        cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        print(f"database={connection.vendor} cache={cache} rounds={args.rounds}")
        print(f"limiter checks per request: {limiter * 1e6:.0f} µs (one cache get: {one_get * 1e6:.0f} µs)")
        print(f"token requests/s, one process (median of {args.pairs}): limits off {off:.0f}, limits on {on:.0f} "
              f"({(off - on) / off * 100:+.1f}% slower)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
