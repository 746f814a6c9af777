"""Least privilege: what an identity may grant, whom it may manage, and who is a full owner.

Two measures, used by every service that grants or manages:

- **What one may grant** counts only what one holds *standing* — bound for good, not just in time,
  not expiring, unconditional — over the scope concerned. A temporary or conditional grant can be
  used, but never passed on or made permanent.
- **What one may manage** (change, suspend, reset, delete, give credentials to) counts everything the
  target *can obtain*: its bindings of any source, and every role it could request just in time.
  Taking over an identity is worth what it can reach, not only what it holds right now.

Apps that give identities other ways to obtain roles (just-in-time eligibilities) register a provider
with ``register_obtainable`` from their ``AppConfig.ready()``, so this module imports none of them.
"""

from iam_project.context import get_context
from iam_project.errors import Forbidden
from iam_project.resources import resource_for_model_label

from . import engine

_obtainable_providers = []


def register_obtainable(provider):
    """``provider(identity)`` yields ``(acl_entries, scope)`` pairs the identity could obtain besides
    its bindings (the roles it may request just in time; a first-party client's power to act for
    everyone who signs in). Registering the same provider twice has no effect."""
    if provider not in _obtainable_providers:
        _obtainable_providers.append(provider)


def obtainable_entries(identity):
    """Every (resource, action, scope) the identity holds or could obtain: its current bindings (any
    source, conditions and expiry ignored) and the roles its providers name (eligibilities)."""
    entries = {(g.resource, g.action, g.scope) for g in engine.grants_for(identity)}
    entries.update(_delegations(identity))
    for provider in _obtainable_providers:
        for acl_entries, scope in provider(identity):
            entries.update((e["resource"], e["permission"], scope or "") for e in acl_entries)
    return entries


def _delegations(identity):
    """Object permissions delegated to a principal (django-guardian), as entries scoped to the object."""
    if identity.identity_type != "principal":
        return set()
    from guardian.models import UserObjectPermission

    actions = {"view": "read", "add": "write", "change": "write", "delete": "delete"}
    found = set()
    rows = UserObjectPermission.objects.filter(user=identity).values_list(
        "permission__codename", "content_type__app_label", "content_type__model", "object_pk")
    for codename, app_label, model, object_pk in rows:
        verb = codename.split("_", 1)[0]
        resource = resource_for_model_label(f"{app_label}.{model}")
        if resource and verb in actions:
            found.add((resource, actions[verb], f"{resource}/{object_pk}"))
    return found


def holds_standing(identity, resource, action, scope=""):
    return engine.holds(identity, resource, action, scope=scope, standing=True)


def is_full_owner(identity):
    """Holds every permission everywhere, standing: the one definition of a full owner."""
    return identity is not None and holds_standing(identity, "*", "*")


def is_same_identity(actor, identity):
    return (actor is not None and identity is not None and actor.identity_type == identity.identity_type
            and actor.pk == identity.pk)


def ensure_not_self(actor, identity, what="change your own role bindings"):
    """Nobody changes their own bindings (nor suspends or deletes themselves)."""
    if is_same_identity(actor, identity):
        raise Forbidden(f"You cannot {what}.")


def ensure_token_covers(actor, entries, what):
    """Acting through an access token, ``actor`` may widen its own access (ask for a just-in-time
    grant) only to what the token's scopes cover: a token narrowed to one thing cannot arm the
    identity's other sessions and tokens with more. No-op for sessions, tasks and commands."""
    scopes = get_context().scopes_for(actor)
    if scopes is None:
        return
    missing = sorted({f"{e['resource']}:{e['permission']}" for e in entries
                      if not engine.scopes_cover(scopes, e["resource"], e["permission"])})
    if missing:
        raise Forbidden(f"The access token's scopes do not cover {what}: {', '.join(missing)}.")


def ensure_holds_entries(actor, entries, scope="", what="grant"):
    """Refuse (Forbidden) unless ``actor`` holds every ACL entry standing over ``scope``. No-op for
    the platform itself (``actor`` None)."""
    if actor is None:
        return
    missing = [
        f"{entry['resource']}:{entry['permission']}"
        for entry in entries
        if not holds_standing(actor, entry["resource"], entry["permission"], scope=scope)
    ]
    if missing:
        raise Forbidden(f"You cannot {what} permissions you do not hold for good: {', '.join(sorted(set(missing)))}.")


def ensure_can_grant(actor, role, scope=""):
    ensure_holds_entries(actor, role.acl_entries, scope=scope, what=f"grant role {role.key} with")


def ensure_can_manage(actor, identity):
    """Refuse acting on an identity (change, suspend, reset, delete, make credentials) that holds or
    could obtain anything the actor does not hold standing. Acting on oneself is not managing another
    (the services refuse what nobody may do to themselves) — except through an access token, which
    must not mint itself a way out of its scopes (an API key of its identity is the identity's whole
    power): then the token's scopes must cover everything the identity can obtain."""
    if actor is None:
        return
    if is_same_identity(actor, identity) and get_context().scopes_for(actor) is None:
        return
    missing = sorted({
        f"{resource}:{action}" + (f" on {scope}" if scope else "")
        for resource, action, scope in obtainable_entries(identity)
        if not holds_standing(actor, resource, action, scope=scope)
    })
    if missing:
        raise Forbidden(
            f"{identity} holds or can obtain permissions you do not hold ({', '.join(missing)}); "
            "only someone holding all of them may manage this identity."
        )
