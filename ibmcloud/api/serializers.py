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

from iam_project.validators import utc_datetime

from .. import services
from .base import crn, public_id, stamp

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

# What would make a policy read narrower than it grants if stored and not enforced: refused (a v2 policy's
# ``rule`` is enforced: it becomes the binding's conditions).
UNENFORCED = ("rule", "pattern", "control")


def role_crn(role):
    return services.role_crn(role)


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
                               help_text="Access tags (stringEquals): the resource must carry each one.")


class RoleRefSerializer(serializers.Serializer):
    role_id = Text(max_length=255, help_text="IBM's CRN of a role (e.g. crn:v1:bluemix:public:iam::::role:Viewer), "
                                             "crn:v1:portcullis:public:iam::::role:<key>, or a role key.")


class PolicyRoleSerializer(serializers.Serializer):
    role_id = Text()
    display_name = Text()
    description = Text()


def string_equals(entries, field, key="name"):
    """{name: value} of IBM attributes, each stringEquals (or without an operator), each named once."""
    if any(entry.get("operator", "stringEquals") != "stringEquals" for entry in entries):
        raise ValidationError({field: ["Only the stringEquals operator is supported."]})
    values = {entry[key]: entry["value"] for entry in entries}
    if len(values) != len(entries):
        raise ValidationError({field: ["Each attribute may be given once."]})
    return values


def policy_role(role_id, field="roles"):
    role = services.find_role(role_id)
    if role is None:
        raise ValidationError({field: [f"No role {role_id}."]})
    return role


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
        subjects = attrs["subjects"]
        if len(subjects) != 1 or [a["name"] for a in subjects[0]["attributes"]] != ["iam_id"]:
            raise ValidationError({"subjects": ["One subject with exactly one attribute, iam_id (stringEquals), "
                                                "is required."]})
        iam_id = string_equals(subjects[0]["attributes"], "subjects")["iam_id"]
        attrs["identity"] = services.policy_subject(iam_id)
        attrs["subject_iam_id"] = iam_id
        if len(attrs["roles"]) != 1:
            raise ValidationError({"roles": ["Exactly one role {role_id} is supported per policy."]})
        attrs["role"] = policy_role(attrs["roles"][0]["role_id"])
        if len(attrs["resources"]) != 1:
            raise ValidationError({"resources": ["Exactly one resource is supported per policy."]})
        [resource] = attrs["resources"]
        attrs["scope"] = services.policy_scope(string_equals(resource["attributes"], "resources"),
                                               string_equals(resource.get("tags") or [], "resources.tags"))
        return attrs


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
        return [role_reference(policy.role)]

    @extend_schema_field(OpenApiTypes.URI)
    def get_href(self, policy):
        return self.context["request"].build_absolute_uri(f"/v1/policies/{policy.pk}")


def role_reference(role):
    face = services.role_face(role)
    return {"role_id": services.role_crn(role), "display_name": face.display_name if face else role.key,
            "description": role.description}


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


# --- v2 policies ------------------------------------------------------------------------------------------------


class V2AttributeSerializer(Closed):
    key = Text(max_length=255)
    operator = Text(required=False, max_length=64)
    value = Text(max_length=1000)


class V2SubjectSerializer(Closed):
    attributes = V2AttributeSerializer(many=True, max_length=20)


class V2ResourceSerializer(Closed):
    attributes = V2AttributeSerializer(many=True, max_length=20)
    tags = V2AttributeSerializer(many=True, required=False, max_length=20,
                                 help_text="Access tags (stringEquals): the resource must carry each one.")


class V2GrantSerializer(Closed):
    roles = RoleRefSerializer(many=True, max_length=20)


class V2ControlSerializer(Closed):
    grant = V2GrantSerializer()


