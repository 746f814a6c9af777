"""Enumerations of the roles app."""

from django.db import models


class BindingSourceChoices(models.TextChoices):
    DIRECT = "direct", "Direct assignment"
    POLICY = "policy", "Access policy"
    JIT = "jit", "Just-in-time grant"
    SYSTEM = "system", "Bootstrap"
