"""Roles, role bindings (the policies) and the authorization engine that decides every access."""
