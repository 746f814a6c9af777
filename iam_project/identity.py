"""What the platform treats as an identity: a principal or a client, each with a stable iam_id."""


def identity_actor(identity):
    """(iam_id, actor type) of an identity, for the request context and the audit trail."""
    return identity.iam_id, identity.identity_type


def is_identity(obj):
    return obj is not None and hasattr(obj, "iam_id") and hasattr(obj, "identity_type")


def find_identity(iam_id):
    """The principal or client with this iam_id, or None (one query)."""
    from django.contrib.auth import get_user_model
    from oauth2_provider.models import get_application_model

    for model in (get_user_model(), get_application_model()):
        if iam_id.startswith(model.iam_id_prefix):
            return model.objects.filter(iam_id=iam_id).first()
    return None


def holder_iam_id(obj):
    """The iam_id of the principal or client ``obj`` belongs to (``principal_id``/``client_id``), from the
    foreign key alone: no query, and right even while the holder's row is being deleted."""
    from django.contrib.auth import get_user_model
    from oauth2_provider.models import get_application_model

    if getattr(obj, "principal_id", None):
        return f"{get_user_model().iam_id_prefix}{obj.principal_id}"
    if getattr(obj, "client_id", None):
        return f"{get_application_model().iam_id_prefix}{obj.client_id}"
    return ""


def holder_label(obj):
    """The holder as loaded (its email or name), else its iam_id — never a query for a row that may be gone."""
    for name in ("principal", "client"):
        field = obj._meta.get_field(name)
        if getattr(obj, field.attname) and field.is_cached(obj):
            return str(getattr(obj, name))
    return holder_iam_id(obj)
