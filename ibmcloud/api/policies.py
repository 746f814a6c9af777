"""/v1/policies: access policies, each one a role binding of the platform."""

from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from .. import services
from ..models import Policy
from .base import IF_MATCH, IF_MATCH_OPTIONAL, IBMView, ensure_account, ibm_operation, parse_id, permissions
from .pagination import KeysetPage
from .serializers import (CreatePolicySerializer, PolicyListQuerySerializer, PolicyListSerializer,
                          PolicySerializer, ReplacePolicySerializer, UpdatePolicyStateSerializer)

TAG = "Policies"
READ, WRITE, DELETE = "iam/policies:read", "iam/policies:write", "iam/policies:delete"


def policy_pk(policy_id):
    pk = parse_id("Policy", policy_id, "policy")
    if not Policy.objects.filter(pk=pk).exists():
        raise NotFound(f"No such policy: {policy_id}.")
    return pk


def terms(data):
    """The validated body as the policy services take it."""
    return dict(identity=data["identity"], role=data["role"], scope=data["scope"], subjects=data["subjects"],
                resources=data["resources"], type=data["type"], description=data.get("description") or "")


class PolicyListView(IBMView):
    """Access policies, paged by keyset in creation order; each one is a role binding of source policy."""

    required_permissions = permissions(get=READ, post=WRITE)

    @ibm_operation("listPolicies", TAG, query=PolicyListQuerySerializer, response=PolicyListSerializer)
    def get(self, request):
        params = self.query(PolicyListQuerySerializer)
        page = KeysetPage(request, "policies", ("created_at", "id"), size_param="limit", token_param="start",
                          default_size=50, size=params.get("limit"), token=params.get("start"))
        policies = Policy.objects.select_related("role")
        if not ensure_account(params["account_id"], for_list=True):
            policies = policies.none()
        if params.get("iam_id"):
            policies = policies.filter(subject_iam_id=params["iam_id"])
        if params.get("type"):
            policies = policies.filter(type=params["type"])
        if params["state"] != "all":
            policies = policies.filter(state=params["state"])
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
        policy = Policy.objects.select_related("role").filter(pk=parse_id("Policy", policy_id, "policy")).first()
        if policy is None:
            raise NotFound(f"No such policy: {policy_id}.")
        return self.respond(PolicySerializer, policy)

    @ibm_operation("replacePolicy", TAG, request=ReplacePolicySerializer, headers=[IF_MATCH],
                   response=PolicySerializer)
    def put(self, request, policy_id):
        data = self.body(ReplacePolicySerializer)
        policy = services.replace_policy(request.user, policy_pk(policy_id), self.if_match(), **terms(data))
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
