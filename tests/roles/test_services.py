"""roles.services and roles.authority called directly: the binding lifecycle, role changes, least
privilege and the access context they read."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from iam_project.context import request_context
from iam_project.errors import Conflict, Forbidden, InvalidInput, NotFound
from roles import authority, engine, services
from roles.models import Role, RoleBinding
from tests.factories import BindingFactory, EligibilityFactory, PrincipalFactory, RoleFactory, holder_of, owner

pytestmark = pytest.mark.django_db


def events(action, target=None):
    found = AuditEvent.objects.filter(action=action)
    return found.filter(target_id=str(target.pk)) if target is not None else found


# --- create_binding / remove_binding ----------------------------------------------------------------------

def test_create_binding_writes_one_audited_row_and_the_holder_decides_at_once():
    role = RoleFactory(acl=["docs/wiki:write"])
    target = PrincipalFactory()
    assert not engine.decide(target, "docs/wiki:write")  # compiled and cached: empty
    binding = services.create_binding(None, target, role, scope="docs/wiki/space-1")
    assert binding.source == "direct" and binding.created_by == "system"
    assert events("create", binding).count() == 1
    assert engine.decide(target, "docs/wiki:write", resource="docs/wiki/space-1/page").allowed  # invalidated
    assert not engine.decide(target, "docs/wiki:write", resource="docs/wiki/space-2").allowed


def test_create_binding_checks_the_actor_unless_its_owner_did():
    role = RoleFactory(acl=["prod/db:write"])
    actor, target = holder_of("iam/principals:write"), PrincipalFactory()
    with pytest.raises(Forbidden, match="prod/db:write"):
        services.create_binding(actor, target, role)
    # An owning service (a just-in-time activation) checked its own rules and names the maker.
    binding = services.create_binding(actor, target, role, source="jit", created_by="iam-Principal-x", check=False)
    assert binding.created_by == "iam-Principal-x"


def test_create_binding_refuses_a_duplicate_direct_binding_and_bad_conditions():
    role, target = RoleFactory(), PrincipalFactory()
    services.create_binding(None, target, role)
    with pytest.raises(Conflict):
        services.create_binding(None, target, role)
    with pytest.raises(Exception):  # a ValidationError naming the field
        services.create_binding(None, target, RoleFactory(), conditions={"ipRanges": ["not a range"]})
    assert RoleBinding.objects.filter(principal=target).count() == 1


def test_remove_binding_of_the_last_owner_is_a_conflict_and_keeps_it():
    only = owner()
    binding = RoleBinding.objects.get(principal=only, role__key="system:owner")
    with pytest.raises(Conflict):
        services.remove_binding(None, binding)
    assert RoleBinding.objects.filter(pk=binding.pk).exists()
    second = owner()
    services.remove_binding(second, binding)
    assert not RoleBinding.objects.filter(pk=binding.pk).exists()


def test_remove_binding_of_a_binding_that_is_gone_is_not_found():
    binding = BindingFactory()
    RoleBinding.objects.filter(pk=binding.pk).delete()
    with pytest.raises(NotFound):
        services.remove_binding(None, binding)


def test_remove_binding_dispatches_to_the_registered_owner_of_its_source(monkeypatch):
    ended = []
    monkeypatch.setitem(services._binding_owners, "system", lambda actor, b, check=True: ended.append((b.pk, check)))
    binding = BindingFactory(source="system")
    services.remove_binding(None, binding)
    assert ended == [(binding.pk, True)]
    assert RoleBinding.objects.filter(pk=binding.pk).exists()  # the owner decides, not remove_binding


def test_replace_roles_records_one_replace_event_and_is_idempotent():
    a, b = RoleFactory(), RoleFactory()
    target = PrincipalFactory()
    assert services.replace_roles(None, target, [a.key, b.key]) is True
    assert services.replace_roles(None, target, [b.key, a.key]) is False
    assert services.replace_roles(None, target, [b.key]) is True
    [first, last] = events("roles.replace", target).order_by("seq")
    assert last.changes == {"roles": [sorted([a.key, b.key]), [b.key]]}
    with pytest.raises(InvalidInput) as unknown:
        services.replace_roles(None, target, ["no:such"])
    assert unknown.value.errors == {"roles": ["Unknown role: no:such."]}


def test_purge_expired_bindings_leaves_jit_grants_to_their_requests():
    now = timezone.now()
    expired = BindingFactory(expires_at=now - timedelta(seconds=1))
    jit = BindingFactory(source="jit", expires_at=now - timedelta(seconds=1))
    live = BindingFactory(expires_at=now + timedelta(hours=1))
    assert services.purge_expired_bindings() == 1
    assert set(RoleBinding.objects.values_list("pk", flat=True)) >= {jit.pk, live.pk}
    assert not RoleBinding.objects.filter(pk=expired.pk).exists()


# --- roles ----------------------------------------------------------------------------------------------

def test_put_role_needs_holding_what_it_was_and_what_it_becomes():
    role = RoleFactory(key="team:docs", acl=["docs/wiki:read"])
    editor = holder_of("docs/wiki:write")
    with pytest.raises(Forbidden, match="docs/wiki:read"):
        services.put_role(editor, "team:docs", "", [{"resource": "docs/wiki", "permission": "write"}])
    both = holder_of("docs/wiki:*")
    updated, created = services.put_role(both, "team:docs", "wiki", [{"resource": "docs/wiki", "permission": "write"}])
    assert not created and updated.version == role.version + 1


def test_put_role_refuses_system_roles_and_the_system_namespace():
    with pytest.raises(Forbidden):
        services.put_role(None, "system:owner", "", [])
    with pytest.raises(InvalidInput) as refused:
        services.put_role(None, "system:mine", "", [])
    assert "key" in refused.value.errors


def test_delete_role_in_use_names_its_users():
    role = RoleFactory()
    EligibilityFactory(role=role)
    with pytest.raises(Conflict, match="eligibilities"):
        services.delete_role(None, role)
    assert Role.objects.filter(pk=role.pk).exists()


# --- authority -------------------------------------------------------------------------------------------

def test_obtainable_entries_count_bindings_of_every_source_and_eligibilities():
    target = PrincipalFactory()
    BindingFactory(principal=target, role=RoleFactory(acl=["a/x:read"]), source="jit",
                   expires_at=timezone.now() + timedelta(minutes=5))
    badge = RoleFactory(acl=["b/y:read"])
    BindingFactory(principal=target, role=badge, scope="b/y/1")
    EligibilityFactory(principal=None, held_role=badge, role=RoleFactory(acl=["c/z:write"]), scope="c/z/9")
    assert authority.obtainable_entries(target) == {("a/x", "read", ""), ("b/y", "read", "b/y/1"),
                                                    ("c/z", "write", "c/z/9")}


def test_standing_holding_ignores_temporary_conditional_and_out_of_scope_grants():
    actor = PrincipalFactory()
    now = timezone.now()
    BindingFactory(principal=actor, role=RoleFactory(acl=["a:read"]), source="jit", expires_at=now + timedelta(hours=1))
    BindingFactory(principal=actor, role=RoleFactory(acl=["b:read"]), expires_at=now + timedelta(hours=1))
    BindingFactory(principal=actor, role=RoleFactory(acl=["c:read"]), conditions={"ipRanges": ["10.0.0.0/8"]})
    BindingFactory(principal=actor, role=RoleFactory(acl=["d:read"]), scope="d/1")
    BindingFactory(principal=actor, role=RoleFactory(acl=["e:read"]))
    assert [r for r in "abcde" if authority.holds_standing(actor, r, "read")] == ["e"]
    assert authority.holds_standing(actor, "d", "read", scope="d/1/x")


def test_the_access_context_caps_what_its_identity_holds_and_only_its_identity():
    actor = owner()
    other = owner()
    assert authority.is_full_owner(actor)
    with request_context(identity=actor, scopes=["iam/principals:write"]):
        assert not authority.is_full_owner(actor)
        assert authority.holds_standing(actor, "iam/principals", "write")
        assert authority.is_full_owner(other)  # another identity is not capped by this token
        with pytest.raises(Forbidden):
            services.create_binding(actor, PrincipalFactory(), RoleFactory(acl=["docs/wiki:read"]))
    with request_context(identity=actor, scopes=None):
        assert authority.is_full_owner(actor)


def test_the_access_context_address_judges_ip_conditioned_grants():
    actor = PrincipalFactory()
    BindingFactory(principal=actor, role=RoleFactory(acl=["net:use"]), conditions={"ipRanges": ["10.1.0.0/16"]})
    with request_context(identity=actor, ip="10.1.2.3"):
        assert engine.decide(actor, "net:use").allowed
    with request_context(identity=actor, ip="192.0.2.1"):
        assert not engine.decide(actor, "net:use").allowed
    # An explicit context is the caller's word (the check API asks about other identities).
    assert engine.decide(actor, "net:use", context={"ip": "10.1.9.9"}).allowed


def test_ensure_can_manage_lets_a_scoped_token_act_on_itself_only_within_its_scopes():
    me = owner()
    authority.ensure_can_manage(me, me)  # a session: acting on oneself is not managing another
    with request_context(identity=me, scopes=["iam/apikeys:write"]):
        with pytest.raises(Forbidden):
            authority.ensure_can_manage(me, me)
