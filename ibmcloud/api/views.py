"""The IBM Cloud IAM-compatible API: API keys, service IDs, trusted profiles and claim rules, policies,
roles and account settings — views onto the platform's own models, through the same services."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.dateparse import parse_datetime
from oauth2_provider.models import get_application_model
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from clients import services as client_services
from clients.models import ApiKey
from iam_project.api import expected_version
from iam_project.errors import InvalidInput
from iam_project.identity import find_identity
from iam_project.validators import utc_datetime
from principals import profiles as profile_services
from principals.models import ClaimRule, TrustedProfile
from roles import services as role_services
from roles.models import Policy, Role

from .base import IBMView, account, account_id, crn, ensure_account, ibm_operation, page, parse_id, public_id, stamp, with_etag

Client = get_application_model()
APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"


def _body(request, *required):
    data = request.data if isinstance(request.data, dict) else {}
    missing = [name for name in required if data.get(name) in (None, "")]
    if missing:
        raise ValidationError({name: ["This field is required."] for name in missing})
    return data


def _version(request):
    """The If-Match the SDK sends on every update: required here, '*' matches any version."""
    if request.headers.get("If-Match") is None:
        raise ValidationError({"If-Match": ["This header is required (the entity_tag you read)."]})
    return expected_version(request)


def _expires(value, field="expires_at"):
    if value in (None, ""):
        return None
    try:
        parsed = parse_datetime(str(value))
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError({field: ["Must be an ISO 8601 date and time."]})
    try:
        return utc_datetime(parsed)
    except DjangoValidationError as exc:
        raise ValidationError({field: exc.messages}) from None


def _text(data, field, max_length=255):
    """A string field of the body, or a 400 naming it."""
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise ValidationError({field: [f"Must be a string of at most {max_length} characters."]})
    return value


def history(request, target_type, pk):
    """IBM's ``history`` (when ``include_history=true``), read from the audit trail: who changed
    what and when, newest last. Empty otherwise."""
    if request.query_params.get("include_history") not in ("true", "True", "1"):
        return []
    from audit.models import AuditEvent
    from iam_project.permissions import require

    require(request, "audit/events:read")  # the history is the audit trail's, read under its permission

    events = AuditEvent.objects.filter(target_type=target_type, target_id=str(pk)).order_by("seq")[:100]
    return [{"timestamp": stamp(e.at), "iam_id": e.actor, "iam_id_account": account_id(), "action": e.action,
             "params": sorted(e.changes), "message": f"{e.action} by {e.actor}"} for e in events]


# --- API keys --------------------------------------------------------------------------------------------

def apikey_json(key, value="", request=None):
    return {
        "id": public_id("ApiKey", key.pk), "entity_tag": str(key.version), "crn": crn("apikey", key.pk),
        "locked": key.locked, "disabled": key.disabled, "created_at": stamp(key.created_at),
        "created_by": key.created_by, "modified_at": stamp(key.modified_at), "name": key.name,
        "description": key.description, "iam_id": key.iam_id, "account_id": account_id(),
        "apikey": value, "expires_at": stamp(key.expires_at), "support_sessions": False,
        "action_when_leaked": "none", "history": history(request, "apiKey", key.pk) if request else [],
    }


class ApiKeyListView(IBMView):
    @ibm_operation("listApiKeys", "API Keys", body=False, status=200)
    def get(self, request):
        params = request.query_params
        if not ensure_account(params.get("account_id"), for_list=True):
            return Response({"offset": 0, "limit": 0, "apikeys": []})
        keys = ApiKey.objects.all()
        iam_id = params.get("iam_id")
        if params.get("scope") == "account":
            self.need("iam/apikeys:read")
        elif iam_id and iam_id != request.user.iam_id:
            self.need("iam/apikeys:read")
            keys = keys.filter(iam_id=iam_id)
        else:
            keys = keys.filter(iam_id=iam_id or request.user.iam_id)
        if params.get("type") == "user":
            keys = keys.filter(principal__isnull=False)
        elif params.get("type") == "serviceid":
            keys = keys.filter(client__isnull=False)
        sort = params.get("sort") or "created_at"
        if sort not in ("name", "created_at", "modified_at"):
            raise ValidationError({"sort": ["Must be name, created_at or modified_at."]})
        keys = keys.order_by(("-" if params.get("order") == "desc" else "") + sort, "id")
        body = page(request, [apikey_json(k) for k in keys], "apikeys")
        return Response(body)

    @ibm_operation("createApiKey", "API Keys", body=True, status=201)
    def post(self, request):
        data = _body(request, "name", "iam_id")
        ensure_account(_text(data, "account_id", 64))
        owner = find_identity(_text(data, "iam_id", 64))
        if owner is None:
            raise InvalidInput({"iam_id": ["No principal or service ID has this iam_id."]})
        restricted = account().restrict_create_platform_apikey == "RESTRICTED"
        key, value = client_services.create_api_key(request.user, owner, _text(data, "name"),
                                                    _text(data, "description", 2000) or "",
                                                    _expires(data.get("expires_at")), restricted=restricted)
        return with_etag(apikey_json(key, value), key, status=201)


class ApiKeyDetailsView(IBMView):
    @ibm_operation("getApiKeysDetails", "API Keys", body=False, status=200)
    def get(self, request):
        value = request.headers.get("IAM-ApiKey", "")
        key = ApiKey.objects.filter(digest=ApiKey.digest_of(value)).first() if value else None
        if key is None:
            raise NotFound("No API key matches the IAM-ApiKey header.")
        return with_etag(apikey_json(key), key)


class ApiKeyView(IBMView):
    def _key(self, id, permission="read"):
        key = ApiKey.objects.filter(pk=parse_id("ApiKey", id, "API key")).first()
        if key is None:
            raise NotFound(f"No such API key: {id}.")
        if key.iam_id != self.request.user.iam_id:
            self.need(f"iam/apikeys:{permission}")
        return key

    @ibm_operation("getApiKey", "API Keys", body=False, status=200)
    def get(self, request, id):
        key = self._key(id)
        return with_etag(apikey_json(key, request=request), key)

    @ibm_operation("updateApiKey", "API Keys", body=True, status=200)
    def put(self, request, id):
        key = self._key(id, "write")
        data = _body(request)
        key = client_services.update_api_key(request.user, key.pk, _version(request), name=_text(data, "name"),
                                             description=_text(data, "description", 2000),
                                             expires_at=_expires(data.get("expires_at")))
        return with_etag(apikey_json(key), key)

    @ibm_operation("deleteApiKey", "API Keys", body=False, status=204)
    def delete(self, request, id):
        key = self._key(id, "delete")
        client_services.delete_api_key(request.user, key.pk)
        return Response(status=204)


class ApiKeyFlagView(IBMView):
    """POST sets the flag (lock / disable), DELETE clears it (unlock / enable)."""

    flag = ""

    def _set(self, request, id, value):
        key = ApiKey.objects.filter(pk=parse_id("ApiKey", id, "API key")).first()
        if key is None:
            raise NotFound(f"No such API key: {id}.")
        if key.iam_id != request.user.iam_id:
            self.need("iam/apikeys:write")
        client_services.set_api_key_flag(request.user, key.pk, self.flag, value)
        return Response(status=204)



class ApiKeyLockView(ApiKeyFlagView):
    flag = "locked"

    @ibm_operation("lockApiKey", "API Keys", status=204)
    def post(self, request, id):
        return self._set(request, id, True)

    @ibm_operation("unlockApiKey", "API Keys", status=204)
    def delete(self, request, id):
        return self._set(request, id, False)


class ApiKeyDisableView(ApiKeyFlagView):
    flag = "disabled"

    @ibm_operation("disableApiKey", "API Keys", status=204)
    def post(self, request, id):
        return self._set(request, id, True)

    @ibm_operation("enableApiKey", "API Keys", status=204)
    def delete(self, request, id):
        return self._set(request, id, False)


# --- service IDs ------------------------------------------------------------------------------------------

def serviceid_json(client, apikey=None, request=None):
    body = {
        "id": public_id("ServiceId", client.pk), "iam_id": client.iam_id, "entity_tag": str(client.version),
        "crn": crn("serviceid", client.pk), "locked": client.locked, "created_at": stamp(client.created),
        "modified_at": stamp(client.updated), "account_id": account_id(), "name": client.name,
        "description": client.properties.get("description", ""), "unique_instance_crns": [],
        "history": history(request, "client", client.pk) if request else [],
    }
    if apikey is not None:
        body["apikey"] = apikey
    return body


class ServiceIdListView(IBMView):
    @ibm_operation("listServiceIds", "Service IDs", body=False, status=200)
    def get(self, request):
        self.need("iam/clients:read")
        params = request.query_params
        if not ensure_account(params.get("account_id"), for_list=True):
            return Response({"offset": 0, "limit": 0, "serviceids": []})
        clients = Client.objects.filter(is_system=False)
        if params.get("name"):
            clients = clients.filter(name=params["name"])
        sort = params.get("sort") or "created"
        sort = {"created_at": "created", "modified_at": "updated"}.get(sort, sort)
        if sort not in ("name", "created", "updated"):
            raise ValidationError({"sort": ["Must be name, created_at or modified_at."]})
        clients = clients.order_by(("-" if params.get("order") == "desc" else "") + sort, "id")
        return Response(page(request, [serviceid_json(c) for c in clients], "serviceids"))

    @transaction.atomic
    @ibm_operation("createServiceId", "Service IDs", body=True, status=201)
    def post(self, request):
        self.need("iam/clients:write")
        data = _body(request, "account_id", "name")
        ensure_account(data["account_id"])
        client = client_services.create_client(request.user, {
            "name": data["name"], "description": data.get("description") or "", "grantTypes": [APIKEY_GRANT],
            "clientType": "confidential"})
        apikey = None
        if isinstance(data.get("apikey"), dict):
            spec = data["apikey"]
            key, value = client_services.create_api_key(request.user, client, spec.get("name") or data["name"],
                                                        spec.get("description", ""))
            apikey = apikey_json(key, value)
        return with_etag(serviceid_json(client, apikey), client, status=201)


class ServiceIdView(IBMView):
    def _client(self, id):
        client = Client.objects.filter(pk=parse_id("ServiceId", id, "service ID")).first()
        if client is None:
            raise NotFound(f"No such service ID: {id}.")
        return client

    @ibm_operation("getServiceId", "Service IDs", body=False, status=200)
    def get(self, request, id):
        self.need("iam/clients:read")
        client = self._client(id)
        return with_etag(serviceid_json(client, request=request), client)

    @ibm_operation("updateServiceId", "Service IDs", body=True, status=200)
    def put(self, request, id):
        self.need("iam/clients:write")
        client = self._client(id)
        data = _body(request)
        props = {k: data[k] for k in ("name", "description") if data.get(k) is not None}
        client = client_services.update_client(request.user, client.pk, version=_version(request), properties=props)
        return with_etag(serviceid_json(client), client)

    @ibm_operation("deleteServiceId", "Service IDs", body=False, status=204)
    def delete(self, request, id):
        self.need("iam/clients:delete")
        client_services.delete_client(request.user, self._client(id).pk)
        return Response(status=204)


class ServiceIdLockView(IBMView):
    def _set(self, request, id, locked):
        self.need("iam/clients:write")
        client_services.set_client_locked(request.user, parse_id("ServiceId", id, "service ID"), locked)
        return Response(status=204)

    @ibm_operation("lockServiceId", "Service IDs", body=False, status=204)
    def post(self, request, id):
        return self._set(request, id, True)

    @ibm_operation("unlockServiceId", "Service IDs", body=False, status=204)
    def delete(self, request, id):
        return self._set(request, id, False)


# --- trusted profiles and claim rules ----------------------------------------------------------------------

def profile_json(profile):
    return {
        "id": public_id("Profile", profile.pk), "entity_tag": str(profile.version), "crn": crn("profile", profile.pk),
        "name": profile.name, "description": profile.description, "email": profile.email,
        "created_at": stamp(profile.created_at), "modified_at": stamp(profile.updated_at), "iam_id": profile.iam_id,
        "account_id": account_id(), "history": [],
    }


def rule_json(rule):
    return {
        "id": public_id("ClaimRule", rule.pk), "entity_tag": str(rule.version), "created_at": stamp(rule.created_at),
        "modified_at": stamp(rule.updated_at), "name": rule.name, "type": rule.type, "realm_name": rule.realm_name,
        "expiration": rule.expiration, "cr_type": rule.cr_type, "conditions": rule.conditions,
    }


class ProfileListView(IBMView):
    @ibm_operation("listProfiles", "Trusted Profiles", body=False, status=200)
    def get(self, request):
        self.need("iam/profiles:read")
        if not request.query_params.get("account_id"):
            raise ValidationError({"account_id": ["This parameter is required."]})
        if not ensure_account(request.query_params["account_id"], for_list=True):
            return Response({"offset": 0, "limit": 0, "profiles": []})
        profiles = TrustedProfile.objects.all()
        if request.query_params.get("name"):
            profiles = profiles.filter(name=request.query_params["name"])
        return Response(page(request, [profile_json(p) for p in profiles], "profiles"))

    @ibm_operation("createProfile", "Trusted Profiles", body=True, status=201)
    def post(self, request):
        self.need("iam/profiles:write")
        data = _body(request, "name", "account_id")
        ensure_account(data["account_id"])
        profile = profile_services.save_profile(TrustedProfile(), name=data["name"],
                                                description=data.get("description", ""), email=data.get("email", ""))
        return with_etag(profile_json(profile), profile, status=201)


class ProfileLookup:
    def _profile(self, profile_id):
        profile = TrustedProfile.objects.filter(pk=parse_id("Profile", profile_id, "trusted profile")).first()
        if profile is None:
            raise NotFound(f"No such trusted profile: {profile_id}.")
        return profile


class ProfileView(ProfileLookup, IBMView):

    @ibm_operation("getProfile", "Trusted Profiles", body=False, status=200)
    def get(self, request, profile_id):
        self.need("iam/profiles:read")
        profile = self._profile(profile_id)
        return with_etag(profile_json(profile), profile)

    @ibm_operation("updateProfile", "Trusted Profiles", body=True, status=200)
    def put(self, request, profile_id):
        self.need("iam/profiles:write")
        data = _body(request)
        profile = profile_services.save_profile(self._profile(profile_id), name=data.get("name"),
                                                description=data.get("description"), email=data.get("email"),
                                                version=_version(request))
        return with_etag(profile_json(profile), profile)

    @ibm_operation("deleteProfile", "Trusted Profiles", body=False, status=204)
    def delete(self, request, profile_id):
        self.need("iam/profiles:delete")
        self._profile(profile_id).delete()
        return Response(status=204)


def _rule_fields(data):
    expiration = data.get("expiration")
    if expiration not in (None, ""):
        if isinstance(expiration, bool) or not str(expiration).isdigit() or len(str(expiration)) > 6:
            raise ValidationError({"expiration": ["Must be a number of seconds."]})
        expiration = int(expiration)
    else:
        expiration = None
    return {"type": _text(data, "type", 64), "conditions": data.get("conditions"), "name": _text(data, "name"),
            "realm_name": _text(data, "realm_name"), "cr_type": _text(data, "cr_type", 16), "expiration": expiration}


class ClaimRuleListView(ProfileLookup, IBMView):
    @ibm_operation("listClaimRules", "Claim Rules", body=False, status=200)
    def get(self, request, profile_id):
        self.need("iam/profiles:read")
        return Response({"rules": [rule_json(r) for r in self._profile(profile_id).rules.all()]})

    @ibm_operation("createClaimRule", "Claim Rules", body=True, status=201)
    def post(self, request, profile_id):
        self.need("iam/profiles:write")
        data = _body(request, "type", "conditions")
        rule = profile_services.save_claim_rule(ClaimRule(profile=self._profile(profile_id)), **_rule_fields(data))
        return with_etag(rule_json(rule), rule, status=201)


class ClaimRuleView(ProfileLookup, IBMView):
    def _rule(self, profile_id, rule_id):
        rule = ClaimRule.objects.filter(profile=self._profile(profile_id),
                                        pk=parse_id("ClaimRule", rule_id, "claim rule")).first()
        if rule is None:
            raise NotFound(f"No such claim rule: {rule_id}.")
        return rule

    @ibm_operation("getClaimRule", "Claim Rules", body=False, status=200)
    def get(self, request, profile_id, rule_id):
        self.need("iam/profiles:read")
        rule = self._rule(profile_id, rule_id)
        return with_etag(rule_json(rule), rule)

    @ibm_operation("updateClaimRule", "Claim Rules", body=True, status=200)
    def put(self, request, profile_id, rule_id):
        self.need("iam/profiles:write")
        data = _body(request, "type", "conditions")
        rule = profile_services.save_claim_rule(self._rule(profile_id, rule_id), version=_version(request),
                                                **_rule_fields(data))
        return with_etag(rule_json(rule), rule)

    @ibm_operation("deleteClaimRule", "Claim Rules", body=False, status=204)
    def delete(self, request, profile_id, rule_id):
        self.need("iam/profiles:delete")
        self._rule(profile_id, rule_id).delete()
        return Response(status=204)


# --- policies and roles -------------------------------------------------------------------------------------

ROLE_CRN = "crn:v1:portcullis:public:iam::::role:"
SCOPE_ATTRIBUTES = ("serviceName", "serviceInstance", "resourceType", "resource")


def role_crn(role):
    return ROLE_CRN + role.key


def _policy_input(data):
    """IBM's subjects/roles/resources -> (identity, role, scope), or a 400 naming the part at fault."""
    if data.get("type", "access") != "access":
        raise InvalidInput({"type": ["Only access policies are supported."]})
    # A policy must never read narrower than it grants: anything that would narrow it and that the
    # engine does not enforce is refused, never stored and ignored.
    unenforced = sorted(set(data) & {"rule", "pattern", "control", "tags"})
    if unenforced:
        raise InvalidInput({name: ["Not supported here: the policy would grant more than it says."]
                            for name in unenforced})
    subjects, roles, resources = data.get("subjects"), data.get("roles"), data.get("resources")
    try:
        [subject] = subjects
        if set(subject) != {"attributes"}:
            raise ValueError
        attributes = {a["name"]: a["value"] for a in subject["attributes"]}
        if set(attributes) != {"iam_id"} or any(a.get("operator", "stringEquals") != "stringEquals"
                                                for a in subject["attributes"]):
            raise ValueError
        iam_id = attributes["iam_id"]
        if not isinstance(iam_id, str):
            raise TypeError
    except (TypeError, ValueError, KeyError, AttributeError):
        raise InvalidInput({"subjects": ["One subject with exactly one attribute, iam_id (stringEquals), is "
                                         "required."]}) from None
    identity = find_identity(iam_id)
    if identity is None:
        raise InvalidInput({"subjects": [f"No principal or service ID has iam_id {iam_id}."]})
    try:
        [role_ref] = roles
        role_id = role_ref["role_id"]
        if not isinstance(role_id, str):
            raise TypeError
    except (TypeError, ValueError, KeyError):
        raise InvalidInput({"roles": ["Exactly one role {role_id} is supported per policy."]}) from None
    role = Role.objects.filter(key=role_id[len(ROLE_CRN):] if role_id.startswith(ROLE_CRN) else role_id).first()
    if role is None:
        raise InvalidInput({"roles": [f"No role {role_id}."]})
    try:
        [resource] = resources
        if isinstance(resource, dict) and resource.get("tags"):
            raise InvalidInput({"resources": ["Access tags (resources[].tags) are not enforced here, so a "
                                              "policy with tags would grant more than it says: refused."]})
        if set(resource) - {"attributes", "tags"}:
            raise ValueError
        found = {a["name"]: a for a in resource["attributes"]}
        values = {name: attribute["value"] for name, attribute in found.items()}
        if not all(isinstance(v, str) and v and "/" not in v for v in values.values()):
            raise TypeError
    except (TypeError, ValueError, KeyError, AttributeError):
        raise InvalidInput({"resources": ["One resource whose attributes each have a name and a non-empty "
                                          "string value (without '/') is required."]}) from None
    if "accountId" not in found:
        raise InvalidInput({"resources": ["The accountId attribute is required."]})
    ensure_account(values["accountId"])
    unknown = sorted(set(found) - {"accountId", *SCOPE_ATTRIBUTES})
    if unknown:
        raise InvalidInput({"resources": [f"Unsupported attributes: {', '.join(unknown)}."]})
    if any(a.get("operator", "stringEquals") != "stringEquals" for a in found.values()):
        raise InvalidInput({"resources": ["Only the stringEquals operator is supported."]})
    given = [name for name in SCOPE_ATTRIBUTES if name in found]
    # The scope is the path serviceName[/serviceInstance][/resourceType[/resource]]: a narrower
    # attribute never stands without the broader one it belongs to.
    if given and "serviceName" not in given:
        raise InvalidInput({"resources": ["serviceName is required with any narrower attribute."]})
    if "resource" in found and "resourceType" not in found:
        raise InvalidInput({"resources": ["resource needs resourceType."]})
    return identity, role, "/".join(values[name] for name in given)


