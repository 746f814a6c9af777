"""Cursor pagination for every list: stable under concurrent inserts, no page counting."""

from django.core.exceptions import FieldDoesNotExist, ValidationError
from rest_framework import pagination
from rest_framework.exceptions import NotFound


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
    ordering = ("created_at", "id")

    def get_ordering(self, request, queryset, view):
        return getattr(view, "ordering", None) or self.ordering

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """DRF decodes the cursor's position but trusts it: a forged one (text where a number is
        ordered, a NUL the database cannot compare) must be an invalid cursor, not a server error."""
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        if "\x00" in cursor.position:
            raise NotFound(self.invalid_cursor_message)
        try:
            field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
            field.to_python(cursor.position)
        except (FieldDoesNotExist, AttributeError):
            pass  # ordered by something other than a model field: the database compares it as text
        except (ValidationError, ValueError, TypeError, OverflowError):
            raise NotFound(self.invalid_cursor_message) from None
        return cursor
