"""The ports the use cases need: a transactional store and a secret box."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from levpref.adapters.storage.sql import SqlTx


class Store(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[SqlTx]: ...

    async def migrate(self) -> int: ...

    async def close(self) -> None: ...

    def describe(self) -> dict[str, Any]: ...


class Secrets(Protocol):
    def seal(self, public_key: str, secret: bytes) -> str: ...

    def open(self, public_key: str, stored: str) -> bytes | None: ...
