"""What every GPU driver shares: device memory handles and the error of a backend that cannot run."""

from __future__ import annotations

from dataclasses import dataclass


class BackendUnavailable(RuntimeError):
    """The requested backend cannot run on this machine."""


@dataclass
class DeviceBuffer:
    """``nbytes`` of device memory at address ``ptr``; ``owner`` keeps the allocation alive."""

    ptr: int
    nbytes: int
    owner: object
