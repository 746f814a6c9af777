"""Domain errors raised by services and turned into problem details (or IBM errors) by the API layer."""


class IAMError(Exception):
    status = 400
    title = "Bad request"
    code = "invalid"

    def __init__(self, detail="", errors=None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class InvalidInput(IAMError):
    """Bad input; ``errors`` maps each field at fault to its messages."""

    status = 400
    title = "Invalid input"
    code = "invalid"

    def __init__(self, errors, detail="The request has invalid fields."):
        super().__init__(detail, errors)


class Forbidden(IAMError):
    status = 403
    title = "Forbidden"
    code = "forbidden"


class NotFound(IAMError):
    status = 404
    title = "Not found"
    code = "not_found"


class Conflict(IAMError):
    status = 409
    title = "Conflict"
    code = "conflict"
