"""/v1/policies and /v2/policies: access policies, each one a role binding of the platform (IBM's v2 shape:
``subject``, ``control.grant.roles``, ``resource`` and a time-based ``rule`` the binding's conditions enforce)."""

from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from .. import services
from ..models import Policy
from .base import IF_MATCH, IF_MATCH_OPTIONAL, IBMView, ensure_account, ibm_operation, parse_id, permissions
from .pagination import KeysetPage
from .serializers import (CreatePolicySerializer, CreateV2PolicySerializer, PolicyListQuerySerializer,
                          PolicyListSerializer, PolicySerializer, ReplacePolicySerializer, UpdatePolicyStateSerializer,
                          V2PolicyListQuerySerializer, V2PolicyListSerializer, V2PolicySerializer)

TAG = "Policies"
READ, WRITE, DELETE = "iam/policies:read", "iam/policies:write", "iam/policies:delete"


def policy_pk(policy_id):
    return one_policy(policy_id, v2=False).pk


def terms(data):
    """The validated body as the policy services take it."""
    return dict(identity=data["identity"], subject_iam_id=data["subject_iam_id"], role=data["role"],
                scope=data["scope"], subjects=data["subjects"], resources=data["resources"], type=data["type"],
                description=data.get("description") or "")


def v2_terms(data):
    """The validated v2 body as the policy services take it (subject and resource kept in IBM's v2 shape)."""
    return dict(identity=data["identity"], subject_iam_id=data["subject_iam_id"], role=data["role"],
                scope=data["scope"], subjects=[data["subject"]], resources=[data["resource"]], type=data["type"],
                description=data.get("description") or "", v2=True, pattern=data.get("pattern") or "",
                rule=data.get("rule"))


def one_policy(policy_id, v2):
    """The policy of this version of the API, or an IBM 404."""
    policy = Policy.objects.select_related("role").filter(pk=parse_id("Policy", policy_id, "policy"), v2=v2).first()
    if policy is None:
        raise NotFound(f"No such policy: {policy_id}.")
    return policy


def listed_policies(params, v2):
    """The policies of one shape (v1 or v2) that a list's query asks for: none for another account."""
    policies = Policy.objects.select_related("role").filter(v2=v2)
    if not ensure_account(params["account_id"], for_list=True):
        return policies.none()
    if params.get("iam_id"):
        policies = policies.filter(subject_iam_id=params["iam_id"])
    if params.get("type"):
        policies = policies.filter(type=params["type"])
    if params["state"] != "all":
        policies = policies.filter(state=params["state"])
    return policies


class PolicyListView(IBMView):
    """Access policies, paged by keyset in creation order; each one is a role binding of source policy."""

    required_permissions = permissions(get=READ, post=WRITE)

    @ibm_operation("listPolicies", TAG, query=PolicyListQuerySerializer, response=PolicyListSerializer)
    def get(self, request):
        params = self.query(PolicyListQuerySerializer)
        page = KeysetPage(request, "policies", ("created_at", "id"), size_param="limit", token_param="start",
                          default_size=50, size=params.get("limit"), token=params.get("start"))
        policies = listed_policies(params, v2=False)
        body = page.body("policies", page.rows(policies))
        if "next" in body:
            body["next"] = {"start": body["next"]}
        return self.respond(PolicyListSerializer, body)

    @ibm_operation("createPolicy", TAG, request=CreatePolicySerializer, response=PolicySerializer, status=201)
    def post(self, request):
        policy = services.create_policy(request.user, **terms(self.body(CreatePolicySerializer)))
        return self.respond(PolicySerializer, policy, status=201)


class PolicyView(IBMView):
    """One access policy; changing it changes its binding, under the no-escalation rule."""

    required_permissions = permissions(get=READ, put=WRITE, patch=WRITE, delete=DELETE)

    @ibm_operation("getPolicy", TAG, response=PolicySerializer)
    def get(self, request, policy_id):
        return self.respond(PolicySerializer, one_policy(policy_id, v2=False))

    @ibm_operation("replacePolicy", TAG, request=ReplacePolicySerializer, headers=[IF_MATCH],
                   response=PolicySerializer)
    def put(self, request, policy_id):
        data = self.body(ReplacePolicySerializer)
        policy = services.replace_policy(request.user, one_policy(policy_id, v2=False).pk, self.if_match(),
                                         **terms(data))
        return self.respond(PolicySerializer, policy)

    @ibm_operation("updatePolicyState", TAG, request=UpdatePolicyStateSerializer, headers=[IF_MATCH],
                   response=PolicySerializer)
    def patch(self, request, policy_id):
        pk = policy_pk(policy_id)
        data = self.body(UpdatePolicyStateSerializer)
        policy = services.set_policy_state(request.user, pk, self.if_match(), data["state"])
        return self.respond(PolicySerializer, policy)

    @ibm_operation("deletePolicy", TAG, headers=[IF_MATCH_OPTIONAL], status=204)
    def delete(self, request, policy_id):
        services.delete_policy(request.user, policy_pk(policy_id), self.if_match(required=False))
        return Response(status=204)


class V2PolicyListView(IBMView):
    """Access policies in IBM's v2 shape, paged by keyset in creation order."""

    required_permissions = permissions(get=READ, post=WRITE)

    @ibm_operation("listV2Policies", TAG, query=V2PolicyListQuerySerializer, response=V2PolicyListSerializer)
    def get(self, request):
        params = self.query(V2PolicyListQuerySerializer)
        page = KeysetPage(request, "v2policies", ("created_at", "id"), size_param="limit", token_param="start",
                          default_size=50, size=params.get("limit"), token=params.get("start"))
        policies = listed_policies(params, v2=True)
        rows = page.rows(policies)
        body = {"limit": page.limit, "policies": rows}
        if page.next:
            body["next"] = {"start": page.next}
        return self.respond(V2PolicyListSerializer, body)

    @ibm_operation("createV2Policy", TAG, request=CreateV2PolicySerializer, response=V2PolicySerializer, status=201)
    def post(self, request):
        policy = services.create_policy(request.user, **v2_terms(self.body(CreateV2PolicySerializer)))
        return self.respond(V2PolicySerializer, policy, status=201)


class V2PolicyView(IBMView):
    """One access policy in IBM's v2 shape."""

    required_permissions = permissions(get=READ, put=WRITE, delete=DELETE)

    @ibm_operation("getV2Policy", TAG, response=V2PolicySerializer)
    def get(self, request, id):
        return self.respond(V2PolicySerializer, one_policy(id, v2=True))

    @ibm_operation("replaceV2Policy", TAG, request=CreateV2PolicySerializer, headers=[IF_MATCH],
                   response=V2PolicySerializer)
    def put(self, request, id):
        data = self.body(CreateV2PolicySerializer)
        policy = services.replace_policy(request.user, one_policy(id, v2=True).pk, self.if_match(), **v2_terms(data))
        return self.respond(V2PolicySerializer, policy)

    @ibm_operation("deleteV2Policy", TAG, headers=[IF_MATCH_OPTIONAL], status=204)
    def delete(self, request, id):
        services.delete_policy(request.user, one_policy(id, v2=True).pk, self.if_match(required=False))
        return Response(status=204)
