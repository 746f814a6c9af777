"""Trusted profiles, claim rules and policies become the IBM face's models. State only: the tables the
principals and roles apps made stay where they are (with their rows) until 0003 renames them."""

import uuid

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("ibmcloud", "0001_initial"),
        ("principals", "0003_security_stamp"),
        ("roles", "0005_resource_server_role"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TrustedProfile",
                    fields=[
                        ("version", models.PositiveIntegerField(default=1, editable=False)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True,
                                                serialize=False)),
                        ("name", models.CharField(max_length=255)),
                        ("description", models.TextField(blank=True, default="", max_length=2000)),
                        ("email", models.EmailField(blank=True, default="", max_length=254)),
                        ("iam_id", models.CharField(editable=False, max_length=64, unique=True)),
                    ],
                    options={"ordering": ("name", "id"), "db_table": "principals_trustedprofile"},
                ),
                migrations.CreateModel(
                    name="ClaimRule",
                    fields=[
                        ("version", models.PositiveIntegerField(default=1, editable=False)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True,
                                                serialize=False)),
                        ("name", models.CharField(blank=True, default="", max_length=255)),
                        ("type", models.CharField(max_length=64)),
                        ("realm_name", models.CharField(blank=True, default="", max_length=255)),
                        ("cr_type", models.CharField(blank=True, default="", max_length=16)),
                        ("expiration", models.PositiveIntegerField(default=43200)),
                        ("conditions", models.JSONField(default=list)),
                        ("profile", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                      related_name="rules", to="ibmcloud.trustedprofile")),
                    ],
                    options={"ordering": ("created_at", "id"), "db_table": "principals_claimrule"},
                ),
                migrations.CreateModel(
                    name="Policy",
                    fields=[
                        ("version", models.PositiveIntegerField(default=1, editable=False)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True,
                                                serialize=False)),
                        ("type", models.CharField(default="access", max_length=32)),
                        ("description", models.TextField(blank=True, default="", max_length=2000)),
                        ("state", models.CharField(default="active", max_length=16)),
                        ("subject_iam_id", models.CharField(db_index=True, max_length=64)),
                        ("subjects", models.JSONField(default=list)),
                        ("resources", models.JSONField(default=list)),
                        ("scope", models.CharField(blank=True, default="", max_length=255)),
                        ("created_by", models.CharField(default="system", editable=False, max_length=64)),
                        ("last_modified_by", models.CharField(default="system", editable=False, max_length=64)),
                        ("binding", models.OneToOneField(blank=True, null=True,
                                                         on_delete=django.db.models.deletion.SET_NULL,
                                                         related_name="policy", to="roles.rolebinding")),
                        ("role", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                                   related_name="policies", to="roles.role")),
                    ],
                    options={"verbose_name_plural": "policies", "ordering": ("created_at", "id"),
                             "db_table": "roles_policy"},
                ),
            ],
            database_operations=[],
        ),
    ]
