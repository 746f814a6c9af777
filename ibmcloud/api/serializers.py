"""Serializers of the IBM face: every request body, query and response in IBM's snake_case field names.

Requests are validated here (a field at fault is a 400 in IBM's error shape naming it); responses are
written by the same classes the OpenAPI document describes, so the document cannot drift from the answers.
Unknown request fields are ignored, as IBM's SDKs send some this server does not keep — except those that
would make a policy read narrower than it grants, which are refused.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from iam_project.identity import find_identity
from iam_project.validators import utc_datetime
from roles.models import Role

from .. import services
from .base import crn, ensure_account, public_id, stamp

# --- fields -----------------------------------------------------------------------------------------------------


class Text(serializers.CharField):
    """A JSON string, kept as sent: a number or a list is refused rather than turned into text."""

    default_error_messages = {"invalid": "Must be a string."}

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class Stamp(serializers.DateTimeField):
    """A moment as IBM writes it: ISO 8601 in UTC with a ``Z``."""

    def to_representation(self, value):
        return stamp(value)


class OptionalDateTime(serializers.DateTimeField):
    """An ISO 8601 date and time, or null / "" for none; stored in UTC."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        if data == "":
            return True, None
        return super().validate_empty_values(data)

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        try:
            return utc_datetime(parsed)
        except DjangoValidationError as exc:
            raise ValidationError(exc.messages) from None


def optional_text(max_length, **kwargs):
    return Text(required=False, allow_null=True, allow_blank=True, max_length=max_length, **kwargs)


# --- shared shapes ----------------------------------------------------------------------------------------------


class HistorySerializer(serializers.Serializer):
    """One entry of ``history`` (``include_history=true``), read from the audit trail."""

    timestamp = Stamp()
    iam_id = Text()
    iam_id_account = Text()
    action = Text()
    params = serializers.ListField(child=Text())
    message = Text()


class ListQuerySerializer(serializers.Serializer):
    """IBM's paging of a list: a page size and the opaque token of the page after the last one read."""

    account_id = Text(required=False, max_length=64)
    pagesize = serializers.IntegerField(required=False, help_text="1 to 100 (values beyond are brought in range).")
    pagetoken = Text(required=False, max_length=2000, help_text="The ``next`` of the page before.")


class SortedListQuerySerializer(ListQuerySerializer):
    sort = serializers.ChoiceField(["name", "created_at", "modified_at"], required=False)
    order = serializers.ChoiceField(["asc", "desc"], required=False)


class HistoryQuerySerializer(serializers.Serializer):
    include_history = serializers.BooleanField(required=False, default=False)


# --- API keys ---------------------------------------------------------------------------------------------------


class ApiKeySerializer(serializers.Serializer):
    """An API key. ``apikey`` holds the value only in the answer that created it, "" afterwards."""

    id = serializers.SerializerMethodField()
    entity_tag = Text(source="version")
    crn = serializers.SerializerMethodField()
    locked = serializers.BooleanField()
    disabled = serializers.BooleanField()
    created_at = Stamp()
    created_by = Text()
    modified_at = Stamp()
    name = Text()
    description = Text()
    iam_id = Text()
    account_id = serializers.SerializerMethodField()
    apikey = serializers.SerializerMethodField()
    expires_at = Stamp(allow_null=True)
    support_sessions = serializers.SerializerMethodField()
    action_when_leaked = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_id(self, key):
        return public_id("ApiKey", key.pk)

    @extend_schema_field(OpenApiTypes.STR)
    def get_crn(self, key):
        return crn("apikey", key.pk)

    @extend_schema_field(OpenApiTypes.STR)
    def get_account_id(self, key):
        return services.account_id()  # cached: the same for every row

    @extend_schema_field(OpenApiTypes.STR)
    def get_apikey(self, key):
        return self.context.get("apikey_values", {}).get(key.pk, "")

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_support_sessions(self, key):
        return False

    @extend_schema_field(OpenApiTypes.STR)
    def get_action_when_leaked(self, key):
        return "none"

    @extend_schema_field(HistorySerializer(many=True))
    def get_history(self, key):
        return self.context.get("history", [])


class ApiKeyListSerializer(serializers.Serializer):
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    next = Text(required=False, help_text="The pagetoken of the next page; absent on the last one.")
    apikeys = ApiKeySerializer(many=True)


