"""Budget enforcement for ``synth``, ``certify`` and DP schema inference: reserve, then commit.

The protocol a release path follows (``privsynth/cli/synth.py`` shows it)::

    reservation = reserve(registry, source, rho, delta=...)    # BEFORE any private data is read
    with reservation.release_on_error():                         # a failure here gives it back
        inputs = load_inputs(...)                                # (nothing was measured yet)
    ... fit, sample, write the outputs ...                       # a crash here keeps it spent
    reservation.commit(manifest_path, report_path, verdict)      # after the outputs are written

Why the reservation can be given back when loading fails: the budget protects what is *released*;
a run that stops while loading has computed no measurement, so nothing that needs budget exists.
Any failure later (a crash in fit, a kill, a full disk) keeps the reservation: the row stays
``reserved`` and counts as spent, because noisy measurements may already have left the process
(progress output, a partial file) and the registry cannot know they did not.

``cli_reserve`` / ``cli_commit`` are the one-line hooks the commands call; both do nothing when
no ``--registry`` is given.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privsynth.errors import InputError
from privsynth.registry.registry import ReleaseInfo, open_registry

REGISTRY_ENV = "PRIVSYNTH_REGISTRY"


@dataclass(frozen=True)
class Reservation:
    """A reserved share of a source's lifetime budget; finish it with commit() or release()."""

    registry_url: str
    release_id: str
    source_id: str
    rho: float
    version: int

    def commit(
        self,
        manifest_path: Path | None = None,
        report_path: Path | None = None,
        verdict: str | None = None,
        ledger_entries: Sequence[dict[str, Any]] | None = None,
        *,
        datasheet_path: Path | None = None,
        synthetic_path: Path | None = None,
        input_path: Path | None = None,
    ) -> ReleaseInfo:
        """Record the finished release (outputs' hashes, ledger, verdict); status becomes active.

        ``synthetic_path`` and ``input_path`` are kept in the registry (an internal record, like
        the private run record) so that ``drift`` and ``release reaudit`` can find them."""
        with open_registry(self.registry_url) as reg:
            rel = reg.commit(
                self.release_id,
                manifest_path=manifest_path,
                report_path=report_path,
                verdict=verdict,
                ledger_entries=ledger_entries,
                synthetic_path=synthetic_path,
                input_path=input_path,
            )
            chain = reg.lineage(rel.id)
        if datasheet_path is not None and Path(datasheet_path).is_file():
            annotate_datasheet(Path(datasheet_path), rel, chain)
        return rel

    def release(self, reason: str = "failed before reading data") -> ReleaseInfo:
        """Give the budget back: only for a run that read no private data."""
        with open_registry(self.registry_url) as reg:
            return reg.cancel(self.release_id, reason)

    @contextlib.contextmanager
    def release_on_error(self) -> Iterator[Reservation]:
        """Give the reservation back if the block (loading the inputs) raises."""
        try:
            yield self
        except BaseException as exc:
            with contextlib.suppress(Exception):
                self.release(f"failed before any measurement: {type(exc).__name__}: {exc}"[:500])
            raise


def reserve(
    registry_url: str | Path,
    source_id: str,
    rho: float,
    *,
    delta: float,
    epsilon: float | None = None,
    delta_mechanisms: float = 0.0,
    kind: str = "synth",
    method: str | None = None,
    parameters: dict[str, Any] | None = None,
    parent: str | None = None,
    source_version: str | None = None,
) -> Reservation:
    """Reserve ``rho`` from ``source_id``'s lifetime cap in one transaction (or raise, exit 2)."""
    with open_registry(registry_url) as reg:
        rel = reg.reserve(
            source_id,
            rho,
            delta=delta,
            epsilon=epsilon,
            delta_mechanisms=delta_mechanisms,
            kind=kind,
            method=method,
            parameters=parameters,
            parent_id=parent,
            source_version=source_version,
        )
    return Reservation(str(registry_url), rel.id, source_id, rel.rho, rel.version)