class CreateV2PolicySerializer(serializers.Serializer):
    """createV2Policy / replaceV2Policy: one subject (iam_id), one role under ``control.grant.roles``, one
    resource, and optionally a time-based ``rule`` (enforced as the binding's time window and start/expiry)."""

    type = Text(required=False, default="access", max_length=32, help_text="Only access.")
    description = optional_text(300)
    subject = V2SubjectSerializer()
    control = V2ControlSerializer()
    resource = V2ResourceSerializer()
    pattern = Text(required=False, allow_blank=True, max_length=255,
                   help_text="The name of the rule's shape (e.g. time-based-conditions:weekly:custom-hours).")
    rule = serializers.JSONField(required=False, allow_null=True,
                                 help_text="current_time, day_of_week and current_date_time conditions, "
                                           "combined with and.")

    def validate(self, attrs):
        if attrs.get("type", "access") != "access":
            raise ValidationError({"type": ["Only access policies are supported."]})
        subject = attrs["subject"]["attributes"]
        if [a["key"] for a in subject] != ["iam_id"]:
            raise ValidationError({"subject": ["One attribute, iam_id (stringEquals), is required."]})
        iam_id = string_equals(subject, "subject", key="key")["iam_id"]
        attrs["identity"] = services.policy_subject(iam_id, field="subject")
        attrs["subject_iam_id"] = iam_id
        roles = attrs["control"]["grant"]["roles"]
        if len(roles) != 1:
            raise ValidationError({"control.grant.roles": ["Exactly one role {role_id} is supported per policy."]})
        attrs["role"] = policy_role(roles[0]["role_id"], field="control.grant.roles")
        resource = attrs["resource"]
        attrs["scope"] = services.policy_scope(string_equals(resource["attributes"], "resource", key="key"),
                                               string_equals(resource.get("tags") or [], "resource.tags", key="key"),
                                               field="resource")
        services.rule_conditions(attrs.get("rule"))  # a rule the engine cannot enforce is refused here
        if attrs.get("pattern") and attrs.get("rule") is None:
            raise ValidationError({"pattern": ["A pattern names the shape of a rule: give the rule too."]})
        return attrs


class V2PolicySerializer(serializers.Serializer):
    id = Text(source="pk")
    type = Text()
    description = Text()
    subject = serializers.SerializerMethodField()
    control = serializers.SerializerMethodField()
    resource = serializers.SerializerMethodField()
    pattern = Text(required=False)
    rule = serializers.JSONField(required=False)
    state = Text()
    href = serializers.SerializerMethodField()
    created_at = Stamp()
    created_by_id = Text(source="created_by")
    last_modified_at = Stamp(source="updated_at")
    last_modified_by_id = Text(source="last_modified_by")
    entity_tag = Text(source="version")

    @extend_schema_field(V2SubjectSerializer)
    def get_subject(self, policy):
        return policy.subjects[0]

    @extend_schema_field(V2ResourceSerializer)
    def get_resource(self, policy):
        return policy.resources[0]

    @extend_schema_field(V2ControlSerializer)
    def get_control(self, policy):
        return {"grant": {"roles": [role_reference(policy.role)]}}

    @extend_schema_field(OpenApiTypes.URI)
    def get_href(self, policy):
        return self.context["request"].build_absolute_uri(f"/v2/policies/{policy.pk}")

    def to_representation(self, policy):
        data = super().to_representation(policy)
        if not policy.pattern:
            data.pop("pattern")
        if policy.rule is None:
            data.pop("rule")
        return data


class V2PolicyListSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    next = PolicyNextSerializer(required=False, help_text="Absent on the last page.")
    policies = V2PolicySerializer(many=True)


class V2PolicyListQuerySerializer(PolicyListQuerySerializer):
    pass


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
    created_by_id = Text()
    last_modified_at = Stamp()
    last_modified_by_id = Text()
    href = serializers.URLField()
    entity_tag = Text(source="version")


class RoleListSerializer(serializers.Serializer):
    custom_roles = CustomRoleSerializer(many=True)
    service_roles = SystemRoleSerializer(many=True, help_text="IBM's service roles (Reader, Writer, Manager, ...).")
    system_roles = SystemRoleSerializer(many=True, help_text="IBM's platform roles and the platform's own.")


