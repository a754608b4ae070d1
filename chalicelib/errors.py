"""Domain errors and the one mapping from an error to the HTTP error body of the API contract."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A failure the caller can act on; carries its HTTP status and contract code."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "BAD_REQUEST"
    default_message: ClassVar[str] = "Bad request"

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def body(self, request_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "request_id": request_id}
        body.update(self.details)
        return body


class ValidationError(DomainError):
    """The request is malformed or breaks a field rule."""

    status, code, default_message = 400, "VALIDATION_ERROR", "Invalid request"


class Unauthorized(DomainError):
    """No valid credentials were presented."""

    status, code, default_message = 401, "UNAUTHORIZED", "Missing, invalid or expired access token"


class Forbidden(DomainError):
    """The caller is known but not allowed to do this."""

    status, code, default_message = 403, "FORBIDDEN", "Not allowed"


class AccountDisabled(Forbidden):
    """Good credentials of an account staff disabled."""

    status, code, default_message = 403, "ACCOUNT_DISABLED", "This account is disabled"


class NotFound(DomainError):
    """The object does not exist, or is not the caller's to see."""

    status, code, default_message = 404, "NOT_FOUND", "Not found"


class MethodNotAllowed(DomainError):
    """The route exists but not with this method."""

    status, code, default_message = 405, "METHOD_NOT_ALLOWED", "Method not allowed"


class Conflict(DomainError):
    """The request conflicts with the current state (duplicate, already taken)."""

    status, code, default_message = 409, "CONFLICT", "Conflict"


class ChangedMeanwhile(Conflict):
    """What a conditional write relied on changed since it was read (a concurrent writer): read again and retry
    (chalicelib.retry.retrying), and answer 409 when it keeps changing."""

    default_message = "This changed meanwhile, retry"


class OutOfStock(Conflict):
    """One or more SKUs do not have the stock asked for."""

    code, default_message = "OUT_OF_STOCK", "Out of stock"


class InvalidState(Conflict):
    """The object is not in a state that allows this transition."""

    code, default_message = "INVALID_STATE", "Invalid state for this operation"


class PayloadTooLarge(DomainError):
    """The request body is over the size limit."""

    status, code, default_message = 413, "PAYLOAD_TOO_LARGE", "Request body too large"


class UnsupportedMediaType(DomainError):
    """The request body is not JSON."""

    status, code, default_message = 415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json"


class RateLimited(DomainError):
    """Too many attempts; try again later."""

    status, code, default_message = 429, "RATE_LIMITED", "Too many requests"


class InternalError(DomainError):
    """An unexpected failure on our side."""

    status, code, default_message = 500, "INTERNAL_ERROR", "Internal error"


class DependencyUnavailable(DomainError):
    """A service we depend on failed or answered nonsense."""

    status, code, default_message = 502, "BAD_GATEWAY", "An upstream service failed"


ERROR_CODES_BY_STATUS: dict[int, type[DomainError]] = {
    400: ValidationError,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    429: RateLimited,
    500: InternalError,
    502: DependencyUnavailable,
}


def error_for_status(status: int, message: str | None = None) -> DomainError:
    """The domain error that stands for an HTTP status produced outside our code (e.g. by the framework)."""
    cls = ERROR_CODES_BY_STATUS.get(status) or (InternalError if status >= 500 else ValidationError)
    return cls(message)