def policy_json(request, policy):
    return {
        "id": str(policy.pk), "type": policy.type, "description": policy.description, "subjects": policy.subjects,
        "roles": [{"role_id": role_crn(policy.role), "display_name": policy.role.key,
                   "description": policy.role.description}],
        "resources": policy.resources, "state": policy.state,
        "href": request.build_absolute_uri(f"/v1/policies/{policy.pk}"),
        "created_at": stamp(policy.created_at), "created_by_id": policy.created_by,
        "last_modified_at": stamp(policy.updated_at), "last_modified_by_id": policy.last_modified_by,
        "entity_tag": str(policy.version),
    }


class PolicyListView(IBMView):
    @ibm_operation("listPolicies", "Policies", body=False, status=200)
    def get(self, request):
        self.need("iam/policies:read")
        params = request.query_params
        if not params.get("account_id"):
            raise ValidationError({"account_id": ["This parameter is required."]})
        policies = Policy.objects.select_related("role")
        if not ensure_account(params["account_id"], for_list=True):
            policies = policies.none()
        if params.get("iam_id"):
            policies = policies.filter(subject_iam_id=params["iam_id"])
        if params.get("type"):
            policies = policies.filter(type=params["type"])
        state = params.get("state") or "active"
        if state != "all":
            policies = policies.filter(state=state)
        body = page(request, [policy_json(request, p) for p in policies], "policies", "limit", "start", 50)
        if "next" in body:
            body["next"] = {"start": body["next"]}
        return Response(body)

    @ibm_operation("createPolicy", "Policies", body=True, status=201)
    def post(self, request):
        self.need("iam/policies:write")
        data = _body(request, "subjects", "roles", "resources")
        identity, role, scope = _policy_input(data)
        policy = role_services.create_policy(request.user, identity, role, scope, data["subjects"], data["resources"],
                                             description=data.get("description", ""))
        return with_etag(policy_json(request, policy), policy, status=201)


