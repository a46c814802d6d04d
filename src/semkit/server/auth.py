"""Optional API keys: ``Authorization: Bearer <key>``, read-write or read-only.

Without keys the server is open (it binds 127.0.0.1 by default). With keys, every route
but ``/health``, ``/ready`` and the API description needs one: a read-only key may embed,
search and read; creating, adding, upserting, deleting and dropping need a read-write key.
Keys are compared in constant time (SHA-256 digests with ``hmac.compare_digest``, every
key checked), so response times tell nothing about a key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from enum import IntEnum
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from semkit.errors import ConfigError

_bearer = HTTPBearer(auto_error=False, description="A semkit API key (read-only or read-write)")


class Access(IntEnum):
    NONE = 0
    READ = 1
    WRITE = 2


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class Keys:
    def __init__(self, read_write: Iterable[str] = (), read_only: Iterable[str] = ()) -> None:
        self._keys: list[tuple[bytes, Access]] = []
        for keys, access in ((read_write, Access.WRITE), (read_only, Access.READ)):
            for key in keys:
                if len(key) < 8 or key != key.strip():
                    raise ConfigError(
                        "an API key needs at least 8 characters and no surrounding spaces"
                    )
                self._keys.append((_digest(key), access))

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def access(self, key: str | None) -> Access:
        """What ``key`` may do; every configured key is compared, in constant time."""
        if not self.enabled:
            return Access.WRITE
        given = _digest(key or "")
        found = Access.NONE
        for digest, access in self._keys:
            if hmac.compare_digest(given, digest):
                found = max(found, access)
        return found


def _check(
    request: Request, credentials: HTTPAuthorizationCredentials | None, need: Access
) -> None:
    keys: Keys = request.app.state.semkit.keys
    if not keys.enabled:
        return
    access = keys.access(credentials.credentials if credentials else None)
    if access is Access.NONE:
        raise HTTPException(
            401,
            "missing or unknown API key: send it as 'Authorization: Bearer <key>'"
            if credentials is None
            else "unknown API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if access < need:
        raise HTTPException(403, "this API key is read-only; writing needs a read-write key")


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _read(request: Request, credentials: Credentials) -> None:
    _check(request, credentials, Access.READ)


def _write(request: Request, credentials: Credentials) -> None:
    _check(request, credentials, Access.WRITE)


READ = Depends(_read)
WRITE = Depends(_write)