class RoleListQuerySerializer(serializers.Serializer):
    account_id = Text(required=False, max_length=64)
    service_name = Text(required=False, max_length=255)
    service_group_id = Text(required=False, max_length=255, help_text="IAM (every role here), or none.")
    source_service_name = Text(required=False, max_length=255)
    policy_type = Text(required=False, max_length=64)


class ReplaceRoleSerializer(serializers.Serializer):
    display_name = Text(max_length=50)
    description = optional_text(250)
    actions = serializers.ListField(child=Text(max_length=255), min_length=1, max_length=100,
                                    help_text="service.resource.action, e.g. iam.principals.read")


class CreateRoleSerializer(ReplaceRoleSerializer):
    name = Text(max_length=30, help_text="An upper-case letter, then letters or digits.")
    account_id = Text(max_length=64)
    service_name = Text(max_length=100)


# --- account settings -------------------------------------------------------------------------------------------


class UserMfaSerializer(serializers.Serializer):
    iam_id = Text()
    mfa = Text()


class UserDomainSerializer(serializers.Serializer):
    realm_id = Text()
    invitation_email_allow_patterns = serializers.ListField(child=Text(), required=False)
    restrict_invitation = serializers.BooleanField(required=False)


class SettingsFieldsSerializer(serializers.Serializer):
    """The account's identity settings, as IBM names them (every value a string but the lists)."""

    restrict_create_service_id = Text()
    restrict_create_platform_apikey = Text()
    restrict_user_list_visibility = Text()
    restrict_user_domains = UserDomainSerializer(many=True)
    mfa = serializers.SerializerMethodField()  # the platform's multi-factor policy level (mfa app)
    user_mfa = UserMfaSerializer(many=True)
    session_expiration_in_seconds = Text()
    session_invalidation_in_seconds = Text()
    max_sessions_per_identity = Text()
    allowed_ip_addresses = Text()
    system_access_token_expiration_in_seconds = Text()
    system_refresh_token_expiration_in_seconds = Text()

    @extend_schema_field(OpenApiTypes.STR)
    def get_mfa(self, row):
        from mfa.services import policy

        return policy().level


class AccountSettingsSerializer(SettingsFieldsSerializer):
    account_id = Text()
    entity_tag = Text(source="version")
    history = serializers.SerializerMethodField()

    @extend_schema_field(HistorySerializer(many=True))
    def get_history(self, row):
        return self.context.get("history", [])


class EffectiveSettingsSerializer(serializers.Serializer):
    """IBM's effective settings: the account's own, and what is in force (IBM's defaults where NOT_SET)."""

    account_id = Text()
    effective = SettingsFieldsSerializer()
    account = AccountSettingsSerializer()


def setting_text(help_text):
    return Text(required=False, allow_null=True, max_length=2000, help_text=help_text)

class UpdateAccountSettingsSerializer(serializers.Serializer):
    """Only the fields given change (checked against their allowed values by the service, so the console and
    the API refuse alike)."""

    restrict_create_service_id = setting_text("RESTRICTED, NOT_RESTRICTED or NOT_SET.")
    restrict_create_platform_apikey = setting_text("RESTRICTED, NOT_RESTRICTED or NOT_SET.")
    restrict_user_list_visibility = setting_text("RESTRICTED or NOT_RESTRICTED (stored only).")
    restrict_user_domains = serializers.JSONField(required=False, allow_null=True,
                                                  help_text="[{realm_id, invitation_email_allow_patterns, "
                                                            "restrict_invitation}] (stored only).")
    mfa = setting_text(", ".join(services.MFA_VALUES) + ".")
    user_mfa = serializers.JSONField(required=False, allow_null=True, help_text="[{iam_id, mfa}].")
    session_expiration_in_seconds = setting_text("NOT_SET or 900-2592000.")
    session_invalidation_in_seconds = setting_text("NOT_SET or 900-2592000.")
    max_sessions_per_identity = setting_text("NOT_SET or 1-10 (stored only).")
    allowed_ip_addresses = setting_text("Comma-separated IP addresses or networks.")
    system_access_token_expiration_in_seconds = setting_text("NOT_SET or 900-3600.")
    system_refresh_token_expiration_in_seconds = setting_text("NOT_SET or 900-259200.")


