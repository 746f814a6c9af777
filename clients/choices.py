"""Enumerations of the clients app."""

from django.db import models


class GrantTypeChoices(models.TextChoices):
    AUTHORIZATION_CODE = "authorization_code", "Authorization code (with PKCE)"
    CLIENT_CREDENTIALS = "client_credentials", "Client credentials"
    REFRESH_TOKEN = "refresh_token", "Refresh token"
    API_KEY = "urn:ibm:params:oauth:grant-type:apikey", "API key"


# Our grant names (RFC 6749 spelling) to django-oauth-toolkit's.
DOT_GRANT_TYPES = {
    GrantTypeChoices.AUTHORIZATION_CODE: "authorization-code",
    GrantTypeChoices.CLIENT_CREDENTIALS: "client-credentials",
}
