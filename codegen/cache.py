"""A disk cache of compiled object code, keyed by source and toolchain.

Entries are written atomically (a temporary file, then ``os.replace``), so processes compiling the
same program at once both succeed; each entry carries a checksum, so a corrupt or half-written
entry is detected, removed and rebuilt instead of being loaded.
"""

from __future__ import annotations

import hashlib
import os
import tempfile

MAGIC = b"SFXOBJ1\n"


def default_directory() -> str:
    return os.environ.get("SYMFLUX_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "symflux")


class DiskCache:
    def __init__(self, directory: str | None = None):
        self.directory = directory or default_directory()

    @staticmethod
    def key(*parts: str) -> str:
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def path(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], key + ".o")

    def get(self, key: str) -> bytes | None:
        """The stored bytes, or None when absent or damaged (a damaged entry is removed)."""
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
        path = self.path(key)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only or full disk only costs the cache

    def discard(self, key: str) -> None:
        try:
            os.remove(self.path(key))
        except OSError:
            pass
