"""pytest fixtures for the registry tests: a registry on each back end (SQLite and PostgreSQL).

PostgreSQL comes from ``PRIVSYNTH_TEST_PG_URL`` (``.ci/run`` starts a server and sets it) or, when
that is unset and ``initdb`` is installed, from a throwaway server started once per test process
(``privsynth.registry.pgserver``) and stopped at exit. With neither the PostgreSQL tests are
skipped, except under ``CI=true`` where a missing server fails them: CI must never pass by
skipping them.

Import the fixtures into a test module: ``from privsynth.registry.testing import backend, ...``.
"""

from __future__ import annotations

import atexit
import os
import secrets
from pathlib import Path

import pytest

from privsynth.registry import pgserver

PG_ENV = "PRIVSYNTH_TEST_PG_URL"
_STATE: dict[str, object] = {}


def pg_server_url() -> str:
    """The URL of a PostgreSQL server for tests; skips (or fails under CI=true) without one."""
    if os.environ.get(PG_ENV):
        return os.environ[PG_ENV]
    if "url" in _STATE:
        return str(_STATE["url"])
    reason = _STATE.get("error")
    if reason is None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            reason = "psycopg is not installed (pip install -e '.[postgres]')"
    if reason is None and not pgserver.available():
        reason = "no PostgreSQL server binaries (initdb) and PRIVSYNTH_TEST_PG_URL unset"
    if reason is None:
        try:
            server = pgserver.start()
        except RuntimeError as exc:
            reason = str(exc)
        else:
            atexit.register(pgserver.stop, server)
            _STATE["url"] = server.url
            return server.url
    _STATE["error"] = reason
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL tests cannot run under CI: {reason}")
    pytest.skip(f"PostgreSQL tests skipped: {reason}")
    raise AssertionError("unreachable")


def new_registry(backend: str, tmp_path: Path) -> str:
    """A fresh, uninitialised registry location on ``backend`` ('sqlite' or 'postgresql')."""
    if backend == "sqlite":
        return str(tmp_path / "registry.db")
    return pgserver.fresh_database(pg_server_url(), "t_" + secrets.token_hex(6))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def registry_url(backend: str, tmp_path: Path) -> str:
    """An initialised, empty registry on each back end."""
    from privsynth.registry import init_registry

    url = new_registry(backend, tmp_path)
    init_registry(url)
    return url
