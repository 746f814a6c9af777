"""Receivers that turn every write of an audited model, every login and every API denial into an event.

Connected for every model an app names with ``audit.audited`` (from its ``AppConfig.ready``), and once,
in ``AuditConfig.ready``, for sign-ins and denials: no view, command or task has to remember to log.
"""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save

from iam_project.hooks import access_denied

from . import registry
from .services import record


def handle_post_init(sender, instance, **kwargs):
    instance._audit_before = registry.snapshot(instance, registry.entry_for(sender))


def handle_post_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return  # fixture loading and test-database restores are not changes anyone made
    entry = registry.entry_for(sender)
    after = registry.snapshot(instance, entry)
    before = {} if created else getattr(instance, "_audit_before", None)
    if before is None:
        before = _stored_values(sender, instance, entry)
    changes = registry.diff(sender, entry, before, after)
    instance._audit_before = after
    if created or changes:
        record("create" if created else "update", instance, changes=changes)


def handle_post_delete(sender, instance, **kwargs):
    entry = registry.entry_for(sender)
    before = getattr(instance, "_audit_before", None) or registry.snapshot(instance, entry)
    record("delete", instance, changes=registry.diff(sender, entry, before, {}))


def handle_m2m_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """A many-to-many change of an audited object: ``{field: [ids before, ids after]}``."""
    if reverse or action not in ("pre_clear", "post_add", "post_remove", "post_clear"):
        return
    name = _m2m_fields.get(sender)
    if name is None or registry.entry_for(type(instance)) is None:
        return
    if action == "pre_clear":
        instance._audit_m2m_cleared = sorted(str(pk) for pk in getattr(instance, name).values_list("pk", flat=True))
        return
    after = sorted(str(pk) for pk in getattr(instance, name).values_list("pk", flat=True))
    if action == "post_clear":
        before = getattr(instance, "_audit_m2m_cleared", [])
    elif action == "post_add":
        before = sorted(set(after) - {str(pk) for pk in pk_set or ()})
    else:
        before = sorted(set(after) | {str(pk) for pk in pk_set or ()})
    if before != after:
        record("update", instance, changes={name: [before, after]})


_m2m_fields = {}  # through model -> field name on the audited side


def _stored_values(model, instance, entry):
    fields = [attname for attname, _, _ in registry.recorded_fields(model, entry)]
    return model._base_manager.filter(pk=instance.pk).values(*fields).first() or {}


def handle_user_logged_in(sender, request, user, **kwargs):
    record("login.succeeded", user, actor=user.iam_id, actor_type=user.identity_type)


def unknown_username(typed):
    """How a username that names nobody is recorded: never as typed (it may be a password), but
    recognisably the same when typed again (a short digest keyed by the installation's secret)."""
    from django.utils.crypto import salted_hmac

    return "unknown:" + salted_hmac("audit.unknown_username", typed.strip().lower()).hexdigest()[:12]


def handle_user_login_failed(sender, credentials, request=None, **kwargs):
    from django.contrib.auth import get_user_model

    Principal = get_user_model()
    typed = str(credentials.get(Principal.USERNAME_FIELD) or credentials.get("username") or "")[:254]
    principal = Principal.objects.filter(email=typed.strip().lower()).first() if typed else None
    # What was typed is kept only when it names a principal: a password typed into the username field
    # must not land in the append-only trail.
    username = principal.email if principal is not None else (unknown_username(typed) if typed else "")
    details = {"username": username}
    # Refused by the lock-out before any password was checked (axes counted nothing for it: the
    # attempt that begins a lock has its count set, whichever receiver runs first).
    if getattr(request, "axes_locked_out", False) and getattr(request, "axes_failures_since_start", None) is None:
        details["lockedOut"] = True
    record("login.failed", principal, target_type="principal", target_id=principal.pk if principal else "",
           target_repr=username, details=details)


def handle_user_locked_out(sender, request, username, ip_address, **kwargs):
    """django-axes locked a username or an IP: one ``login.locked`` when the lock begins. Refused
    attempts during the lock send the signal again without a new count; those are login.failed."""
    if request is None or getattr(request, "axes_failures_since_start", None) is None:
        return
    from axes.helpers import get_cool_off
    from django.contrib.auth import get_user_model

    Principal = get_user_model()
    typed = str(username or "")[:254]
    principal = Principal.objects.filter(email=typed).first() if typed else None
    username = principal.email if principal is not None else (unknown_username(typed) if typed else "")
    cool_off = get_cool_off(request)
    record("login.locked", principal, target_type="principal", target_id=principal.pk if principal else "",
           target_repr=username,
           details={"username": username, "ip": ip_address or "", "failures": request.axes_failures_since_start,
                    "coolOffSeconds": int(cool_off.total_seconds()) if cool_off else None,
                    "path": request.path})


def handle_access_denied(sender, request, identity, permission, decision=None, reason="", **kwargs):
    record(
        "access.denied",
        target_type="endpoint",
        target_id=request.path,
        details={
            "permission": permission,
            "reason": getattr(decision, "reason", "") or reason,
            "method": request.method,
        },
    )


def _model_signals():
    return [(signal, handler) for signal, handler in
            ((post_init, handle_post_init), (post_save, handle_post_save), (post_delete, handle_post_delete))]


def connect_model(model):
    """Record the writes of one audited model (``registry.register`` calls this)."""
    uid = f"audit.{model._meta.label}"
    for signal, handler in _model_signals():
        signal.connect(handler, sender=model, dispatch_uid=uid)
    for field in model._meta.local_many_to_many:
        through = field.remote_field.through
        _m2m_fields[through] = field.name
        m2m_changed.connect(handle_m2m_changed, sender=through, dispatch_uid=f"{uid}.{field.name}")


def connect():
    """The receivers of what is not a model write: sign-ins, lock-outs, denials."""
    user_logged_in.connect(handle_user_logged_in, dispatch_uid="audit.login")
    user_login_failed.connect(handle_user_login_failed, dispatch_uid="audit.login_failed")
    access_denied.connect(handle_access_denied, dispatch_uid="audit.access_denied")
    from axes.signals import user_locked_out

    user_locked_out.connect(handle_user_locked_out, dispatch_uid="audit.login_locked")


def disconnect_models():
    """Stop recording model writes (bench/audit_overhead.py measures the platform without them)."""
    for model in registry.resolve():
        uid = f"audit.{model._meta.label}"
        for signal, _ in _model_signals():
            signal.disconnect(sender=model, dispatch_uid=uid)


def reconnect_models():
    """Record the writes of every audited model again (after ``disconnect_models``)."""
    for model in registry.resolve():
        connect_model(model)
