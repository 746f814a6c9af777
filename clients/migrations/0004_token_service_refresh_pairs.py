"""Unlink access tokens from their own refresh token, as /identity/token stored them before it went
through the OAuth server.

The old code set an access token's ``source_refresh_token`` to the refresh token issued *with* it;
django-oauth-toolkit reads that link as "the access token this refresh token was exchanged for", so
rotating such a refresh token would hand back the (deleted) old access token. Cleared, the pair is
what the server itself stores, and the refresh token rotates like any other.
"""

from django.db import migrations
from django.db.models import F
from oauth2_provider.settings import oauth2_settings


def unlink_self_paired_access_tokens(apps, schema_editor):
    AccessToken = apps.get_model(*oauth2_settings.ACCESS_TOKEN_MODEL.split("."))
    AccessToken.objects.filter(source_refresh_token__access_token=F("pk")).update(source_refresh_token=None)


class Migration(migrations.Migration):

    dependencies = [
        ("clients", "0003_client_locked_apikey"),
        migrations.swappable_dependency(oauth2_settings.ACCESS_TOKEN_MODEL),
        migrations.swappable_dependency(oauth2_settings.REFRESH_TOKEN_MODEL),
    ]

    operations = [
        migrations.RunPython(unlink_self_paired_access_tokens, migrations.RunPython.noop),
    ]