class IdentityTypeSerializer(serializers.Serializer):
    state = Text()
    external_allowed_accounts = serializers.ListField(child=Text())


class IdentityTypesSerializer(serializers.Serializer):
    user = IdentityTypeSerializer()
    service_id = IdentityTypeSerializer()
    service = IdentityTypeSerializer()


class InteractionSerializer(serializers.Serializer):
    identity_types = IdentityTypesSerializer()


class AccessManagementSettingsSerializer(serializers.Serializer):
    external_account_identity_interaction = InteractionSerializer()


class UpdateAccessManagementSettingsSerializer(serializers.Serializer):
    external_account_identity_interaction = serializers.JSONField(
        help_text="{identity_types: {user|service_id|service: {state, external_allowed_accounts}}}")


# --- service ID groups, profile links and identities, preferences, reports, limits, templates -----------------


class AccountQuerySerializer(serializers.Serializer):
    account_id = Text(required=False, max_length=64)
    pagesize = serializers.IntegerField(required=False)
    pagetoken = Text(required=False, max_length=2000)


class ServiceIdGroupSerializer(serializers.Serializer):
    id = serializers.SerializerMethodField()
    entity_tag = Text(source="version")
    account_id = serializers.SerializerMethodField()
    crn = serializers.SerializerMethodField()
    name = Text()
    description = Text()
    created_at = Stamp()
    created_by = Text()
    modified_at = Stamp(source="updated_at")

    @extend_schema_field(OpenApiTypes.STR)
    def get_id(self, group):
        return public_id("ServiceIdGroup", group.pk)

    @extend_schema_field(OpenApiTypes.STR)
    def get_account_id(self, group):
        return services.account_id()

    @extend_schema_field(OpenApiTypes.STR)
    def get_crn(self, group):
        return crn("serviceidgroup", group.pk)


class ServiceIdGroupListSerializer(serializers.Serializer):
    serviceid_groups = ServiceIdGroupSerializer(many=True)


class CreateServiceIdGroupSerializer(serializers.Serializer):
    account_id = Text(max_length=64)
    name = Text(max_length=255)
    description = optional_text(2000)


class UpdateServiceIdGroupSerializer(serializers.Serializer):
    name = Text(max_length=255)
    description = optional_text(2000)


class LinkTargetSerializer(serializers.Serializer):
    crn = Text(max_length=1000)
    namespace = Text(required=False, allow_blank=True, max_length=255)
    name = Text(required=False, allow_blank=True, max_length=255)
    component_type = Text(required=False, allow_blank=True, max_length=255)
    component_name = Text(required=False, allow_blank=True, max_length=255)


class CreateProfileLinkSerializer(serializers.Serializer):
    name = optional_text(255)
    cr_type = serializers.ChoiceField(services.CR_TYPES)
    link = serializers.JSONField(help_text="{crn, namespace, name, component_type, component_name}")


class ProfileLinkSerializer(serializers.Serializer):
    id = serializers.SerializerMethodField()
    entity_tag = serializers.SerializerMethodField()
    created_at = Stamp()
    modified_at = Stamp(source="updated_at")
    name = Text()
    cr_type = Text()
    link = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_id(self, link):
        return public_id("ProfileLink", link.pk)

    @extend_schema_field(OpenApiTypes.STR)
    def get_entity_tag(self, link):
        return "1"

    @extend_schema_field(LinkTargetSerializer)
    def get_link(self, link):
        return {key: value for key, value in (("crn", link.crn), ("namespace", link.namespace),
                                              ("name", link.link_name), ("component_type", link.component_type),
                                              ("component_name", link.component_name)) if value}


class ProfileLinkListSerializer(serializers.Serializer):
    links = ProfileLinkSerializer(many=True)


