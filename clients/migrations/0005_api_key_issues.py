"""What each API key issued (ApiKeyIssue). Refresh-token families the token service issued before this
record existed are tied to every API key their principal had: disabling or deleting any of them ends
the family, and it refreshes only while all of them can be used — never wider than before."""

import django.db.models.deletion
from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings

TOKEN_SERVICE_CLIENT_NAME = "IBM Cloud IAM token service"


def tie_existing_families(apps, schema_editor):
    RefreshToken = apps.get_model(*oauth2_settings.REFRESH_TOKEN_MODEL.split("."))
    ApiKey = apps.get_model("clients", "ApiKey")
    ApiKeyIssue = apps.get_model("clients", "ApiKeyIssue")
    live = RefreshToken.objects.filter(application__name=TOKEN_SERVICE_CLIENT_NAME, application__is_system=True,
                                       revoked__isnull=True, token_family__isnull=False)
    for user_id, family in live.values_list("user_id", "token_family").distinct():
        for key_id in ApiKey.objects.filter(principal_id=user_id).values_list("pk", flat=True):
            ApiKeyIssue.objects.create(api_key_id=key_id, token_family=family)


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0004_token_service_refresh_pairs'),
        ("oauth2_provider", "0011_refreshtoken_token_family"),  # the refresh token's family
    ]

    operations = [
        migrations.CreateModel(
            name='ApiKeyIssue',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('access_token_id', models.BigIntegerField(blank=True, null=True)),
                ('token_family', models.UUIDField(blank=True, db_index=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('api_key', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='issues', to='clients.apikey')),
            ],
            options={
                'ordering': ('created_at', 'id'),
            },
        ),
        migrations.RunPython(tie_existing_families, migrations.RunPython.noop),
    ]
