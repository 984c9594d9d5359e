"""A throwaway PostgreSQL server in a temporary folder (tests and benchmarks; never production).

``start()`` runs ``initdb`` and ``pg_ctl start`` on a free localhost port with trust
authentication, as the current user or, when that is root (PostgreSQL refuses to run as root), as
the ``postgres`` user; ``stop()`` stops it and removes the folder. The test suite uses it when
``PRIVSYNTH_TEST_PG_URL`` is not set (``.ci/run`` sets it to a server of its own).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def find_bin(name: str) -> str | None:
    """``initdb`` / ``pg_ctl`` on PATH or in /usr/lib/postgresql/*/bin (newest first)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def available() -> bool:
    return find_bin("initdb") is not None and find_bin("pg_ctl") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    folder: Path
    port: int
    user: str | None  # the OS user the server runs as, when not the current one

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


def _run(cmd: list[str], user: str | None) -> None:
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)


def start() -> Server:
    """Start a server; raises RuntimeError (with the reason) if it cannot."""
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise RuntimeError("initdb/pg_ctl not found (install PostgreSQL server binaries)")
    user = None
    folder = Path(tempfile.mkdtemp(prefix="privsynth-pg-"))
    if os.geteuid() == 0:
        user = "postgres"
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            raise RuntimeError(
                "running as root and there is no 'postgres' user to run as"
            ) from None
        os.chown(folder, pw.pw_uid, pw.pw_gid)
    port = free_port()
    data = folder / "data"
    try:
        _run([initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"], user)
        opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        _run([pg_ctl, "-D", str(data), "-o", opts, "-l", str(folder / "log"), "-w", "start"], user)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        err = getattr(exc, "stderr", b"") or b""
        raise RuntimeError(
            f"could not start PostgreSQL: {err.decode(errors='replace')[-300:]}"
        ) from None
    return Server(folder, port, user)


def stop(server: Server) -> None:
    pg_ctl = find_bin("pg_ctl")
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        if pg_ctl:
            _run(
                [pg_ctl, "-D", str(server.folder / "data"), "-m", "immediate", "stop"], server.user
            )
    shutil.rmtree(server.folder, ignore_errors=True)


@contextlib.contextmanager
def running() -> Iterator[Server]:
    server = start()
    try:
        yield server
    finally:
        stop(server)


def fresh_database(url: str, name: str) -> str:
    """Create database ``name`` on the server at ``url`` (dropping an old one); return its URL."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"
