"""The IBM face is a facade: the core apps import nothing of it, and what it needs at the platform's first
start it makes by listening, not by being called."""

import ast
import importlib
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from ibmcloud.models import AccountSettings

ROOT = Path(__file__).resolve().parents[2]
CORE = ("principals", "clients", "roles", "audit", "jit", "iam_project")
# The project's URL map and settings name every app by design.
WIRING = {ROOT / "iam_project" / "urls.py", ROOT / "iam_project" / "settings.py"}


def imported_modules(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


def test_the_core_apps_import_nothing_of_the_ibm_face():
    offenders = [f"{path.relative_to(ROOT)}: {module}" for app in CORE for path in sorted((ROOT / app).rglob("*.py"))
                 if path not in WIRING for module in imported_modules(path)
                 if module == "ibmcloud" or module.startswith("ibmcloud.")]
    assert offenders == []


def test_no_core_migration_depends_on_the_ibm_face():
    """A core app's migrations must run with the IBM face removed from INSTALLED_APPS."""
    for app in CORE:
        for path in sorted((ROOT / app / "migrations").glob("0*.py")):
            migration = importlib.import_module(f"{app}.migrations.{path.stem}").Migration
            assert all(dependency[0] != "ibmcloud" for dependency in migration.dependencies), path


@pytest.mark.django_db
def test_bootstrap_makes_the_account_and_prints_its_id():
    assert not AccountSettings.objects.exists()
    out = StringIO()
    call_command("bootstrap", email="boss@example.com", password="A-long-passphrase-1", stdout=out)
    account_id = AccountSettings.objects.get().account_id
    assert f"Bootstrap: account {account_id}." in out.getvalue().splitlines()
    again = StringIO()
    call_command("bootstrap", stdout=again)
    assert f"Bootstrap: account {account_id}." in again.getvalue() and AccountSettings.objects.count() == 1
