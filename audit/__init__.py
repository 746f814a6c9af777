"""The audit trail. ``audit.record(action, target, ...)`` records a fact that is not a model write."""


def record(action, target=None, **kwargs):
    from .services import record as _record

    return _record(action, target, **kwargs)


def audited(label, target_type, *, exclude=(), redact=(), label_field=""):
    """Record every write of the model ``label`` (app_label.Model) as events on ``target_type``.
    ``redact``: fields shown only as changed (secret-looking names are masked anyway); ``exclude``:
    fields not recorded; ``label_field``: the attribute naming the target ("__str__" for str()).
    Called from the model's app's ``AppConfig.ready()``."""
    from .registry import Audited, register

    return register(label, Audited(target_type, exclude=frozenset(exclude), redact=frozenset(redact),
                                   label=label_field))
