"""Cursor pagination for every list: stable under concurrent inserts, no page counting."""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
    ordering = ("created_at", "id")

    def get_ordering(self, request, queryset, view):
        return getattr(view, "ordering", None) or self.ordering