class ApiKeyListQuerySerializer(SortedListQuerySerializer, HistoryQuerySerializer):
    iam_id = Text(required=False, max_length=64)
    scope = serializers.ChoiceField(["entity", "account"], required=False)
    type = serializers.ChoiceField(["user", "serviceid"], required=False)


class CreateApiKeySerializer(serializers.Serializer):
    name = Text(max_length=255)
    iam_id = Text(max_length=64)
    description = optional_text(2000)
    account_id = Text(required=False, allow_null=True, max_length=64)
    expires_at = OptionalDateTime()


class UpdateApiKeySerializer(serializers.Serializer):
    name = Text(required=False, allow_null=True, max_length=255)
    description = optional_text(2000)
    expires_at = OptionalDateTime()


# --- service IDs ------------------------------------------------------------------------------------------------


class ServiceIdSerializer(serializers.Serializer):
    """A service ID (a client of the platform). ``apikey`` only in the answer of a create that made one."""

    id = serializers.SerializerMethodField()
    iam_id = Text()
    entity_tag = Text(source="version")
    crn = serializers.SerializerMethodField()
    locked = serializers.BooleanField()
    created_at = Stamp(source="created")
    modified_at = Stamp(source="updated")
    account_id = serializers.SerializerMethodField()
    name = Text()
    description = serializers.SerializerMethodField()
    unique_instance_crns = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()
    apikey = ApiKeySerializer(required=False)

    @extend_schema_field(OpenApiTypes.STR)
    def get_id(self, client):
        return public_id("ServiceId", client.pk)

    @extend_schema_field(OpenApiTypes.STR)
    def get_crn(self, client):
        return crn("serviceid", client.pk)

    @extend_schema_field(OpenApiTypes.STR)
    def get_account_id(self, client):
        return services.account_id()

    @extend_schema_field(OpenApiTypes.STR)
    def get_description(self, client):
        return str(client.properties.get("description") or "")

    @extend_schema_field({"type": "array", "items": {"type": "string"}})
    def get_unique_instance_crns(self, client):
        return []

    @extend_schema_field(HistorySerializer(many=True))
    def get_history(self, client):
        return self.context.get("history", [])

    def to_representation(self, client):
        data = super().to_representation(client)
        created = self.context.get("apikey")
        if created is not None:
            key, value = created
            data["apikey"] = ApiKeySerializer(key, context={"apikey_values": {key.pk: value}}).data
        return data


class ServiceIdListSerializer(serializers.Serializer):
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    next = Text(required=False, help_text="The pagetoken of the next page; absent on the last one.")
    serviceids = ServiceIdSerializer(many=True)


class ServiceIdListQuerySerializer(SortedListQuerySerializer):
    name = Text(required=False, max_length=255)


class ServiceIdApiKeySerializer(serializers.Serializer):
    name = Text(required=False, allow_blank=True, max_length=255)
    description = optional_text(2000)


class CreateServiceIdSerializer(serializers.Serializer):
    account_id = Text(max_length=64)
    name = Text(max_length=255)
    description = optional_text(2000)
    unique_instance_crns = serializers.ListField(child=Text(max_length=1000), required=False, max_length=100,
                                                 help_text="Accepted and not stored.")
    apikey = ServiceIdApiKeySerializer(required=False, allow_null=True, help_text="A first API key to make with it.")


class UpdateServiceIdSerializer(serializers.Serializer):
    name = Text(required=False, allow_null=True, max_length=255)
    description = optional_text(2000)


# --- trusted profiles and claim rules ---------------------------------------------------------------------------


class ProfileSerializer(serializers.Serializer):
    id = serializers.SerializerMethodField()
    entity_tag = Text(source="version")
    crn = serializers.SerializerMethodField()
    name = Text()
    description = Text()
    email = Text()
    created_at = Stamp()
    modified_at = Stamp(source="updated_at")
    iam_id = Text()
    account_id = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_id(self, profile):
        return public_id("Profile", profile.pk)

    @extend_schema_field(OpenApiTypes.STR)
    def get_crn(self, profile):
        return crn("profile", profile.pk)

    @extend_schema_field(OpenApiTypes.STR)
    def get_account_id(self, profile):
        return services.account_id()

    @extend_schema_field(HistorySerializer(many=True))
    def get_history(self, profile):
        return []


