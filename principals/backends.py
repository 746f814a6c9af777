"""Authentication backend: case-insensitive email, suspended principals refused."""

from django.contrib.auth.backends import ModelBackend


class PrincipalBackend(ModelBackend):
    """Django's model backend with the engine deciding permissions instead of Django's tables."""

    def user_can_authenticate(self, user):
        return not getattr(user, "suspended", False)

    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        return set()

    def get_all_permissions(self, user_obj, obj=None):
        return set()

    def has_perm(self, user_obj, perm, obj=None):
        # Principal.has_perm asks the engine directly; this backend adds nothing of its own.
        return False
