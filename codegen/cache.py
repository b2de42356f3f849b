"""A disk cache of compiled object code, keyed by source and toolchain.

Entries are written atomically (a temporary file, then ``os.replace``), so processes compiling the
same program at once both succeed; each entry carries a checksum, so a corrupt or half-written
entry is detected, removed and rebuilt instead of being loaded. Entries are native code that gets
executed, so the cache directory is created private (0700) and nothing is read from or written to
one that another user could write into: a checksum only detects damage, not tampering.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import warnings

MAGIC = b"SFXOBJ1\n"


def default_directory() -> str:
    return os.environ.get("SYMFLUX_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "symflux")


class UnsafeCacheWarning(UserWarning):
    """The cache directory could be written by other users; it is not used."""


class DiskCache:
    def __init__(self, directory: str | None = None):
        self.directory = directory or default_directory()
        self._trusted = None

    def trusted(self) -> bool:
        """Whether the directory is ours alone (created 0700 when missing); checked once."""
        if self._trusted is None:
            self._trusted = _private_directory(self.directory)
            if not self._trusted:
                warnings.warn(f"symflux: not using the compile cache {self.directory!r}: it is not a directory "
                              "owned by you and closed to other users (chmod 700 it, or set SYMFLUX_CACHE_DIR)",
                              UnsafeCacheWarning, stacklevel=3)
        return self._trusted

    @staticmethod
    def key(*parts: str) -> str:
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def path(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], key + ".o")

    def get(self, key: str) -> bytes | None:
        """The stored bytes, or None when absent or damaged (a damaged entry is removed)."""
        if not self.trusted():
            return None
        path = self.path(key)
        try:
            with open(path, "rb") as f:
                blob = f.read()
        except OSError:
            return None
        header = len(MAGIC) + 32
        if blob[:len(MAGIC)] == MAGIC and hashlib.sha256(blob[header:]).digest() == blob[len(MAGIC):header]:
            return blob[header:]
        self.discard(key)
        return None

    def put(self, key: str, payload: bytes) -> None:
        if not self.trusted():
            return
        path, tmp = self.path(key), None
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, path)
        except OSError:  # a read-only or full disk only costs the cache, and leaves no partial file
            if tmp is not None:
                try:
                    os.remove(tmp)
                except OSError:
                    pass

    def discard(self, key: str) -> None:
        if not self.trusted():
            return
        try:
            os.remove(self.path(key))
        except OSError:
            pass


def _private_directory(directory: str) -> bool:
    """Create ``directory`` (0700) if missing; True when it is a real directory owned by this user
    that neither group nor others can write."""
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        info = os.lstat(directory)
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    return not hasattr(os, "getuid") or info.st_uid == os.getuid()
