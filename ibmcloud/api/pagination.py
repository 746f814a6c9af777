"""Keyset paging of the IBM face's lists: each page is one bounded query, whatever the table's size.

The page token carries the sort key and id of the last row served (and how many rows came before), signed
with the server's key: a token cannot be forged or edited into another query, and one that does not verify
is a 400 naming the parameter, never a 500. The next page is the rows strictly after that key in the
list's order — stable when rows are added or removed meanwhile, unlike an offset.
"""

import datetime
import uuid

from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from rest_framework.exceptions import ValidationError

SALT = "ibmcloud.api.pagination"
MAX_PAGE = 100


def _plain(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


class KeysetPage:
    """One page of ``queryset`` in ``ordering`` — ``("name", "id")`` or ``("-created_at", "-id")``, whose
    last field is unique — after the row named by the token in ``token_param``. ``list_name`` ties a token
    to its list and order, so a token of another list or order is refused."""

    def __init__(self, request, list_name, ordering, size_param="pagesize", token_param="pagetoken",
                 default_size=20, size=None, token=None):
        self.ordering = tuple(ordering)
        self.fields = [(name.lstrip("-"), name.startswith("-")) for name in self.ordering]
        self.query = f"{list_name}:{','.join(self.ordering)}"
        self.token_param = token_param
        self.limit = max(1, min(MAX_PAGE, size if size is not None else default_size))
        self.offset, self.after, self.next = 0, None, None
        if token:
            self.offset, self.after = self._read(token)

    def _read(self, token):
        try:
            payload = signing.loads(token, salt=SALT)
            if payload["q"] != self.query:
                raise ValueError("another list or order")
            offset, after = int(payload["o"]), list(payload["k"])
            if offset < 0 or len(after) != len(self.fields):
                raise ValueError("malformed")
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            raise ValidationError({self.token_param: ["Not a page token of this list and order (a token is "
                                                      "only valid with the parameters it was issued for)."]}) \
                from None
        return offset, after

    def _write(self, row):
        key = [_plain(getattr(row, name)) for name, _ in self.fields]
        return signing.dumps({"q": self.query, "o": self.offset + self.limit, "k": key}, salt=SALT, compress=True)

    def _after_filter(self, model):
        """Rows after the key in the order: (a > x) or (a = x and b > y) or …, each ``>`` a ``<`` where the
        field sorts descending."""
        try:
            values = [model._meta.get_field(name).to_python(raw) for (name, _), raw in zip(self.fields, self.after)]
        except DjangoValidationError:
            raise ValidationError({self.token_param: ["Not a page token of this list."]}) from None
        condition = Q()
        for index, (name, descending) in enumerate(self.fields):
            step = Q(**{f"{name}__{'lt' if descending else 'gt'}": values[index]})
            for prior in range(index):
                step &= Q(**{self.fields[prior][0]: values[prior]})
            condition |= step
        return condition

    def rows(self, queryset):
        """The page's rows, fetched in one query of at most ``limit + 1`` rows (the extra one only says
        whether a next page exists)."""
        if self.after is not None:
            queryset = queryset.filter(self._after_filter(queryset.model))
        fetched = list(queryset.order_by(*self.ordering)[:self.limit + 1])
        rows = fetched[:self.limit]
        self.next = self._write(rows[-1]) if len(fetched) > self.limit else None
        return rows

    def body(self, key, items):
        """IBM's list shape: ``offset``, ``limit``, the items under ``key``, and ``next`` when there is more."""
        body = {"offset": self.offset, "limit": self.limit, key: items}
        if self.next:
            body["next"] = self.next
        return body
