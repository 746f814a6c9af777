"""Receivers of the IBM face: its part of the platform's first start."""


def handle_bootstrapped(sender, **kwargs):
    """``manage.py bootstrap``: make the account (once) and tell the operator its id."""
    from .services import account

    return f"account {account().account_id}."
