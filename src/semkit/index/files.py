"""Index files: versioned, checksummed, published atomically.

Layout::

    b"SEMKITIX" | u32 format | u32 header length | header (JSON) | 32-byte SHA-256 of header
    | section bytes ...

The header lists each section with its length and SHA-256. ``read_index_file``
checks all of it before anything is deserialised, so a torn, truncated, tampered
or foreign file is refused (``StoreError``) rather than trusted. A file is written
to a temporary name, fsynced, and renamed over the old one: readers see the old
file or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

from semkit.errors import StoreError

MAGIC = b"SEMKITIX"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sII")


def write_index_file(path: Path, header: dict[str, Any], sections: dict[str, bytes]) -> int:
    """Atomically write ``header`` and named byte ``sections``; returns the file size."""
    layout = [
        {"name": name, "length": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in sections.items()
    ]
    head = json.dumps({**header, "sections": layout}, sort_keys=True).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tmp.open("wb") as f:
            f.write(_PREFIX.pack(MAGIC, FORMAT_VERSION, len(head)))
            f.write(head)
            f.write(hashlib.sha256(head).digest())
            for data in sections.values():
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        tmp.unlink(missing_ok=True)
    return path.stat().st_size


def read_index_file(path: Path) -> tuple[dict[str, Any], dict[str, memoryview]]:
    """The header and sections of a verified index file; ``StoreError`` if anything is off."""
    try:
        data = memoryview(path.read_bytes())
    except OSError as exc:
        raise StoreError(f"cannot read index file {path}: {exc.strerror}") from exc
    if len(data) < _PREFIX.size:
        raise StoreError(f"index file {path} is truncated")
    magic, version, head_len = _PREFIX.unpack_from(data)
    if bytes(magic) != MAGIC:
        raise StoreError(f"{path} is not a semkit index file")
    if version != FORMAT_VERSION:
        raise StoreError(
            f"index file {path} has format {version}; this semkit reads {FORMAT_VERSION}"
        )
    pos = _PREFIX.size
    head = data[pos : pos + head_len]
    digest = data[pos + head_len : pos + head_len + 32]
    if len(head) != head_len or hashlib.sha256(head).digest() != digest:
        raise StoreError(f"index file {path}: header checksum mismatch")
    header = json.loads(bytes(head))
    pos += head_len + 32
    sections: dict[str, memoryview] = {}
    for entry in header.pop("sections"):
        chunk = data[pos : pos + entry["length"]]
        if len(chunk) != entry["length"] or hashlib.sha256(chunk).hexdigest() != entry["sha256"]:
            raise StoreError(f"index file {path}: section '{entry['name']}' checksum mismatch")
        sections[entry["name"]] = chunk
        pos += entry["length"]
    if pos != len(data):
        raise StoreError(f"index file {path} has {len(data) - pos} unexpected trailing bytes")
    return header, sections
