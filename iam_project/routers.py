"""The router of every /resources/ viewset: paths without a trailing slash, one tolerated."""

from rest_framework.routers import SimpleRouter


class Router(SimpleRouter):
    def __init__(self):
        super().__init__(trailing_slash=False)
        self.trailing_slash = "/?"