class ProfileListSerializer(serializers.Serializer):
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    next = Text(required=False, help_text="The pagetoken of the next page; absent on the last one.")
    profiles = ProfileSerializer(many=True)


class ProfileListQuerySerializer(ListQuerySerializer):
    account_id = Text(max_length=64)
    name = Text(required=False, max_length=255)


class CreateProfileSerializer(serializers.Serializer):
    name = Text(max_length=255)
    account_id = Text(max_length=64)
    description = optional_text(2000)
    email = serializers.EmailField(required=False, allow_blank=True, allow_null=True, max_length=254)


class UpdateProfileSerializer(serializers.Serializer):
    name = Text(required=False, allow_null=True, max_length=255)
    description = optional_text(2000)
    email = serializers.EmailField(required=False, allow_blank=True, allow_null=True, max_length=254)


class ConditionSerializer(serializers.Serializer):
    claim = Text(max_length=255)
    operator = serializers.ChoiceField(services.OPERATORS)
    value = Text(max_length=1000)


class ClaimRuleSerializer(serializers.Serializer):
    id = serializers.SerializerMethodField()
    entity_tag = Text(source="version")
    created_at = Stamp()
    modified_at = Stamp(source="updated_at")
    name = Text()
    type = Text()
    realm_name = Text()
    expiration = serializers.IntegerField()
    cr_type = Text()
    conditions = ConditionSerializer(many=True)

    @extend_schema_field(OpenApiTypes.STR)
    def get_id(self, rule):
        return public_id("ClaimRule", rule.pk)


class ClaimRuleListSerializer(serializers.Serializer):
    rules = ClaimRuleSerializer(many=True)


class CreateClaimRuleSerializer(serializers.Serializer):
    type = serializers.ChoiceField(services.RULE_TYPES)
    conditions = ConditionSerializer(many=True, allow_empty=False, max_length=100)
    name = Text(required=False, allow_null=True, allow_blank=True, max_length=255)
    realm_name = Text(required=False, allow_null=True, allow_blank=True, max_length=255)
    cr_type = Text(required=False, allow_null=True, allow_blank=True, max_length=16)
    expiration = serializers.IntegerField(required=False, allow_null=True, min_value=services.EXPIRATION_RANGE[0],
                                          max_value=services.EXPIRATION_RANGE[1])


class UpdateClaimRuleSerializer(CreateClaimRuleSerializer):
    """updateClaimRule takes the whole rule again (type and conditions included)."""


# --- policies and roles -----------------------------------------------------------------------------------------

ROLE_CRN = "crn:v1:portcullis:public:iam::::role:"
SCOPE_ATTRIBUTES = ("serviceName", "serviceInstance", "resourceType", "resource")
# What would make a policy read narrower than it grants if stored and not enforced: refused.
UNENFORCED = ("rule", "pattern", "control", "tags")


def role_crn(role):
    return ROLE_CRN + role.key


class AttributeSerializer(serializers.Serializer):
    name = Text(max_length=255)
    value = Text(max_length=1000)
    operator = Text(required=False, max_length=64)


