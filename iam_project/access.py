"""The plumbing's door to the authorization engine: the engine's app registers it here from its
AppConfig.ready(), so that the permission class and the console ask the one engine without the plumbing
importing any app."""

_engine = None


def register_engine(engine):
    """``engine`` offers ``decide(identity, permission, resource=None, context=None, scopes=...)``."""
    global _engine
    _engine = engine


def decide(identity, permission, resource=None, **kwargs):
    """The engine's Decision (see roles.engine.decide)."""
    if _engine is None:
        raise RuntimeError("No authorization engine is registered (is the roles app installed?).")
    return _engine.decide(identity, permission, resource=resource, **kwargs)