class DeleteLinksQuerySerializer(serializers.Serializer):
    type = serializers.ChoiceField(services.CR_TYPES)
    crn = Text(required=False, max_length=1000)
    namespace = Text(required=False, max_length=255)
    name = Text(required=False, max_length=255)
    component_type = Text(required=False, max_length=255)
    component_name = Text(required=False, max_length=255)


class ProfileIdentitySerializer(serializers.Serializer):
    iam_id = Text()
    identifier = Text()
    type = Text()
    accounts = serializers.ListField(child=Text())
    description = Text()


class ProfileIdentitiesSerializer(serializers.Serializer):
    identities = ProfileIdentitySerializer(many=True)


class SetProfileIdentitiesSerializer(serializers.Serializer):
    identities = serializers.JSONField(help_text="[{identifier, type (user, serviceid, crn), accounts, description}]")


class SetProfileIdentitySerializer(serializers.Serializer):
    identifier = Text(max_length=1000)
    type = Text(max_length=16)
    accounts = serializers.ListField(child=Text(max_length=64), required=False, max_length=10)
    description = optional_text(2000)

    def validate(self, attrs):
        return {key: value for key, value in attrs.items() if value is not None}


class PreferenceSerializer(serializers.Serializer):
    id = serializers.SerializerMethodField()
    service = Text()
    value_string = Text()
    value_list_of_strings = serializers.ListField(child=Text(), required=False, allow_null=True)

    @extend_schema_field(OpenApiTypes.STR)
    def get_id(self, preference):
        return f"{preference.service}/{preference.preference_id}"

    def to_representation(self, preference):
        data = super().to_representation(preference)
        if preference.value_list_of_strings is None:
            data.pop("value_list_of_strings")
        return data


class PreferenceListSerializer(serializers.Serializer):
    preferences = PreferenceSerializer(many=True)


class UpdatePreferenceSerializer(serializers.Serializer):
    value_string = Text(required=False, allow_null=True, allow_blank=True, max_length=2000)
    value_list_of_strings = serializers.ListField(child=Text(max_length=255), required=False, allow_null=True,
                                                  max_length=100)


class CreateReportQuerySerializer(serializers.Serializer):
    type = Text(required=False, max_length=16, help_text="inactive")
    duration = Text(required=False, max_length=8, help_text="Hours (1-2160), 720 by default.")


class ReportReferenceSerializer(serializers.Serializer):
    reference = Text()


class ReportSerializer(serializers.Serializer):
    created_by = Text()
    reference = Text()
    report_duration = serializers.SerializerMethodField()
    report_start_time = serializers.SerializerMethodField()
    report_end_time = serializers.SerializerMethodField()
    users = serializers.SerializerMethodField()
    apikeys = serializers.SerializerMethodField()
    serviceids = serializers.SerializerMethodField()
    profiles = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_report_duration(self, report):
        return str(report.duration_hours)

    @extend_schema_field(OpenApiTypes.STR)
    def get_report_start_time(self, report):
        return report.result.get("report_start_time")

    @extend_schema_field(OpenApiTypes.STR)
    def get_report_end_time(self, report):
        return report.result.get("report_end_time")

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_users(self, report):
        return report.result.get("users", [])

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_apikeys(self, report):
        return report.result.get("apikeys", [])

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_serviceids(self, report):
        return report.result.get("serviceids", [])

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_profiles(self, report):
        return report.result.get("profiles", [])


class LimitCountSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    count = serializers.IntegerField()


class AccountLimitsSerializer(serializers.Serializer):
    serviceid_groups = LimitCountSerializer()
    profiles = LimitCountSerializer()
    cr_links = LimitCountSerializer()
    cr_rules = LimitCountSerializer()
    idps = LimitCountSerializer()
    profile_templates = LimitCountSerializer()
    account_settings_templates = LimitCountSerializer()


class ProfileTemplateListSerializer(serializers.Serializer):
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    profile_templates = serializers.ListField(child=serializers.DictField(), help_text="Always empty.")


class AccountSettingsTemplateListSerializer(serializers.Serializer):
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    account_settings_templates = serializers.ListField(child=serializers.DictField(), help_text="Always empty.")
