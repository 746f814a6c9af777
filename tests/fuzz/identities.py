"""Makes the schema fuzzer's two identities and writes their API keys (0600, never printed).

Usage: python tests/fuzz/identities.py OUT.json   (DJANGO_SETTINGS_MODULE and the database as for the server)

- ``owner``: the installation's only system:owner, so the services' own rules (no self-suspension, no
  self-deletion, the last owner stays) keep it working whatever the fuzzer sends in its name;
- ``reader``: holds ``*:read`` only, through the custom role ``fuzz:reader``.

Both sign in as people do: the CI script runs the authorization code flow (sign-in form, PKCE) over
HTTP with the public, first-party, system client ``fuzz-runner`` made here, so their tokens depend on
nothing the fuzzer could disable or delete in their name (an API key, a client). The file (0600, never
printed) holds their passwords and the client's id.
"""

import json
import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iam_project.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from clients.services import create_client  # noqa: E402
from iam_project.context import request_context  # noqa: E402
from principals.services import change_own_password, create_principal  # noqa: E402
from roles.models import RoleBinding  # noqa: E402
from roles.services import bind_role, put_role  # noqa: E402

OWNER, READER = "fuzz-owner@example.com", "fuzz-reader@example.com"
REDIRECT_URI = "http://127.0.0.1/fuzz/callback"  # never followed: the script reads the code from the redirect


def main(out):
    first = secrets.token_urlsafe(24)
    with open(os.devnull, "w") as quiet:
        call_command("bootstrap", email=OWNER, password=first, stdout=quiet)
    if RoleBinding.objects.owners().count() != 1:
        raise SystemExit("fuzz: the database must be fresh (exactly one owner: the fuzzing one).")
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.get(email=OWNER)
    with request_context(actor="system", request_id="fuzz-identities"), transaction.atomic():
        # The owner has signed in and changed its first password, as a person would before using the API.
        owner_password = secrets.token_urlsafe(24)
        owner = change_own_password(owner, first, owner_password)
        role, _ = put_role(None, "fuzz:reader", "Reads everything, changes nothing (schema fuzzer).",
                           [{"resource": "*", "permission": "read"}])
        reader_password = secrets.token_urlsafe(24)
        reader = create_principal(None, READER, properties={"name": "Fuzz reader"}, password=reader_password)
        bind_role(None, reader, role)
        runner = create_client(None, {"name": "fuzz-runner", "grantTypes": ["authorization_code"],
                                      "redirectUris": [REDIRECT_URI], "scopes": ["openid", "*:*"],
                                      "clientType": "public", "firstParty": True})
        # A system client: no surface can change or delete it, so the owner's run cannot end the tokens
        # issued through it (deleting a client revokes them, as it should).
        type(runner).objects.filter(pk=runner.pk).update(is_system=True)
    path = Path(out)
    path.touch(mode=0o600)
    path.write_text(json.dumps({
        "owner": {"email": OWNER, "password": owner_password},
        "reader": {"email": READER, "password": reader_password},
        "client": {"id": runner.client_id, "redirect_uri": REDIRECT_URI},
    }))
    print(f"fuzz: identities ready (owner {owner.iam_id}, reader {reader.iam_id})")


if __name__ == "__main__":
    main(sys.argv[1])
