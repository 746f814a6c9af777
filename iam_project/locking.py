"""Row locks with an If-Match check, shared by every service that writes a versioned object."""

from django.db.models import F

from .errors import Conflict, NotFound


def lock_row(model, pk, version=None, label=None):
    """Lock the row for the rest of the transaction, checking If-Match atomically.

    The compare is a conditional UPDATE (``WHERE version = N``): of two writers holding the same
    ETag, the second one's UPDATE waits for the first to commit, then matches no row — 409.
    """
    label = label or model._meta.verbose_name
    if version is not None:
        claimed = model.objects.filter(pk=pk, version=version).update(version=F("version"))
        if not claimed:
            if model.objects.filter(pk=pk).exists():
                raise Conflict(f"The {label} was changed since you read it (If-Match does not match).")
            raise NotFound(f"No such {label}.")
    try:
        return model.objects.select_for_update().get(pk=pk)
    except model.DoesNotExist:
        raise NotFound(f"No such {label}.") from None
