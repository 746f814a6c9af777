"""The audit trail. ``audit.record(action, target, ...)`` records a fact that is not a model write."""


def record(action, target=None, **kwargs):
    from .services import record as _record

    return _record(action, target, **kwargs)
