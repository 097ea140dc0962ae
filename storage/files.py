"""Attachments on disk, stored once by content hash."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def save(self, content: bytes) -> str:
        """Write the content (atomically, once per hash) and return its SHA-256."""
        digest = hashlib.sha256(content).hexdigest()
        target = self.path_for(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_bytes(content)
            os.replace(temporary, target)
        return digest

    def load(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()
