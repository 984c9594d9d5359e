"""Safe outputs: inputs are never overwritten, a set of outputs appears together or not at all.

Three tools every command uses:

- ``check_outputs(inputs=..., outputs=..., folders=...)`` runs *before any work* and raises
  ``InputError`` (exit 2) if an output file resolves to an input (``os.path.samefile``, so through
  symlinks and hard links too), an output folder contains an input, an output file is an existing
  folder (or an output folder an existing file), two outputs are the same path, or the folder an
  output goes into is missing or not writable. Nothing found later can destroy an input.
- ``atomic_group(paths)`` yields one temporary path beside each target; when the block succeeds they
  are renamed into place together (a target that existed is kept in a hard-linked backup until every
  rename succeeded, and restored if one fails), and when it fails, or on SIGINT/SIGTERM, every
  temporary is removed. ``atomic_dir(folder)`` does the same for an output folder: a temporary folder
  renamed into place when ``folder`` does not exist yet, else its files moved in as one group.
- Files get the user's usual permissions: ``0o666 & ~umask`` for a new file (``mkstemp`` would give
  0600), the old mode for a file that is replaced.

SIGTERM: while any of these blocks is open in the main thread, and no other handler is installed,
SIGTERM raises ``SystemExit(143)`` so the same cleanup runs as for Ctrl-C (the console script
installs that handler for its whole run). Python swallows an exception raised while a finalizer
(``__del__``) runs, so the handler also records the signal, and every commit checks that record
first (``raise_if_terminated``): a signal that landed in a finalizer still stops the outputs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from privsynth.errors import InputError

PathLike = str | os.PathLike[str]
_UMASK_LOCK = threading.Lock()
TEMP_SUFFIX = ".tmp"


_TERMINATED: list[int] = []


def _on_sigterm(signum: int, frame: object) -> None:
    _TERMINATED.append(signum)
    raise SystemExit(128 + signum)


def raise_if_terminated() -> None:
    """Raise ``SystemExit(128 + signum)`` if SIGTERM arrived, even if its first raise was swallowed."""
    if _TERMINATED:
        raise SystemExit(128 + _TERMINATED[0])


def install_sigterm_handler() -> None:
    """Make SIGTERM unwind like Ctrl-C (``SystemExit(143)``) so temporary files are removed."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


@contextlib.contextmanager
def _sigterm_cleans_up() -> Iterator[None]:
    """Install the SIGTERM handler for the block if none is installed (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def umask() -> int:
    """The process umask (read without leaving a window of a permissive mask)."""
    with _UMASK_LOCK:
        old = os.umask(0o077)
        os.umask(old)
    return old


def file_mode(target: Path) -> int:
    """Mode for a file written to ``target``: its current mode if it exists, else 0666 & ~umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~umask()


