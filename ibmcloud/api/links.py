"""/v1/profiles/{profile-id}/links and /identities: compute resources linked to a trusted profile and the
identities allowed to take it on — stored and shown (nothing signs in as a profile here, so neither grants
anything)."""

from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from .. import services
from ..models import ProfileIdentity, ProfileLink
from .base import IF_MATCH, IBMView, ibm_operation, parse_id, permissions
from .profiles import find_profile, profile_pk
from .serializers import (CreateProfileLinkSerializer, DeleteLinksQuerySerializer, ProfileIdentitiesSerializer,
                          ProfileIdentitySerializer, ProfileLinkListSerializer, ProfileLinkSerializer,
                          SetProfileIdentitiesSerializer, SetProfileIdentitySerializer)

LINKS, IDENTITIES = "Trusted Profile Links", "Trusted Profile Identities"
READ, WRITE, DELETE = "iam/profiles:read", "iam/profiles:write", "iam/profiles:delete"


def find_link(profile_id, link_id):
    link = ProfileLink.objects.filter(profile_id=profile_pk(profile_id),
                                      pk=parse_id("ProfileLink", link_id, "link")).first()
    if link is None:
        raise NotFound(f"No such link: {link_id}.")
    return link


class ProfileLinkListView(IBMView):
    required_permissions = permissions(get=READ, post=WRITE, delete=DELETE)

    @ibm_operation("listLinks", LINKS, response=ProfileLinkListSerializer)
    def get(self, request, profile_id):
        links = ProfileLink.objects.filter(profile_id=profile_pk(profile_id))[:100]
        return self.respond(ProfileLinkListSerializer, {"links": list(links)})

    @ibm_operation("createLink", LINKS, request=CreateProfileLinkSerializer, response=ProfileLinkSerializer,
                   status=201)
    def post(self, request, profile_id):
        pk = profile_pk(profile_id)
        data = self.body(CreateProfileLinkSerializer)
        link = services.create_profile_link(request.user, pk, data.get("name") or "", data["cr_type"], data["link"])
        return self.respond(ProfileLinkSerializer, link, status=201)

    @ibm_operation("deleteLinkByParameters", LINKS, query=DeleteLinksQuerySerializer, status=204)
    def delete(self, request, profile_id):
        pk = profile_pk(profile_id)
        match = self.query(DeleteLinksQuerySerializer)
        services.delete_profile_links(request.user, pk, **match)
        return Response(status=204)


class ProfileLinkView(IBMView):
    required_permissions = permissions(get=READ, delete=DELETE)

    @ibm_operation("getLink", LINKS, response=ProfileLinkSerializer)
    def get(self, request, profile_id, link_id):
        return self.respond(ProfileLinkSerializer, find_link(profile_id, link_id))

    @ibm_operation("deleteLink", LINKS, status=204)
    def delete(self, request, profile_id, link_id):
        link = find_link(profile_id, link_id)
        services.delete_profile_links(request.user, link.profile_id, link_pk=link.pk)
        return Response(status=204)


class ProfileIdentitiesView(IBMView):
    required_permissions = permissions(get=READ, put=WRITE)

    def answer(self, profile):
        response = self.respond(ProfileIdentitiesSerializer, {"identities": list(profile.identities.all()[:100])})
        response["ETag"] = str(profile.version)
        return response

    @ibm_operation("getProfileIdentities", IDENTITIES, response=ProfileIdentitiesSerializer)
    def get(self, request, profile_id):
        return self.answer(find_profile(profile_id))

    @ibm_operation("setProfileIdentities", IDENTITIES, request=SetProfileIdentitiesSerializer, headers=[IF_MATCH],
                   response=ProfileIdentitiesSerializer)
    def put(self, request, profile_id):
        pk = profile_pk(profile_id)
        version = self.if_match()
        data = self.body(SetProfileIdentitiesSerializer)
        return self.answer(services.set_profile_identities(request.user, pk, version, data["identities"]))


class ProfileIdentityTypeView(IBMView):
    required_permissions = permissions(post=WRITE)

    @ibm_operation("setProfileIdentity", IDENTITIES, request=SetProfileIdentitySerializer,
                   response=ProfileIdentitySerializer)
    def post(self, request, profile_id, identity_type):
        pk = profile_pk(profile_id)
        data = self.body(SetProfileIdentitySerializer)
        found = services.set_profile_identity(request.user, pk, identity_type, data)
        return self.respond(ProfileIdentitySerializer, found)


class ProfileIdentityView(IBMView):
    required_permissions = permissions(get=READ, delete=DELETE)

    @ibm_operation("getProfileIdentity", IDENTITIES, response=ProfileIdentitySerializer)
    def get(self, request, profile_id, identity_type, identifier_id):
        found = ProfileIdentity.objects.filter(profile_id=profile_pk(profile_id), type=identity_type,
                                               identifier=identifier_id).first()
        if found is None:
            raise NotFound("No such identity of this profile.")
        return self.respond(ProfileIdentitySerializer, found)

    @ibm_operation("deleteProfileIdentity", IDENTITIES, status=204)
    def delete(self, request, profile_id, identity_type, identifier_id):
        services.delete_profile_identity(request.user, profile_pk(profile_id), identity_type, identifier_id)
        return Response(status=204)
