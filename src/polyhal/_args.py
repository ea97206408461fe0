"""Argument conversion at the API boundary: integers, 64-bit values and enum flags.

A leaf module (it imports only errors and numpy) so that every front-end module can use
the same conversions without an import cycle.
"""

from __future__ import annotations

import enum
import operator
from typing import TypeVar

import numpy as np

from .errors import InvalidArgumentError, OutOfRangeError

UINT64_MAX = 2**64 - 1
_Flag = TypeVar("_Flag", bound="enum.IntFlag | enum.IntEnum")


def as_index(value: object, what: str) -> int:
    """``value`` as a Python int (numpy integers too); InvalidArgumentError otherwise.

    Converting at the API boundary matters: a numpy ``uint8`` offset added to a Python int
    would wrap in numpy's arithmetic instead of raising.
    """
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise InvalidArgumentError(f"{what}: expected an integer, got {value!r}")
    try:
        # Any object: the TypeError of one without __index__ is the answer.
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidArgumentError(f"{what}: expected an integer, got {value!r}") from None


def as_uint64(value: object, what: str) -> int:
    """``value`` as an int in [0, 2**64); InvalidArgumentError for a non-integer,
    OutOfRangeError outside the range (offsets, lengths and payloads are 64-bit)."""
    value = as_index(value, what)
    if not 0 <= value <= UINT64_MAX:
        raise OutOfRangeError(f"{what}: {value} is outside [0, 2**64)")
    return value


def as_flags(kind: type[_Flag], value: object, what: str) -> _Flag:
    """``value`` as a member (or combination) of the IntFlag/IntEnum ``kind``.

    InvalidArgumentError for anything else: a string, None, a float, or bits the enum does
    not define.
    """
    if type(value) is kind:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgumentError(f"{what}: expected a {kind.__name__}, got {value!r}")
    if value < 0:  # IntFlag would take -1 as "every bit"
        raise InvalidArgumentError(f"{what}: {value!r} is not a {kind.__name__}")
    try:
        member = kind(int(value))
    except ValueError:
        raise InvalidArgumentError(f"{what}: {value!r} is not a {kind.__name__}") from None
    known = 0
    for m in kind:
        known |= int(m)
    if int(member) & ~known:  # IntFlag keeps undefined bits
        raise InvalidArgumentError(f"{what}: {value!r} has bits {kind.__name__} does not define")
    return member
