"""Profile the hot endpoints in-process (cProfile, Django's test client): where a request's time goes.

    DATABASE_URL=postgres://.../portcullis_bench_10000 REDIS_URL=redis://... \
        .venv/bin/python bench/profile_endpoints.py [--requests 200] [--top 25] [--only token list]

Runs against a database bench/load.py seeded; prints, per endpoint, the queries one request makes and the
functions with the most cumulative time. For a whole server under load use py-spy (the ``bench`` extra):
``py-spy record -o profile.svg --pid <gunicorn worker>``.
"""

import argparse
import base64
import cProfile
import io
import os
import pstats
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iam_project.settings")
os.environ.setdefault("IAM_RATELIMIT_API_PER_IDENTITY", "100000000/m")
os.environ.setdefault("IAM_RATELIMIT_CREDENTIAL_REQUESTS_PER_IP", "100000000/m")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client as TestClient  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def Client():  # noqa: N802  (the test client, on a host the settings allow)
    return TestClient(HTTP_HOST="127.0.0.1")


def fixtures():
    from clients import services as clients
    from iam_project.context import request_context
    from roles import services as roles
    from roles.models import Role

    with request_context(actor="system", request_id="bench-profile"):
        client = clients.create_client(None, {"name": "profile", "grantTypes": ["client_credentials"],
                                              "scopes": ["iam/authorize:read", "iam/principals:read"]})
        roles.create_binding(None, client, Role.objects.get(key="bench:reader"), check=False)
        _, secret = clients.create_secret(None, client.pk)
        _, api_key = clients.create_api_key(None, client, "profile")
    return client, secret, api_key


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    client, secret, api_key = fixtures()
    basic = "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    http = Client()
    token = http.post("/oauth/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic).json()[
        "access_token"]
    bearer = f"Bearer {token}"
    from django.contrib.auth import get_user_model

    subject = get_user_model().objects.order_by("email").first()
    calls = {
        "token": lambda: http.post("/oauth/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic),
        "apikey": lambda: http.post("/identity/token", {"grant_type": "urn:ibm:params:oauth:grant-type:apikey",
                                                        "apikey": api_key}),
        "authorize": lambda: http.post("/resources/iam/authorize", {"iamId": subject.iam_id,
                                                                    "permission": "orders/items:read"},
                                       content_type="application/json", HTTP_AUTHORIZATION=bearer),
        "introspect": lambda: http.post("/oauth/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic),
        "list": lambda: http.get("/resources/iam/principals?limit=50", HTTP_AUTHORIZATION=bearer),
        "signin": lambda: Client().post("/oauth/login/", {"username": "signin@bench.example",
                                                          "password": os.environ.get("BENCH_PASSWORD", "")}),
    }
    for name, call in calls.items():
        if args.only and name not in args.only:
            continue
        response = call()
        with CaptureQueriesContext(connection) as queries:
            response = call()
        print(f"\n=== {name}: status {response.status_code}, {len(queries)} queries")
        for query in queries:
            print("   ", query["sql"][:160])
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            call()
        profile.disable()
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out).sort_stats(os.environ.get("BENCH_SORT", "cumulative"))
        stats.print_stats(args.top)
        print(out.getvalue()[-6000:])


if __name__ == "__main__":
    main()
