"""One small storage interface, two back ends: SQLite (a file, embedded) and PostgreSQL (a URL).

The registry speaks plain SQL through :class:`Store`: ``transaction(write=...)`` yields a
:class:`Tx` with ``execute`` / ``one`` / ``all``. SQL is written once with ``?`` placeholders; the
PostgreSQL back end rewrites them to ``%s`` (no statement of the registry contains a literal ``?``).

Serialisation of budget reservations (the only operation where two writers could race):

* **SQLite**: a write transaction starts with ``BEGIN IMMEDIATE``, which takes the database's
  RESERVED lock before the first read, so at most one writer is between its read of the spent
  budget and its insert of a reservation; others wait (``busy_timeout``) and then read the new sum.
* **PostgreSQL**: the reservation locks the source's row (``SELECT ... FOR UPDATE``) before it
  sums the spends; under READ COMMITTED each later statement sees every spend committed by the
  previous lock holder, so two reservations of one source are serialised.

Every driver error a user can cause (a path that is not a database, a server that is down, a bad
URL scheme) becomes one :class:`~privsynth.errors.InputError` line naming the registry and the fix.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

from privsynth.errors import InputError

SQLITE_TIMEOUT_S = 60.0
PG_CONNECT_TIMEOUT_S = 5
_SCHEMES = ("sqlite", "postgresql", "postgres")


class Tx(Protocol):
    """An open transaction: run statements, fetch rows as tuples."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def lock_source(self, source_id: str) -> bool: ...


class Store(Protocol):
    """A registry database."""

    dialect: str
    display: str

    def transaction(self, *, write: bool = False) -> contextlib.AbstractContextManager[Tx]: ...

    def close(self) -> None: ...


def redact(url: str) -> str:
    """``url`` without its password (safe to print)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[-1]}"))


def parse_location(location: str | os.PathLike[str]) -> tuple[str, str]:
    """``("sqlite", path)`` or ``("postgresql", url)``; a bad scheme is an InputError."""
    text = str(location).strip()
    if not text:
        raise InputError("--registry is empty: give a file path (SQLite) or a postgresql:// URL")
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if match is None:
        return "sqlite", text
    scheme = match.group(1).lower()
    if scheme == "sqlite":
        # SQLAlchemy's convention: sqlite:///relative.db, sqlite:////absolute/path.db
        if not text.startswith("sqlite:///") or not text[len("sqlite:///") :]:
            raise InputError(
                f"{text}: a sqlite URL is sqlite:///relative.db or sqlite:////absolute/path.db"
            )
        return "sqlite", text[len("sqlite:///") :]
    if scheme.split("+")[0] in ("postgresql", "postgres"):
        return "postgresql", "postgresql://" + text[len(match.group(0)) :]
    raise InputError(
        f"registry {redact(text)}: unsupported scheme {scheme!r} (use a file path, sqlite:///path "
        "or postgresql://user@host:port/db)"
    )


def open_store(location: str | os.PathLike[str], *, create: bool = False) -> Store:
    """Connect to the registry at ``location``. Without ``create`` a missing SQLite file is an error."""
    dialect, target = parse_location(location)
    if dialect == "sqlite":
        return SQLiteStore(Path(target), create=create)
    return PostgresStore(target)


# -- SQLite ---------------------------------------------------------------------------------------
class _SQLiteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, tuple(params)).rowcount

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        return self._conn.execute(sql, tuple(params)).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def lock_source(self, source_id: str) -> bool:
        # BEGIN IMMEDIATE already holds the database's write lock; only check the row exists.
        return self.one("SELECT 1 FROM sources WHERE id = ?", (source_id,)) is not None


class SQLiteStore:
    """A registry in one SQLite file (the default: nothing to start)."""

    dialect = "sqlite"

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = path
        self.display = str(path)
        if not create and not path.is_file():
            raise InputError(
                f"registry {path}: no such file (create one with `privsynth registry init {path}`)"
            )
        if create and not (path.parent if str(path.parent) else Path(".")).is_dir():
            raise InputError(f"registry {path}: folder {path.parent} does not exist")
        mode = "rwc" if create else "rw"
        uri = f"file:{quote(str(path.resolve()))}?mode={mode}"
        try:
            self._conn = sqlite3.connect(uri, uri=True, timeout=0.0, isolation_level=None)
            self._conn.execute("PRAGMA foreign_keys = ON")
            # WAL: one fsync per commit (FULL keeps a reservation durable before data is read).
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            raise _sqlite_error(path, exc) from None

    @contextlib.contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Tx]:
        self._begin("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield _SQLiteTx(self._conn)
            self._conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.DatabaseError):
                raise _sqlite_error(self.path, exc) from None
            raise

    def _begin(self, statement: str) -> None:
        """BEGIN, retrying a locked database every few ms (SQLite's own busy handler may sleep
        whole seconds when built without usleep) for up to ``SQLITE_TIMEOUT_S``."""
        deadline = time.monotonic() + SQLITE_TIMEOUT_S
        while True:
            try:
                self._conn.execute(statement)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise _sqlite_error(self.path, exc) from None
                time.sleep(random.uniform(0.001, 0.01))
            except sqlite3.DatabaseError as exc:
                raise _sqlite_error(self.path, exc) from None

    def close(self) -> None:
        self._conn.close()


def _sqlite_error(path: Path, exc: sqlite3.Error) -> InputError:
    text = str(exc)
    if "not a database" in text:
        return InputError(f"registry {path}: not a privsynth registry (not an SQLite database)")
    return InputError(f"registry {path}: {text}")


def is_driver_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a database driver (so the registry maps it to one line)."""
    if isinstance(exc, sqlite3.Error):
        return True
    mod = type(exc).__module__ or ""
    return mod.startswith("psycopg")


# -- PostgreSQL -----------------------------------------------------------------------------------
class _PGTx:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        return self._conn.execute(sql.replace("?", "%s"), tuple(params))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._run(sql, params).rowcount

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        return self._run(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run(sql, params).fetchall()

    def lock_source(self, source_id: str) -> bool:
        row = self.one("SELECT 1 FROM sources WHERE id = ? FOR UPDATE", (source_id,))
        return row is not None


class PostgresStore:
    """A registry in a PostgreSQL database shared by a team (needs the ``[postgres]`` extra)."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.display = redact(url)
        try:
            import psycopg
        except ImportError:
            raise InputError(
                "a postgresql:// registry needs the PostgreSQL driver: "
                "pip install 'privsynth[postgres]'"
            ) from None
        self._psycopg = psycopg
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=PG_CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InputError(
                f"registry {self.display}: cannot connect to PostgreSQL: {first}"
            ) from None

    @contextlib.contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Tx]:
        try:
            with self._conn.transaction():
                yield _PGTx(self._conn)
        except self._psycopg.OperationalError as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InputError(f"registry {self.display}: PostgreSQL error: {first}") from None

    def close(self) -> None:
        self._conn.close()
