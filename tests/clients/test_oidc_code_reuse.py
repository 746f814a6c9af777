"""Authorization codes are good for one exchange: a second use revokes what the first issued (RFC 6749
§4.1.2), and a failed exchange (wrong code_verifier or redirect_uri) burns the code."""

import pytest
import time_machine
from django.utils import timezone
from oauth2_provider.models import get_grant_model

from tests.audit.helpers import events_since, mark

from .oidc_helpers import (
    authorize, bearer_get, exchange, id_token_claims, make_app, pkce_pair, refresh, signed_in,
)

pytestmark = pytest.mark.django_db


def test_a_second_use_of_a_code_is_refused_and_revokes_the_tokens_of_the_first():
    client, secret = make_app()
    http, _ = signed_in(permissions=["iam/principals:read"])
    verifier, challenge = pkce_pair()
    code = authorize(http, client, challenge)["code"]
    first = exchange(client, secret, code, verifier).json()
    assert bearer_get("/resources/me", first["access_token"]).status_code == 200
    rotated = refresh(client, secret, first["refresh_token"]).json()  # the family moved on meanwhile
    seq = mark()
    second = exchange(client, secret, code, verifier)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert "access_token" not in second.json()
    for value in (first["access_token"], rotated["access_token"]):
        assert bearer_get("/resources/me", value).status_code == 401
    assert refresh(client, secret, rotated["refresh_token"]).json()["error"] == "invalid_grant"
    [event] = events_since(seq, action="token.revoked")
    assert event.details == {"reason": "authorization_code.reused", "count": 2}
    assert exchange(client, secret, code, verifier).json()["error"] == "invalid_grant"  # and stays refused


def test_a_wrong_code_verifier_burns_the_code():
    client, secret = make_app()
    http, _ = signed_in()
    verifier, challenge = pkce_pair()
    code = authorize(http, client, challenge)["code"]
    wrong = exchange(client, secret, code, pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    right = exchange(client, secret, code, verifier)
    assert right.status_code == 400 and right.json()["error"] == "invalid_grant"


def test_a_wrong_redirect_uri_or_a_missing_verifier_burns_the_code_too():
    client, secret = make_app()
    http, _ = signed_in()
    for spoil in ({"redirect_uri": "https://app.example.com/elsewhere"}, {"verifier": ""}):
        verifier, challenge = pkce_pair()
        code = authorize(http, client, challenge)["code"]
        failed = exchange(client, secret, code, spoil.get("verifier", verifier),
                          redirect_uri=spoil.get("redirect_uri", "https://app.example.com/cb"))
        assert failed.status_code == 400 and failed.json()["error"] in ("invalid_grant", "invalid_request")
        assert exchange(client, secret, code, verifier).json()["error"] == "invalid_grant"


def test_an_expired_code_is_refused_and_an_exchanged_one_is_purged_later():
    from oauth2_provider.models import clear_expired

    client, secret = make_app()
    http, _ = signed_in()
    verifier, challenge = pkce_pair()
    code = authorize(http, client, challenge)["code"]
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=61)):
        assert exchange(client, secret, code, verifier).json()["error"] == "invalid_grant"
    verifier, challenge = pkce_pair()
    code = authorize(http, client, challenge)["code"]
    assert exchange(client, secret, code, verifier).status_code == 200
    assert get_grant_model().objects.filter(code=code).exists()  # kept to recognise a second use
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=2)):
        clear_expired()
    assert not get_grant_model().objects.filter(code=code).exists()


def test_a_client_cannot_plant_the_servers_code_state_through_the_claims_parameter():
    import json

    client, secret = make_app()
    http, _ = signed_in()
    verifier, challenge = pkce_pair()
    planted = json.dumps({"_portcullis": {"consumed": "yes", "auth_time": 1}, "id_token": {"email": None}})
    code = authorize(http, client, challenge, claims=planted)["code"]
    stored = json.loads(get_grant_model().objects.get(code=code).claims)
    assert stored["id_token"] == {"email": None} and stored["_portcullis"]["auth_time"] > 1
    response = exchange(client, secret, code, verifier)
    assert response.status_code == 200, response.content
    assert id_token_claims(response.json()["id_token"])["auth_time"] > 1
