"""Receivers that keep the engine's cache true: any change that could alter a decision invalidates it."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from oauth2_provider.models import get_application_model

from . import engine
from .models import Role, RoleBinding


@receiver(post_save, sender=RoleBinding)
@receiver(post_delete, sender=RoleBinding)
def handle_binding_changed(sender, instance, **kwargs):
    iam_id = instance.identity_iam_id  # never fetch the holder: it may be the row being deleted
    if iam_id:
        engine.invalidate(iam_id)


@receiver(post_save, sender=Role)
@receiver(post_delete, sender=Role)
def handle_role_changed(sender, instance, **kwargs):
    engine.invalidate()  # every holder of the role may decide differently now


def handle_identity_changed(sender, instance, **kwargs):
    engine.invalidate(instance)


post_save.connect(handle_identity_changed, sender=get_user_model(), dispatch_uid="roles.principal_changed")
post_delete.connect(handle_identity_changed, sender=get_user_model(), dispatch_uid="roles.principal_deleted")
post_save.connect(handle_identity_changed, sender=get_application_model(), dispatch_uid="roles.client_changed")
post_delete.connect(handle_identity_changed, sender=get_application_model(), dispatch_uid="roles.client_deleted")
