"""/v1/profiles: trusted profiles and their claim rules."""

from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from .. import services
from ..models import ClaimRule, TrustedProfile
from .base import IF_MATCH, IF_MATCH_OPTIONAL, IBMView, ensure_account, ibm_operation, parse_id, permissions
from .pagination import KeysetPage
from .serializers import (ClaimRuleListSerializer, ClaimRuleSerializer, CreateClaimRuleSerializer,
                          CreateProfileSerializer, ProfileListQuerySerializer, ProfileListSerializer,
                          ProfileSerializer, UpdateClaimRuleSerializer, UpdateProfileSerializer)

PROFILES, RULES = "Trusted Profiles", "Claim Rules"
READ, WRITE, DELETE = "iam/profiles:read", "iam/profiles:write", "iam/profiles:delete"


def profile_pk(profile_id):
    """The profile named in the path (404 when there is none)."""
    pk = parse_id("Profile", profile_id, "trusted profile")
    if not TrustedProfile.objects.filter(pk=pk).exists():
        raise NotFound(f"No such trusted profile: {profile_id}.")
    return pk


def find_profile(profile_id):
    profile = TrustedProfile.objects.filter(pk=parse_id("Profile", profile_id, "trusted profile")).first()
    if profile is None:
        raise NotFound(f"No such trusted profile: {profile_id}.")
    return profile


def find_rule(profile_id, rule_id):
    rule = ClaimRule.objects.filter(profile_id=profile_pk(profile_id),
                                    pk=parse_id("ClaimRule", rule_id, "claim rule")).first()
    if rule is None:
        raise NotFound(f"No such claim rule: {rule_id}.")
    return rule


class ProfileListView(IBMView):
    """Trusted profiles, paged by keyset in name order."""

    required_permissions = permissions(get=READ, post=WRITE)

    @ibm_operation("listProfiles", PROFILES, query=ProfileListQuerySerializer, response=ProfileListSerializer)
    def get(self, request):
        params = self.query(ProfileListQuerySerializer)
        page = KeysetPage(request, "profiles", ("name", "id"), size=params.get("pagesize"),
                          token=params.get("pagetoken"))
        if not ensure_account(params["account_id"], for_list=True):
            return self.respond(ProfileListSerializer, {"offset": 0, "limit": 0, "profiles": []})
        profiles = TrustedProfile.objects.all()
        if params.get("name"):
            profiles = profiles.filter(name=params["name"])
        return self.respond(ProfileListSerializer, page.body("profiles", page.rows(profiles)))

    @ibm_operation("createProfile", PROFILES, request=CreateProfileSerializer, response=ProfileSerializer,
                   status=201)
    def post(self, request):
        data = self.body(CreateProfileSerializer)
        ensure_account(data["account_id"])
        profile = services.create_profile(request.user, data["name"], data.get("description") or "",
                                          data.get("email") or "")
        return self.respond(ProfileSerializer, profile, status=201)


class ProfileView(IBMView):
    """One trusted profile; If-Match is required to update and honoured (when sent) to delete."""

    required_permissions = permissions(get=READ, put=WRITE, delete=DELETE)

    @ibm_operation("getProfile", PROFILES, response=ProfileSerializer)
    def get(self, request, profile_id):
        return self.respond(ProfileSerializer, find_profile(profile_id))

    @ibm_operation("updateProfile", PROFILES, request=UpdateProfileSerializer, headers=[IF_MATCH],
                   response=ProfileSerializer)
    def put(self, request, profile_id):
        pk = profile_pk(profile_id)
        data = self.body(UpdateProfileSerializer)
        profile = services.update_profile(request.user, pk, self.if_match(), name=data.get("name"),
                                          description=data.get("description"), email=data.get("email"))
        return self.respond(ProfileSerializer, profile)

    @ibm_operation("deleteProfile", PROFILES, headers=[IF_MATCH_OPTIONAL], status=204)
    def delete(self, request, profile_id):
        services.delete_profile(request.user, profile_pk(profile_id), self.if_match(required=False))
        return Response(status=204)


class ClaimRuleListView(IBMView):
    """The claim rules of a profile, oldest first."""

    required_permissions = permissions(get=READ, post=WRITE)

    @ibm_operation("listClaimRules", RULES, response=ClaimRuleListSerializer)
    def get(self, request, profile_id):
        rules = ClaimRule.objects.filter(profile_id=profile_pk(profile_id)).order_by("created_at", "id")
        return self.respond(ClaimRuleListSerializer, {"rules": rules})

    @ibm_operation("createClaimRule", RULES, request=CreateClaimRuleSerializer, response=ClaimRuleSerializer,
                   status=201)
    def post(self, request, profile_id):
        pk = profile_pk(profile_id)
        rule = services.create_claim_rule(request.user, pk, **self.body(CreateClaimRuleSerializer))
        return self.respond(ClaimRuleSerializer, rule, status=201)


class ClaimRuleView(IBMView):
    """One claim rule; If-Match is required to update and honoured (when sent) to delete."""

    required_permissions = permissions(get=READ, put=WRITE, delete=DELETE)

    @ibm_operation("getClaimRule", RULES, response=ClaimRuleSerializer)
    def get(self, request, profile_id, rule_id):
        return self.respond(ClaimRuleSerializer, find_rule(profile_id, rule_id))

    @ibm_operation("updateClaimRule", RULES, request=UpdateClaimRuleSerializer, headers=[IF_MATCH],
                   response=ClaimRuleSerializer)
    def put(self, request, profile_id, rule_id):
        rule = find_rule(profile_id, rule_id)
        data = self.body(UpdateClaimRuleSerializer)
        rule = services.update_claim_rule(request.user, rule.profile_id, rule.pk, self.if_match(), **data)
        return self.respond(ClaimRuleSerializer, rule)

    @ibm_operation("deleteClaimRule", RULES, headers=[IF_MATCH_OPTIONAL], status=204)
    def delete(self, request, profile_id, rule_id):
        rule = find_rule(profile_id, rule_id)
        services.delete_claim_rule(request.user, rule.profile_id, rule.pk, self.if_match(required=False))
        return Response(status=204)
