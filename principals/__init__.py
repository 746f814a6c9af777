"""People: the Principal identity (AUTH_USER_MODEL), its passwords and the /resources/me endpoints."""
