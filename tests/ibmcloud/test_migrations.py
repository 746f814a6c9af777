"""Moving policies, trusted profiles and claim rules into the IBM face keeps every row: the migration run
forward on a database that has them, as an existing installation would."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ibmcloud.models import ClaimRule, Policy, TrustedProfile
from roles.engine import decide

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = [("ibmcloud", "0001_initial"), ("principals", "0003_security_stamp"), ("roles", "0005_resource_server_role")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_the_move_keeps_every_row_and_what_they_grant():
    old = migrate(BEFORE)
    try:
        tables = connection.introspection.table_names()
        assert "roles_policy" in tables and "ibmcloud_policy" not in tables
        Role, RoleBinding = old.get_model("roles", "Role"), old.get_model("roles", "RoleBinding")
        Principal = old.get_model("principals", "Principal")
        role = Role.objects.create(key="billing:reader", acl_entries=[{"resource": "billing/invoices",
                                                                        "permission": "read"}])
        subject = Principal.objects.create(email="subject@example.com", iam_id="iam-Principal-moved")
        binding = RoleBinding.objects.create(principal=subject, role=role, scope="billing", source="policy")
        policy = old.get_model("roles", "Policy").objects.create(
            subject_iam_id=subject.iam_id, role=role, binding=binding, scope="billing", description="kept",
            subjects=[{"attributes": [{"name": "iam_id", "value": subject.iam_id}]}], resources=[])
        profile = old.get_model("principals", "TrustedProfile").objects.create(name="admins", iam_id="iam-Profile-1")
        rule = old.get_model("principals", "ClaimRule").objects.create(
            profile=profile, type="Profile-SAML", conditions=[{"claim": "g", "operator": "EQUALS", "value": "a"}])
        # As on an installation from before the move: the content types carry the old app labels (going
        # back relabelled them so).
        assert not ContentType.objects.filter(app_label="ibmcloud", model="policy").exists()
        policy_type = ContentType.objects.get(app_label="roles", model="policy")
        ContentType.objects.clear_cache()
    finally:
        migrate(latest())

    tables = connection.introspection.table_names()
    assert {"ibmcloud_policy", "ibmcloud_trustedprofile", "ibmcloud_claimrule"} <= set(tables)
    assert not {"roles_policy", "principals_trustedprofile", "principals_claimrule"} & set(tables)
    moved = Policy.objects.select_related("role", "binding").get(pk=policy.pk)
    assert (moved.description, moved.role.key, moved.binding_id, moved.scope) == ("kept", "billing:reader",
                                                                                    binding.pk, "billing")
    assert moved.binding.policy == moved  # the reverse side of the binding still finds its policy
    assert ClaimRule.objects.get(pk=rule.pk).profile == TrustedProfile.objects.get(pk=profile.pk)
    ContentType.objects.clear_cache()
    assert ContentType.objects.get(pk=policy_type.pk).model_class() is Policy  # object permissions follow
    holder = moved.binding.principal
    assert decide(holder, "billing/invoices:read", resource="billing/invoices").allowed
