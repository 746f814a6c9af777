"""Rotate the OIDC / access-token signing key (var/oidc): the current key becomes the previous one."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from iam_project.signing import rotate


class Command(BaseCommand):
    help = ("Generate a new RS256 signing key. The JWKS keeps publishing the previous one, so tokens "
            "signed before the rotation still verify until they expire. Restart the web processes "
            "afterwards so that they sign with the new key.")

    def handle(self, *args, **options):
        import os

        if os.environ.get("IAM_OIDC_PRIVATE_KEY"):
            raise CommandError("The signing key comes from IAM_OIDC_PRIVATE_KEY: rotate it there "
                               "(move the old value to IAM_OIDC_PREVIOUS_KEY).")
        kid = rotate(settings.VAR_DIR)
        self.stdout.write(f"New signing key {kid}; the previous key stays in the JWKS. Restart the web processes.")
