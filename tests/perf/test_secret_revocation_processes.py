"""Two web processes, one cache: a resource server's secret revoked, or the resource server suspended, through
one gunicorn process is refused at introspection and at the token endpoint by the other on the very next
request, although both had it cached (clients/authcache.py).

Runs where PostgreSQL and Redis are configured (the second pass of .ci/run), as test_revocation_processes.
"""

import base64

import pytest
import requests

from clients import services as client_services
from clients.models import ClientSecret
from tests.conftest import make_principal
from tests.perf.test_revocation_processes import _client, _token, two_servers  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.postgres]


def _introspect(url, client, secret, token):
    auth = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    return requests.post(f"{url}/oauth/introspect/", data={"token": token},
                         headers={"Authorization": f"Basic {auth}"}, timeout=10)


def _token_request(url, client, secret):
    auth = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    return requests.post(f"{url}/oauth/token/", data={"grant_type": "client_credentials"},
                         headers={"Authorization": f"Basic {auth}"}, timeout=10)


def _warm(urls, client, secret, token):
    for url in urls:
        for _ in range(2):  # the first fills the cache, the second is served from it
            answer = _introspect(url, client, secret, token)
            assert answer.status_code == 200 and answer.json()["active"] is True, answer.text
            issued = _token_request(url, client, secret)
            assert issued.status_code == 200, issued.text


def _refused(url, client, secret, token):
    """Refused at introspection and at the token endpoint, as an unauthenticated client."""
    refused = _introspect(url, client, secret, token)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client", refused.text
    refused = _token_request(url, client, secret)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client", refused.text


def test_secret_revocation_and_suspension_reach_the_other_process_at_once(two_servers):
    web_a, web_b = two_servers
    make_principal()  # the directory is not empty
    checker, checker_secret = _client("checker", ["iam/authorize:read"], ["iam/authorize:read"])
    caller, first = _client("resource server", ["oauth/introspect:read"], ["oauth/introspect:read"])
    _, second = client_services.create_secret(None, caller.pk)
    admin, admin_secret = _client("admin", ["*:*"], ["*:*"])  # holds all it manages (least privilege)
    admin_token = _token(web_a, admin, admin_secret)
    token = _token(web_a, checker, checker_secret)
    _warm((web_a, web_b), caller, first, token)
    _warm((web_a, web_b), caller, second, token)

    # 1. One secret revoked through process A: process B refuses it at once and still accepts the other.
    row = ClientSecret.objects.get(client=caller, digest=ClientSecret.digest_of(first))
    revoked = requests.delete(f"{web_a}/resources/iam/clients/{caller.pk}/secrets/{row.pk}",
                              headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)
    assert revoked.status_code == 204, revoked.text
    _refused(web_b, caller, first, token)
    assert _introspect(web_b, caller, second, token).json()["active"] is True
    assert _token_request(web_b, caller, second).status_code == 200

    # 2. The resource server suspended through process A: process B refuses its remaining secret at once.
    suspended = requests.post(f"{web_a}/resources/iam/clients/{caller.pk}/suspend",
                              headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)
    assert suspended.status_code == 200, suspended.text
    _refused(web_b, caller, second, token)
    _refused(web_a, caller, second, token)