def _parent(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _check_parent(path: Path) -> None:
    parent = _parent(path)
    if not parent.is_dir():
        raise InputError(f"{path}: output folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{path}: output folder {parent} is not writable")


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _inside(inner: Path, folder: Path) -> bool:
    try:
        inner.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def check_outputs(
    *,
    inputs: Iterable[PathLike | None] = (),
    outputs: Iterable[PathLike | None] = (),
    folders: Iterable[PathLike | None] = (),
) -> None:
    """Refuse, before any work, outputs that would destroy an input or fail after the work.

    ``outputs`` are files to be written, ``folders`` output folders; ``None`` and ``"-"`` (stdout)
    are skipped. Raises ``InputError`` naming the path and the fix.
    """
    ins = [Path(p) for p in inputs if p is not None and str(p) != "-"]
    outs = [Path(p) for p in outputs if p is not None and str(p) != "-"]
    dirs = [Path(p) for p in folders if p is not None]
    for out in outs:
        if out.is_dir():
            raise InputError(f"{out}: is a folder; give a file name")
        if out.is_symlink() and not out.exists():
            raise InputError(f"{out}: is a dangling symbolic link; remove it or give another name")
        _check_parent(out)
        for src in ins:
            if _same(out, src):
                what = "an input" if str(out) == str(src) else f"the same file as the input {src}"
                raise InputError(
                    f"{out}: is {what} of this command; writing it would destroy the input, "
                    "give another output name"
                )
    for folder in dirs:
        if folder.exists() and not folder.is_dir():
            raise InputError(f"{folder}: exists and is not a folder")
        if not folder.exists():
            _check_parent(folder)
        elif not os.access(folder, os.W_OK | os.X_OK):
            raise InputError(f"{folder}: output folder is not writable")
        for src in ins:
            if _inside(src, folder):
                raise InputError(
                    f"{folder}: the output folder holds the input {src}; writing the folder "
                    "could destroy it, give another output folder"
                )
    every = outs + dirs
    for i, a in enumerate(every):
        for b in every[i + 1 :]:
            if _same(a, b):
                raise InputError(f"{a} and {b}: two outputs are the same path")


def _temp_beside(target: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=_parent(target))
    os.close(fd)
    return Path(tmp)


def _unlink_all(paths: Iterable[Path]) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()


def _commit(temps: list[Path], targets: list[Path]) -> None:
    """Rename every temp onto its target; on a failure restore what was there before."""
    raise_if_terminated()
    backups: list[tuple[Path, Path]] = []
    done: list[Path] = []
    try:
        for tmp, target in zip(temps, targets, strict=True):
            os.chmod(tmp, file_mode(target))
            if target.is_file():
                backup = _temp_beside(target)
                backup.unlink()
                os.link(target, backup)
                backups.append((backup, target))
        for tmp, target in zip(temps, targets, strict=True):
            os.replace(tmp, target)
            done.append(target)
    except BaseException:
        restored = {t for _, t in backups}
        _unlink_all([t for t in done if t not in restored])
        for backup, target in backups:
            with contextlib.suppress(OSError):
                os.replace(backup, target)
        raise
    finally:
        _unlink_all(b for b, _ in backups)


@contextlib.contextmanager
def atomic_group(paths: Iterable[PathLike]) -> Iterator[list[Path]]:
    """Yield a temporary path beside each of ``paths``; rename them all into place on success.

    On an exception (or SIGINT/SIGTERM) inside the block every temporary is removed and no target
    changes. Targets are renamed in the order given: put the file that vouches for the others
    (a manifest) last.
    """
    targets = [Path(p) for p in paths]
    for t in targets:
        _check_parent(t)
    temps: list[Path] = []
    with _sigterm_cleans_up():
        try:
            for t in targets:
                temps.append(_temp_beside(t))
            yield list(temps)
            _commit(temps, targets)
        finally:
            _unlink_all(p for p in temps if p.exists())


@contextlib.contextmanager
def atomic_dir(folder: PathLike) -> Iterator[Path]:
    """Yield a temporary folder; on success it becomes ``folder`` (or its files move into it).

    A new ``folder`` is one rename; an existing one keeps files the run did not write, and the
    run's files replace their namesakes as one group. On failure the temporary folder is removed.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: exists and is not a folder")
    _check_parent(folder)
    with _sigterm_cleans_up():
        tmp = Path(
            tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=TEMP_SUFFIX, dir=_parent(folder))
        )
        try:
            yield tmp
            _commit_dir(tmp, folder)
        finally:
            _unlink_all([tmp] if tmp.exists() else [])


def _commit_dir(tmp: Path, folder: Path) -> None:
    for f in tmp.rglob("*"):
        os.chmod(f, (0o777 if f.is_dir() else 0o666) & ~umask())
    if not folder.exists():
        os.chmod(tmp, 0o777 & ~umask())
        raise_if_terminated()
        os.replace(tmp, folder)
        return
    files = sorted(p for p in tmp.rglob("*") if p.is_file())
    targets = [folder / p.relative_to(tmp) for p in files]
    for t in targets:
        t.parent.mkdir(parents=True, exist_ok=True)
        if t.is_dir():
            raise InputError(f"{t}: is a folder; cannot write the output file there")
    _commit(files, targets)


def stray_temps(folder: PathLike) -> list[Path]:
    """Temporary files or folders left by an interrupted write in ``folder`` (for tests and tools)."""
    return sorted(p for p in Path(folder).glob(f".*{TEMP_SUFFIX}"))
