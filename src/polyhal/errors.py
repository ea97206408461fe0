"""One exception class per status code; each is also the familiar Python exception."""

from __future__ import annotations

from .types import StatusCode


class HalError(Exception):
    """Base of every polyhal error; ``code`` is the :class:`StatusCode`.

    Each status code has a subclass that is also the familiar Python exception
    (``InvalidArgumentError`` is a ``ValueError``, …); :func:`error_for` builds one from a
    code.  A failed submission's error reaches the host through its signal semaphores.
    """

    code: StatusCode = StatusCode.UNKNOWN

    def __init__(self, message: str = "", *, code: StatusCode | None = None):
        super().__init__(message)
        if code is not None:
            self.code = _status(code)

    @property
    def message(self) -> str:
        """The error's text (``str(error)``)."""
        return str(self.args[0]) if self.args else ""


class CancelledError(HalError, RuntimeError):
    """The work was cancelled: a device closed before a submission's waits were met."""

    code = StatusCode.CANCELLED


class UnknownError(HalError, RuntimeError):
    """A failure with no better status code (also a foreign code's error)."""

    code = StatusCode.UNKNOWN


class InvalidArgumentError(HalError, ValueError):
    """An argument is wrong on its own: a wrong type, a bad value, a bad enum."""

    code = StatusCode.INVALID_ARGUMENT


class DeadlineExceededError(HalError, TimeoutError):
    """A wait's timeout passed before what it waited for happened."""

    code = StatusCode.DEADLINE_EXCEEDED


class NotFoundError(HalError, LookupError):
    """A name that is not there: a driver, a device, an entry point."""

    code = StatusCode.NOT_FOUND


class AlreadyExistsError(HalError, RuntimeError):
    """Something that must be new already exists."""

    code = StatusCode.ALREADY_EXISTS


class PermissionDeniedError(HalError, RuntimeError):
    """A buffer's usage or access does not allow the operation."""

    code = StatusCode.PERMISSION_DENIED


class ResourceExhaustedError(HalError, RuntimeError):
    """A limit or the memory ran out: allocations, bindings, push constants."""

    code = StatusCode.RESOURCE_EXHAUSTED


class FailedPreconditionError(HalError, RuntimeError):
    """The state does not allow the call: a closed device, a deallocated
    buffer, a command buffer outside begin()/end(), a checked-mode hazard."""

    code = StatusCode.FAILED_PRECONDITION


class AbortedError(HalError, RuntimeError):
    """The work was abandoned: a failed host call, a semaphore failed with ABORTED."""

    code = StatusCode.ABORTED


class OutOfRangeError(HalError, IndexError):
    """A range or a value outside what it indexes: offsets, lengths, payloads."""

    code = StatusCode.OUT_OF_RANGE


class UnimplementedError(HalError, NotImplementedError):
    """The driver does not implement the operation or the format."""

    code = StatusCode.UNIMPLEMENTED


class InternalError(HalError, RuntimeError):
    """A driver failed where it should not have (a bug, reported as a typed error)."""

    code = StatusCode.INTERNAL


class UnavailableError(HalError, RuntimeError):
    """Something polyhal needs is not available: a compiler, a device."""

    code = StatusCode.UNAVAILABLE


class DataLossError(HalError, RuntimeError):
    """Data was lost or corrupted."""

    code = StatusCode.DATA_LOSS


_BY_CODE: dict[StatusCode, type[HalError]] = {
    cls.code: cls
    for cls in (
        CancelledError,
        UnknownError,
        InvalidArgumentError,
        DeadlineExceededError,
        NotFoundError,
        AlreadyExistsError,
        PermissionDeniedError,
        ResourceExhaustedError,
        FailedPreconditionError,
        AbortedError,
        OutOfRangeError,
        UnimplementedError,
        InternalError,
        UnavailableError,
        DataLossError,
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
