"""The password hasher: Argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1), tunable by setting.

Django's own Argon2 hasher (m = 100 MiB, p = 8) costs ~150 ms a check on one core — fourteen sign-ins a
second on the whole machine — for no gain OWASP recognises over its recommended minimum. Same algorithm
name ("argon2"), so a hash made with other parameters (Django's defaults, or an older setting) is
recognised, verified with its own parameters, and re-hashed with these at the next successful sign-in
(``must_update``; Django's ``check_password`` calls the setter). PBKDF2 hashes are upgraded the same way.
"""

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Settings ``IAM_ARGON2 = {"TIME_COST": 2, "MEMORY_KIB": 19456, "PARALLELISM": 1}``."""

    def _param(self, name, default):
        return int(getattr(settings, "IAM_ARGON2", {}).get(name, default))

    @property
    def time_cost(self):
        return self._param("TIME_COST", 2)

    @property
    def memory_cost(self):
        return self._param("MEMORY_KIB", 19456)

    @property
    def parallelism(self):
        return self._param("PARALLELISM", 1)