class PolicyView(IBMView):
    def _policy(self, policy_id):
        policy = Policy.objects.select_related("role").filter(pk=parse_id("Policy", policy_id, "policy")).first()
        if policy is None:
            raise NotFound(f"No such policy: {policy_id}.")
        return policy

    @ibm_operation("getPolicy", "Policies", body=False, status=200)
    def get(self, request, policy_id):
        self.need("iam/policies:read")
        policy = self._policy(policy_id)
        return with_etag(policy_json(request, policy), policy)

    @ibm_operation("replacePolicy", "Policies", body=True, status=200)
    def put(self, request, policy_id):
        self.need("iam/policies:write")
        data = _body(request, "subjects", "roles", "resources")
        identity, role, scope = _policy_input(data)
        policy = role_services.replace_policy(request.user, self._policy(policy_id).pk, _version(request), identity,
                                              role, scope, data["subjects"], data["resources"],
                                              description=data.get("description", ""))
        return with_etag(policy_json(request, policy), policy)

    @ibm_operation("updatePolicyState", "Policies", body=True, status=200)
    def patch(self, request, policy_id):
        self.need("iam/policies:write")
        data = _body(request, "state")
        policy = role_services.set_policy_state(request.user, self._policy(policy_id).pk, _version(request),
                                                data["state"], find_identity)
        return with_etag(policy_json(request, policy), policy)

    @ibm_operation("deletePolicy", "Policies", body=False, status=204)
    def delete(self, request, policy_id):
        self.need("iam/policies:delete")
        role_services.delete_policy(request.user, self._policy(policy_id).pk)
        return Response(status=204)


