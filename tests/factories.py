"""factory_boy factories for the service tests: rows made directly, as a migration or a fixture would."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from oauth2_provider.models import get_application_model

from jit.models import Eligibility
from roles.models import Role, RoleBinding


class PrincipalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    password = factory.django.Password("a long and unusual passphrase 42")


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_application_model()

    name = factory.Sequence(lambda n: f"app{n}")
    client_type = "confidential"
    grant_types = ["client_credentials"]


class RoleFactory(factory.django.DjangoModelFactory):
    """A custom role; ``acl`` takes 'resource:action' strings."""

    class Meta:
        model = Role

    class Params:
        acl = ("docs/wiki:read",)

    key = factory.Sequence(lambda n: f"team:role{n}")
    acl_entries = factory.LazyAttribute(lambda o: [
        {"resource": entry.rpartition(":")[0], "permission": entry.rpartition(":")[2]} for entry in o.acl])


class BindingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleBinding

    principal = factory.SubFactory(PrincipalFactory)
    role = factory.SubFactory(RoleFactory)


class EligibilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Eligibility

    principal = factory.SubFactory(PrincipalFactory)
    role = factory.SubFactory(RoleFactory)
    max_duration = timedelta(hours=1)
    approval_required = True
    justification_required = False


def holder_of(*acl, **fields):
    """A principal holding one role (standing) with exactly these 'resource:action' entries."""
    principal = PrincipalFactory(**fields)
    if acl:
        BindingFactory(principal=principal, role=RoleFactory(acl=acl))
    return principal


def owner():
    principal = PrincipalFactory()
    BindingFactory(principal=principal, role=Role.objects.get(key="system:owner"))
    return principal
