"""The principals list: a page costs the same few queries whatever its size, and the direct serializer of a
principal gives exactly the JSON its declared fields would (same keys, same order, same values)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers

from principals.api.serializers import PrincipalSerializer
from principals.models import Principal
from roles.models import RoleBinding
from tests.conftest import api_client_for, make_principal, make_role

pytestmark = pytest.mark.django_db


def principals_with_bindings(count):
    reader = make_role(["orders/items:read"], key="shop:clerk")
    writer = make_role(["orders/items:write"], key="shop:manager")
    made = [make_principal(email=f"list{n:03d}@example.com", properties={"n": n, "team": "a"}) for n in range(count)]
    for n, principal in enumerate(made):
        RoleBinding.objects.create(principal=principal, role=reader)
        if n % 2:
            RoleBinding.objects.create(principal=principal, role=writer, scope="orders/items/1",
                                       expires_at=timezone.now() + timedelta(days=1))
    return made


def test_the_direct_serializer_matches_the_declared_fields():
    principals_with_bindings(3)
    for principal in Principal.objects.filter(email__startswith="list"):
        direct = PrincipalSerializer(principal).data
        declared = serializers.Serializer.to_representation(PrincipalSerializer(), principal)
        assert list(direct.items()) == list(declared.items())
        assert list(direct["bindings"][0]) == ["id", "role", "scope", "source", "expiresAt"]


def test_a_page_of_principals_costs_the_same_queries_for_5_or_50(django_assert_max_num_queries):
    api = api_client_for(make_principal(permissions=["iam/principals:read"]))
    principals_with_bindings(50)
    api.get("/resources/iam/principals?limit=5")  # warm the caller's caches
    counts = {}
    for limit in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            response = api.get(f"/resources/iam/principals?limit={limit}&emailContains=list")
        assert response.status_code == 200 and len(response.json()["results"]) == limit
        counts[limit] = len(queries)
    assert counts[5] == counts[50] <= 4, counts
    page = api.get("/resources/iam/principals?limit=50&emailContains=list").json()["results"]
    odd = next(p for p in page if p["email"] == "list001@example.com")
    assert odd["roles"] == ["shop:clerk", "shop:manager"]
    assert sorted(b["expiresAt"] is None for b in odd["bindings"]) == [False, True]
