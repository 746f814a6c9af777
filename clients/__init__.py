"""Programs: the Client identity (django-oauth-toolkit's application model), its secrets and API keys."""
