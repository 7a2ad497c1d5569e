"""Where each event source mapping is in its stream: the last processed sequence number per shard,
kept in a file, so that a restart (even after `kill -9`) resumes right after it: nothing is
processed twice by a restart, and a long stream is not read again from its start."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path


class Checkpoints:
    """The last processed sequence number per shard of each event source mapping, in one JSON file,
    replaced atomically (written, flushed to disk, renamed) after every processed batch, so that a
    `kill -9` at any moment leaves the previous or the new checkpoint, never a torn file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def load(self, mapping: str) -> dict[str, str]:
        with self._lock:
            return dict(self._read().get(mapping, {}))

    def save(self, mapping: str, shard_id: str, sequence_number: str) -> None:
        with self._lock:
            data = self._read()
            data.setdefault(mapping, {})[shard_id] = sequence_number
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(self.path.name + ".tmp")
            with temporary.open("w", encoding="utf-8") as out:
                json.dump(data, out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