def _actions(role):
    return [f"{e['resource']}:{e['permission']}" for e in role.acl_entries]


class RoleListView(IBMView):
    @ibm_operation("listRoles", "Roles", body=False, status=200)
    def get(self, request):
        self.need("iam/roles:read")
        params = request.query_params
        roles = list(Role.objects.all())
        service = params.get("service_name")
        if service:
            roles = [r for r in roles if any(e["resource"].split("/")[0] in (service, "*") for e in r.acl_entries)]
        same_account = ensure_account(params.get("account_id"), for_list=True)
        custom = [{
            "id": str(r.pk), "name": r.key, "display_name": r.key, "description": r.description,
            "actions": _actions(r), "crn": role_crn(r), "account_id": account_id(),
            "service_name": service or "", "created_at": stamp(r.created_at), "last_modified_at": stamp(r.updated_at),
            "href": request.build_absolute_uri(f"/v2/roles/{r.pk}"),
        } for r in roles if not r.is_system] if same_account else []
        system = [{"display_name": r.key, "description": r.description, "actions": _actions(r), "crn": role_crn(r)}
                  for r in roles if r.is_system]
        return Response({"custom_roles": custom, "service_roles": [], "system_roles": system})


# --- account settings -----------------------------------------------------------------------------------------

SETTINGS_FIELDS = ("restrict_create_service_id", "restrict_create_platform_apikey", "mfa",
                   "session_expiration_in_seconds", "session_invalidation_in_seconds", "max_sessions_per_identity",
                   "allowed_ip_addresses")
