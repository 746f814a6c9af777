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
