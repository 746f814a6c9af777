"""Revoking tokens in bulk: every token of an identity at once, and every token one authorization code issued."""

import logging

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

import audit

logger = logging.getLogger(__name__)


def _owned_by(identity, application=None):
    """The token rows of ``identity``: a principal's are those issued for it through any client; a
    client's are those issued to it (its own and those of the principals who signed in to it)."""
    if identity.identity_type == "principal":
        owned = Q(user=identity)
    else:
        owned = Q(application=identity)
    if application is not None:
        owned &= Q(application=application)
    return owned


def _revoke_refresh_tokens(queryset):
    """Mark the live refresh tokens of ``queryset`` revoked in one statement; returns how many."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return queryset.update(revoked=now, updated=now)
    except IntegrityError:
        # (token_checksum, revoked) is unique: two live rows with one checksum cannot share a
        # timestamp. django-oauth-toolkit falls back to one row at a time for the same reason.
        count = 0
        for token in queryset:
            token.revoke()
            count += 1
        return count


def revoke_tokens(identity, reason, application=None):
    """Revoke every access and refresh token of ``identity`` (a principal or a client), with its ID
    tokens and pending authorization codes, so that nothing issued before this moment works.

    ``application`` limits it to what was issued through that client (RP-initiated logout).
    Side effects, in the caller's transaction: deletes the access tokens, ID tokens and codes,
    marks the refresh tokens revoked (kept, so that a replay is recognised), and records one
    ``token.revoked`` audit event on the identity with the counts and ``reason`` when anything
    was revoked — never a token value. Returns the number of access and refresh tokens revoked.
    """
    owned = _owned_by(identity, application)
    with transaction.atomic():
        refresh = _revoke_refresh_tokens(get_refresh_token_model().objects.filter(owned, revoked__isnull=True))
        access, _ = get_access_token_model().objects.filter(owned).delete()
        id_tokens, _ = get_id_token_model().objects.filter(owned).delete()
        grants = get_grant_model().objects.filter(owned)
        # Exchanged codes are kept a while to recognise a second use (clients.oauth); only the
        # ones not yet exchanged count as revoked.
        codes = grants.exclude(claims__contains='"consumed":').count()
        grants.delete()
        revoked = access + refresh
        if revoked or id_tokens or codes:
            details = {"reason": reason, "count": revoked, "accessTokens": access, "refreshTokens": refresh,
                       "idTokens": id_tokens, "authorizationCodes": codes}
            if application is not None:
                details["clientId"] = application.client_id
            audit.record("token.revoked", identity, details=details)
        logger.info("tokens.revoked iam_id=%s reason=%s count=%s", identity.iam_id, reason, revoked)
    return revoked


def revoke_issued_from_code(client, issued, reason):
    """Revoke what one authorization code issued (RFC 6749 §4.1.2: a code used twice loses its
    tokens). ``issued`` is ``{"accessToken": pk, "family": uuid}`` as recorded at the exchange, or
    None when the first exchange has not stored its tokens yet. Side effects: deletes the access
    token, revokes the refresh token family and records one ``token.revoked`` event on the client
    when anything was revoked. Returns the number of tokens revoked."""
    if not issued:
        return 0
    AccessToken, RefreshToken = get_access_token_model(), get_refresh_token_model()
    family = issued.get("family")
    with transaction.atomic():
        members = RefreshToken.objects.filter(token_family=family) if family else RefreshToken.objects.none()
        access_ids = set(members.exclude(access_token__isnull=True).values_list("access_token_id", flat=True))
        if issued.get("accessToken"):
            access_ids.add(issued["accessToken"])
        live = AccessToken.objects.filter(pk__in=access_ids)
        revoked = live.count() + members.filter(revoked__isnull=True).count()
        if family:
            RefreshToken.revoke_family(family)  # marks the family revoked and deletes its access tokens
        live.delete()  # an access token without a refresh token
        if revoked:
            audit.record("token.revoked", client, details={"reason": reason, "count": revoked})
        logger.info("tokens.revoked client_id=%s reason=%s count=%s", client.client_id, reason, revoked)
    return revoked


def revoke_api_key_tokens(key, reason):
    """Revoke what ``key`` issued (ApiKeyIssue): its access tokens and every refresh token of the
    families they began, with the access tokens those refreshed into. One ``token.revoked`` event on
    the key when anything was live. Returns the number revoked."""
    from .models import ApiKeyIssue

    issues = ApiKeyIssue.objects.filter(api_key=key)
    families = [f for f in issues.values_list("token_family", flat=True) if f]
    access_ids = [a for a in issues.values_list("access_token_id", flat=True) if a]
    with transaction.atomic():
        refresh = _revoke_refresh_tokens(get_refresh_token_model().objects.filter(
            token_family__in=families, revoked__isnull=True)) if families else 0
        access, _ = get_access_token_model().objects.filter(
            Q(id__in=access_ids) | Q(source_refresh_token__token_family__in=families)).delete() \
            if (access_ids or families) else (0, {})
        if refresh or access:
            audit.record("token.revoked", key, details={"reason": reason, "count": refresh + access,
                                                        "accessTokens": access, "refreshTokens": refresh})
        logger.info("tokens.revoked api_key=%s reason=%s count=%s", key.pk, reason, refresh + access)
    return refresh + access
