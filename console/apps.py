"""The console app: screens that read across the other apps (it sits above them all)."""

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Console"