RESTRICT_VALUES = ("RESTRICTED", "NOT_RESTRICTED", "NOT_SET")
MFA_VALUES = ("NONE", "NONE_NO_ROPC", "TOTP", "TOTP4ALL", "LEVEL1", "LEVEL2", "LEVEL3")


def _setting_problem(field, value):
    """Why ``value`` is not acceptable for ``field``, or None."""
    import ipaddress

    if not isinstance(value, str):
        return "Must be a string."
    if field.startswith("restrict_"):
        return None if value in RESTRICT_VALUES else f"Must be one of {', '.join(RESTRICT_VALUES)}."
    if field == "mfa":
        return None if value in MFA_VALUES else f"Must be one of {', '.join(MFA_VALUES)}."
    if field.endswith("_seconds"):
        if value == "NOT_SET" or (value.isdigit() and 900 <= int(value) <= 86400 * 30):
            return None
        return "Must be NOT_SET or a number of seconds between 900 and 2592000."
    if field == "max_sessions_per_identity":
        return None if value == "NOT_SET" or (value.isdigit() and 1 <= int(value) <= 10) else \
            "Must be NOT_SET or a number from 1 to 10."
    if field == "allowed_ip_addresses":
        if len(value) > 2000:
            return "At most 2000 characters."
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                return f"{part!r} is not an IP address or network."
    return None


