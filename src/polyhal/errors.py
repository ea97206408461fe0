"""One exception class per status code; each is also the familiar Python exception."""

from __future__ import annotations

from .types import StatusCode


class HalError(Exception):
    """Base of every polyhal error; ``code`` is the :class:`StatusCode`."""

    code: StatusCode = StatusCode.UNKNOWN

    def __init__(self, message: str = "", *, code: StatusCode | None = None):
        super().__init__(message)
        if code is not None:
            self.code = _status(code)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class CancelledError(HalError, RuntimeError):
    code = StatusCode.CANCELLED


class UnknownError(HalError, RuntimeError):
    code = StatusCode.UNKNOWN


class InvalidArgumentError(HalError, ValueError):
    code = StatusCode.INVALID_ARGUMENT


class DeadlineExceededError(HalError, TimeoutError):
    code = StatusCode.DEADLINE_EXCEEDED


class NotFoundError(HalError, LookupError):
    code = StatusCode.NOT_FOUND


class AlreadyExistsError(HalError, RuntimeError):
    code = StatusCode.ALREADY_EXISTS


class PermissionDeniedError(HalError, RuntimeError):
    code = StatusCode.PERMISSION_DENIED


class ResourceExhaustedError(HalError, RuntimeError):
    code = StatusCode.RESOURCE_EXHAUSTED


class FailedPreconditionError(HalError, RuntimeError):
    code = StatusCode.FAILED_PRECONDITION


class AbortedError(HalError, RuntimeError):
    code = StatusCode.ABORTED


class OutOfRangeError(HalError, IndexError):
    code = StatusCode.OUT_OF_RANGE


class UnimplementedError(HalError, NotImplementedError):
    code = StatusCode.UNIMPLEMENTED


class InternalError(HalError, RuntimeError):
    code = StatusCode.INTERNAL


class UnavailableError(HalError, RuntimeError):
    code = StatusCode.UNAVAILABLE


class DataLossError(HalError, RuntimeError):
    code = StatusCode.DATA_LOSS


_BY_CODE: dict[StatusCode, type[HalError]] = {
    cls.code: cls
    for cls in (
        CancelledError, UnknownError, InvalidArgumentError, DeadlineExceededError,
        NotFoundError, AlreadyExistsError, PermissionDeniedError, ResourceExhaustedError,
        FailedPreconditionError, AbortedError, OutOfRangeError, UnimplementedError,
        InternalError, UnavailableError, DataLossError,
    )
}


def error_for(code: StatusCode | int, message: str = "") -> HalError:
    """The exception instance of the class that carries ``code`` (UnknownError for a code
    that is not a StatusCode)."""
    code = _status(code)
    cls = _BY_CODE.get(code, UnknownError)
    return cls(message, code=code)


def _status(code: StatusCode | int) -> StatusCode:
    """``code`` as a StatusCode; UNKNOWN when it is none, so that building an error for a
    foreign code never raises a second, untyped error."""
    try:
        return StatusCode(code)
    except ValueError:
        return StatusCode.UNKNOWN