class Closed(serializers.Serializer):
    """A part of a policy whose every key must be understood: an unknown one might have narrowed the policy,
    and a policy must never read narrower than it grants."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            raise ValidationError({str(name): ["Not supported here: the policy would grant more than it says."]
                                   for name in unknown})
        return super().to_internal_value(data)


class SubjectSerializer(Closed):
    attributes = AttributeSerializer(many=True, max_length=20)


class ResourceSerializer(Closed):
    attributes = AttributeSerializer(many=True, max_length=20)
    tags = AttributeSerializer(many=True, required=False, max_length=20,
                               help_text="Access tags: not enforced here, so refused when given.")


class RoleRefSerializer(serializers.Serializer):
    role_id = Text(max_length=255, help_text="A role key, or crn:v1:portcullis:public:iam::::role:<key>.")


class PolicyRoleSerializer(serializers.Serializer):
    role_id = Text()
    display_name = Text()
    description = Text()


class CreatePolicySerializer(serializers.Serializer):
    """createPolicy / replacePolicy. Validated into ``identity``, ``role`` and ``scope`` — the binding the
    policy is — or a 400 naming the part at fault."""

    type = Text(required=False, default="access", max_length=32, help_text="Only access.")
    description = optional_text(2000)
    subjects = SubjectSerializer(many=True, max_length=20)
    roles = RoleRefSerializer(many=True, max_length=20)
    resources = ResourceSerializer(many=True, max_length=20)

    def validate(self, attrs):
        if attrs.get("type", "access") != "access":
            raise ValidationError({"type": ["Only access policies are supported."]})
        # A policy must never read narrower than it grants: anything that would narrow it and that the
        # engine does not enforce is refused, never stored and ignored.
        given = self.initial_data if isinstance(self.initial_data, dict) else {}
        unenforced = sorted(set(given) & set(UNENFORCED))
        if unenforced:
            raise ValidationError({name: ["Not supported here: the policy would grant more than it says."]
                                   for name in unenforced})
        attrs["identity"] = self._subject(attrs["subjects"])
        attrs["role"] = self._role(attrs["roles"])
        attrs["scope"] = self._scope(attrs["resources"])
        return attrs

    @staticmethod
    def _subject(subjects):
        only_iam_id = (len(subjects) == 1 and [a["name"] for a in subjects[0]["attributes"]] == ["iam_id"]
                       and subjects[0]["attributes"][0].get("operator", "stringEquals") == "stringEquals")
        if not only_iam_id:
            raise ValidationError({"subjects": ["One subject with exactly one attribute, iam_id (stringEquals), "
                                                "is required."]})
        iam_id = subjects[0]["attributes"][0]["value"]
        identity = find_identity(iam_id)
        if identity is None:
            raise ValidationError({"subjects": [f"No principal or service ID has iam_id {iam_id}."]})
        return identity

    @staticmethod
    def _role(roles):
        if len(roles) != 1:
            raise ValidationError({"roles": ["Exactly one role {role_id} is supported per policy."]})
        role_id = roles[0]["role_id"]
        role = Role.objects.filter(key=role_id.removeprefix(ROLE_CRN)).first()
        if role is None:
            raise ValidationError({"roles": [f"No role {role_id}."]})
        return role

    @staticmethod
    def _scope(resources):
        if len(resources) != 1:
            raise ValidationError({"resources": ["One resource whose attributes each have a name and a non-empty "
                                                 "string value (without '/') is required."]})
        [resource] = resources
        if resource.get("tags"):
            raise ValidationError({"resources": ["Access tags (resources[].tags) are not enforced here, so a "
                                                 "policy with tags would grant more than it says: refused."]})
        found = {a["name"]: a for a in resource["attributes"]}
        values = {name: attribute["value"] for name, attribute in found.items()}
        if len(found) != len(resource["attributes"]) or not all(v and "/" not in v for v in values.values()):
            raise ValidationError({"resources": ["One resource whose attributes each have a name and a non-empty "
                                                 "string value (without '/') is required."]})
        if "accountId" not in found:
            raise ValidationError({"resources": ["The accountId attribute is required."]})
        ensure_account(values["accountId"])
        unknown = sorted(set(found) - {"accountId", *SCOPE_ATTRIBUTES})
        if unknown:
            raise ValidationError({"resources": [f"Unsupported attributes: {', '.join(unknown)}."]})
        if any(a.get("operator", "stringEquals") != "stringEquals" for a in found.values()):
            raise ValidationError({"resources": ["Only the stringEquals operator is supported."]})
        given = [name for name in SCOPE_ATTRIBUTES if name in found]
        # The scope is the path serviceName[/serviceInstance][/resourceType[/resource]]: a narrower
        # attribute never stands without the broader one it belongs to.
        if given and "serviceName" not in given:
            raise ValidationError({"resources": ["serviceName is required with any narrower attribute."]})
        if "resource" in found and "resourceType" not in found:
            raise ValidationError({"resources": ["resource needs resourceType."]})
        return "/".join(values[name] for name in given)


class ReplacePolicySerializer(CreatePolicySerializer):
    """replacePolicy takes the whole policy again."""


class UpdatePolicyStateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(services.POLICY_STATES)


class PolicySerializer(serializers.Serializer):
    id = Text(source="pk")
    type = Text()
    description = Text()
    subjects = SubjectSerializer(many=True)
    roles = serializers.SerializerMethodField()
    resources = ResourceSerializer(many=True)
    state = Text()
    href = serializers.SerializerMethodField()
    created_at = Stamp()
    created_by_id = Text(source="created_by")
    last_modified_at = Stamp(source="updated_at")
    last_modified_by_id = Text(source="last_modified_by")
    entity_tag = Text(source="version")

    @extend_schema_field(PolicyRoleSerializer(many=True))
    def get_roles(self, policy):
        return [{"role_id": role_crn(policy.role), "display_name": policy.role.key,
                 "description": policy.role.description}]

    @extend_schema_field(OpenApiTypes.URI)
    def get_href(self, policy):
        return self.context["request"].build_absolute_uri(f"/v1/policies/{policy.pk}")


class PolicyNextSerializer(serializers.Serializer):
    start = Text(help_text="The start of the next page.")


class PolicyListSerializer(serializers.Serializer):
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    next = PolicyNextSerializer(required=False, help_text="Absent on the last page.")
    policies = PolicySerializer(many=True)


class PolicyListQuerySerializer(serializers.Serializer):
    account_id = Text(max_length=64)
    iam_id = Text(required=False, max_length=64)
    type = Text(required=False, max_length=32, help_text="Only access policies exist here: another type lists none.")
    state = serializers.ChoiceField(["active", "deleted", "all"], required=False, default="active")
    limit = serializers.IntegerField(required=False, help_text="1 to 100 (values beyond are brought in range).")
    start = Text(required=False, max_length=2000, help_text="The next.start of the page before.")


class SystemRoleSerializer(serializers.Serializer):
    display_name = Text()
    description = Text()
    actions = serializers.ListField(child=Text())
    crn = Text()


class CustomRoleSerializer(SystemRoleSerializer):
    id = Text()
    name = Text()
    account_id = Text()
    service_name = Text()
    created_at = Stamp()
    last_modified_at = Stamp()
    href = serializers.URLField()


class RoleListSerializer(serializers.Serializer):
    custom_roles = CustomRoleSerializer(many=True)
    service_roles = SystemRoleSerializer(many=True, help_text="Always empty: there are no per-service roles.")
    system_roles = SystemRoleSerializer(many=True)


class RoleListQuerySerializer(serializers.Serializer):
    account_id = Text(required=False, max_length=64)
    service_name = Text(required=False, max_length=255)


# --- account settings -------------------------------------------------------------------------------------------


class AccountSettingsSerializer(serializers.Serializer):
    account_id = Text()
    entity_tag = Text(source="version")
    history = serializers.SerializerMethodField()
    user_mfa = serializers.SerializerMethodField()
    restrict_create_service_id = Text()
    restrict_create_platform_apikey = Text()
    mfa = serializers.SerializerMethodField()  # the platform's multi-factor policy level (mfa app)
    session_expiration_in_seconds = Text()
    session_invalidation_in_seconds = Text()
    max_sessions_per_identity = Text()
    allowed_ip_addresses = Text()

    @extend_schema_field(HistorySerializer(many=True))
    def get_history(self, row):
        return []

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_user_mfa(self, row):
        return []

    @extend_schema_field(OpenApiTypes.STR)
    def get_mfa(self, row):
        from mfa.services import policy

        return policy().level


class UpdateAccountSettingsSerializer(serializers.Serializer):
    """Only the fields given change; each is a string (checked against its allowed values by the service,
    so the console and the API refuse alike)."""

    restrict_create_service_id = Text(required=False, allow_null=True, help_text="RESTRICTED, NOT_RESTRICTED "
                                                                                 "or NOT_SET.")
    restrict_create_platform_apikey = Text(required=False, allow_null=True, help_text="RESTRICTED, "
                                                                                      "NOT_RESTRICTED or NOT_SET.")
    mfa = Text(required=False, allow_null=True, help_text=", ".join(services.MFA_VALUES) + ".")
    session_expiration_in_seconds = Text(required=False, allow_null=True, help_text="NOT_SET or 900-2592000.")
    session_invalidation_in_seconds = Text(required=False, allow_null=True, help_text="NOT_SET or 900-2592000.")
    max_sessions_per_identity = Text(required=False, allow_null=True, help_text="NOT_SET or 1-10.")
    allowed_ip_addresses = Text(required=False, allow_null=True, max_length=2000,
                                help_text="Comma-separated IP addresses or networks.")