def settings_json(settings_row):
    body = {"account_id": settings_row.account_id, "entity_tag": str(settings_row.version), "history": [],
            "user_mfa": []}
    body.update({field: getattr(settings_row, field) for field in SETTINGS_FIELDS})
    return body


class AccountSettingsView(IBMView):
    @ibm_operation("getAccountSettings", "Account Settings", body=False, status=200)
    def get(self, request, account_id):
        self.need("iam/account:read")
        ensure_account(account_id)
        settings_row = account()
        return with_etag(settings_json(settings_row), settings_row)

    @transaction.atomic
    @ibm_operation("updateAccountSettings", "Account Settings", body=True, status=200)
    def put(self, request, account_id):
        self.need("iam/account:write")
        ensure_account(account_id)
        from iam_project.locking import lock_row

        from ..models import AccountSettings

        settings_row = lock_row(AccountSettings, account().pk, _version(request), label="account settings")
        data = _body(request)
        errors = {}
        for field in SETTINGS_FIELDS:
            if data.get(field) is None:
                continue
            value, problem = data[field], _setting_problem(field, data[field])
            if problem:
                errors[field] = [problem]
            else:
                setattr(settings_row, field, str(value))
        if errors:
            raise InvalidInput(errors)
        settings_row.save()
        return with_etag(settings_json(settings_row), settings_row)