def cli_reserve(
    registry: str | None,
    source: str | None,
    parent: str | None,
    *,
    kind: str,
    epsilon: float,
    delta: float,
    method: str | None = None,
    rho: float | None = None,
    delta_mechanisms: float = 0.0,
) -> Reservation | None:
    """The commands' hook: None without ``--source``; else a reservation of the run's budget.

    ``rho`` defaults to the conversion of (epsilon, delta) (the Budget's rho when no delta is
    reserved for mechanisms), which is at least what the run's ledger may spend.
    """
    if source is None:
        if parent is not None:
            raise InputError(
                "--parent needs --source (and --registry): lineage lives in a registry"
            )
        if registry:
            raise InputError(
                "--registry needs --source ID: the source whose budget this run spends"
            )
        return None
    registry = registry or os.environ.get(REGISTRY_ENV) or None
    if registry is None:
        raise InputError(f"--source needs --registry PATH_OR_URL (or {REGISTRY_ENV})")
    if rho is None:
        from privsynth.privacy.accounting import epsilon_to_rho

        rho = epsilon_to_rho(epsilon, delta - delta_mechanisms)
    return reserve(
        registry,
        source,
        rho,
        delta=delta,
        epsilon=epsilon,
        delta_mechanisms=delta_mechanisms,
        kind=kind,
        method=method,
        parent=parent,
    )


def release_on_error(reservation: Reservation | None) -> contextlib.AbstractContextManager[Any]:
    """``reservation.release_on_error()``, or a no-op without a registry."""
    return reservation.release_on_error() if reservation is not None else contextlib.nullcontext()


def cli_commit(
    reservation: Reservation | None,
    manifest_path: Path,
    *,
    report_path: Path | None = None,
    verdict: str | None = None,
    datasheet_path: Path | None = None,
    synthetic_path: Path | None = None,
    input_path: Path | None = None,
    quiet: bool = False,
) -> ReleaseInfo | None:
    """The commands' hook after the outputs are written (no-op without a registry)."""
    if reservation is None:
        return None
    rel = reservation.commit(
        manifest_path,
        report_path,
        verdict,
        datasheet_path=datasheet_path,
        synthetic_path=synthetic_path,
        input_path=input_path,
    )
    if not quiet:
        from rich.console import Console

        Console(stderr=True).print(
            f"registry: release {rel.id} (v{rel.version} of {rel.source_id}) recorded; "
            f"rho={rel.rho:.6g} spent from the source's lifetime cap",
            highlight=False,
        )
    return rel


def annotate_datasheet(path: Path, rel: ReleaseInfo, chain: Sequence[ReleaseInfo]) -> None:
    """Append the registry's record (release id, version, lineage, status) to a datasheet."""
    from privsynth.io import write_text

    text = path.read_text(encoding="utf-8").rstrip("\n")
    lines = [
        "",
        "## Registry",
        "",
        f"- release id: `{rel.id}`, version {rel.version} of source `{rel.source_id}`",
        f"- status: **{rel.status}** (check `privsynth release show {rel.id}` before use: a "
        "release can be suspended or retired after this sheet was written)",
        f"- budget spent from the source's lifetime cap: rho = {rel.rho:.6g} "
        f"(epsilon = {rel.epsilon:.4g} at delta = {rel.delta:g})",
        "- lineage: " + " <- ".join(f"`{r.id}` (v{r.version})" for r in chain),
    ]
    write_text(path, text + "\n" + "\n".join(lines) + "\n")


STATUS_MARK = "<!-- privsynth registry status -->"


def flag_release_files(rel: ReleaseInfo) -> list[Path]:
    """Put a status banner at the top of a suspended or retired release's datasheet and
    Markdown/HTML reports (the files beside its recorded ``report.json``, where they still exist).

    ``report.json`` itself is left as written: the registry holds its hash, and a changed file
    would no longer match; its status is the registry's (``privsynth release show``). A banner
    written earlier is replaced, so suspending then retiring leaves one banner. Returns the files
    changed.
    """
    from privsynth.io import write_text

    if rel.report_path is None or rel.status not in ("suspended", "retired"):
        return []
    folder = Path(rel.report_path).parent
    text = (
        f"**{rel.status.upper()}**: release `{rel.id}` was {rel.status} in the registry "
        f"({rel.reason or 'no reason given'}). Do not use or publish it; see "
        f"`privsynth release show {rel.id}`."
    )
    changed = []
    for name in ("datasheet.md", "report.md", "report.html"):
        path = folder / name
        if not path.is_file():
            continue
        body = path.read_text(encoding="utf-8")
        if body.startswith(STATUS_MARK):
            body = body.split("\n", 2)[2] if body.count("\n") >= 2 else ""
        banner = f"<p><strong>{text}</strong></p>" if name.endswith(".html") else text
        write_text(path, f"{STATUS_MARK}\n{banner}\n{body}")
        changed.append(path)
    return changed
