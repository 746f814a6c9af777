"""Smoke: the platform starts, the system roles are seeded, the schema renders."""

import pytest

from roles.models import Role

pytestmark = pytest.mark.django_db


def test_system_roles_are_seeded():
    keys = set(Role.objects.filter(is_system=True).values_list("key", flat=True))
    assert keys == {"system:owner", "system:portal:full"}


def test_schema_renders(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/resources/iam/principals" in response.content
