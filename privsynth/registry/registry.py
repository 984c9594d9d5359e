"""The registry: sources with a lifetime privacy budget, releases with lineage and status.

A **source** is a private table the organisation names (``customers``); its lifetime cap is a
zCDP budget rho. A **release** is one run that read the source through a DP mechanism (``synth``,
``certify``, DP schema inference). Its budget is **reserved** in one write transaction *before*
any private data is read: the transaction reads the source's spent units and inserts the
reservation only if ``spent + units <= cap`` (exact integers, ``privsynth.registry.budget``), so
two concurrent reservations can never both pass the cap (``privsynth.registry.store`` explains the
locking per back end).

Life cycle and what counts as spent (every status but ``cancelled``; DP composition never gives
budget back once data may have been read)::

    reserved --commit--> active --suspend--> suspended --retire--> retired
        |                   \\--------------------retire------------^
        \\--cancel (nothing was read)--> cancelled

A crash after reservation leaves the row ``reserved``: spent, and listed as such. ``cancel`` is for
a run that failed before it read any data.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from privsynth.errors import BudgetExceededError, InputError
from privsynth.registry.budget import LifetimeBudget, units_to_rho, units_up
from privsynth.registry.migrations import check_version, migrate, now
from privsynth.registry.store import Store, Tx, open_store

SOURCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
STATUSES = ("reserved", "active", "suspended", "retired", "cancelled")
KINDS = ("synth", "certify", "schema", "other")
_SPENDING = "status <> 'cancelled'"
_RELEASE_COLUMNS = (
    "id, source_id, version, parent_id, kind, method, parameters, source_version, rho_units, "
    "rho, epsilon, delta, delta_mechanisms, ledger_rho, manifest_sha256, report_sha256, "
    "manifest_path, report_path, synthetic_path, input_path, verdict, status, reason, retention_until, created, committed"
)


@dataclass(frozen=True)
class SourceInfo:
    """A source and its budget: cap, spent and left, in rho and as epsilon at ``delta``."""

    id: str
    description: str
    cap_rho: float
    cap_units: int
    delta: float
    spent_units: int
    releases: int
    created: str

    @property
    def spent_rho(self) -> float:
        return units_to_rho(self.spent_units)

    @property
    def left_units(self) -> int:
        return self.cap_units - self.spent_units

    @property
    def left_rho(self) -> float:
        return units_to_rho(self.left_units)

    def epsilon(self, rho: float) -> float:
        from privsynth.privacy.accounting import rho_to_epsilon

        return rho_to_epsilon(max(rho, 0.0), self.delta)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "description": self.description,
            "delta": self.delta,
            "cap": {"rho": self.cap_rho, "epsilon": self.epsilon(self.cap_rho)},
            "spent": {"rho": self.spent_rho, "epsilon": self.epsilon(self.spent_rho)},
            "left": {"rho": self.left_rho, "epsilon": self.epsilon(self.left_rho)},
            "units_per_rho": 10**15,
            "cap_units": self.cap_units,
            "spent_units": self.spent_units,
            "releases": self.releases,
            "created": self.created,
        }


@dataclass(frozen=True)
class ReleaseInfo:
    """One release row (see the module docstring for ``status``)."""

    id: str
    source_id: str
    version: int
    parent_id: str | None
    kind: str
    method: str | None
    parameters: str | None
    source_version: str | None
    rho_units: int
    rho: float
    epsilon: float
    delta: float
    delta_mechanisms: float
    ledger_rho: float | None
    manifest_sha256: str | None
    report_sha256: str | None
    manifest_path: str | None
    report_path: str | None
    synthetic_path: str | None
    input_path: str | None
    verdict: str | None
    status: str
    reason: str | None
    retention_until: str | None
    created: str
    committed: str | None

    def past_retention(self, today: date | None = None) -> bool:
        """Whether the retention date has passed (the release should be retired and deleted)."""
        if not self.retention_until:
            return False
        return date.fromisoformat(self.retention_until[:10]) < (today or date.today())

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["past_retention"] = self.past_retention()
        out["parameters"] = json.loads(self.parameters) if self.parameters else None
        return out


@dataclass(frozen=True)
class LedgerRow:
    seq: int
    what: str
    mechanism: str
    rho: float
    delta: float
    sensitivity: float | None
    scale: float | None
    meta: str | None


class Registry:
    """A connection to one registry (SQLite file or PostgreSQL URL). Use as a context manager."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.transaction() as tx:
            check_version(store, tx)

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    @property
    def display(self) -> str:
        return self.store.display

    # -- sources ------------------------------------------------------------------------------
    def add_source(
        self, source_id: str, budget: LifetimeBudget, description: str = ""
    ) -> SourceInfo:
        """Register a source with its lifetime cap; an existing id is an error (caps never change)."""
        if not SOURCE_ID.match(source_id or ""):
            raise InputError(
                f"source id {source_id!r}: use letters, digits, '.', '_' or '-' (at most 128)"
            )
        with self.store.transaction(write=True) as tx:
            if tx.one("SELECT 1 FROM sources WHERE id = ?", (source_id,)):
                raise InputError(f"source {source_id!r} already exists in {self.display}")
            tx.execute(
                "INSERT INTO sources (id, description, cap_units, cap_rho, display_delta, "
                "budget_spec, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    source_id,
                    description,
                    budget.units,
                    budget.rho,
                    budget.delta,
                    budget.spec,
                    now(),
                ),
            )
        return self.source(source_id)

    def source(self, source_id: str) -> SourceInfo:
        with self.store.transaction() as tx:
            return _source(tx, source_id, self.display)

    def sources(self) -> list[SourceInfo]:
        with self.store.transaction() as tx:
            ids = [r[0] for r in tx.all("SELECT id FROM sources ORDER BY id")]
            return [_source(tx, i, self.display) for i in ids]

    # -- reservations -------------------------------------------------------------------------
    def reserve(
        self,
        source_id: str,
        rho: float,
        *,
        delta: float,
        epsilon: float | None = None,
        delta_mechanisms: float = 0.0,
        kind: str = "synth",
        method: str | None = None,
        parameters: dict[str, Any] | None = None,
        parent_id: str | None = None,
        source_version: str | None = None,
        retention_until: str | None = None,
    ) -> ReleaseInfo:
        """Reserve ``rho`` of the source's lifetime cap, atomically; refuse if it does not fit."""
        _check_spend(rho, delta, delta_mechanisms, kind)
        if epsilon is None:
            from privsynth.privacy.accounting import rho_to_epsilon

            epsilon = rho_to_epsilon(rho, delta)
        row: dict[str, Any] = {
            "id": "r-" + secrets.token_hex(8), "source_id": source_id, "parent_id": parent_id,
            "kind": kind, "method": method, "source_version": source_version,
            "parameters": json.dumps(parameters, sort_keys=True, default=str) if parameters else None,
            "rho_units": units_up(rho), "rho": float(rho), "epsilon": float(epsilon),
            "delta": float(delta), "delta_mechanisms": float(delta_mechanisms),
            "status": "reserved", "retention_until": retention_until, "created": now(),
        }  # fmt: skip
        with self.store.transaction(write=True) as tx:
            if not tx.lock_source(source_id):
                raise InputError(_unknown_source(tx, source_id, self.display))
            if parent_id is not None:
                row["parent_id"] = _resolve_parent(tx, parent_id)
            src = _source(tx, source_id, self.display)
            fits = src.spent_units + row["rho_units"] <= src.cap_units
            if fits:
                last = tx.one("SELECT MAX(version) FROM releases WHERE source_id = ?", (source_id,))
                row["version"] = int(last[0] or 0) + 1 if last else 1
                cols = ", ".join(row)
                marks = ", ".join("?" * len(row))
                tx.execute(f"INSERT INTO releases ({cols}) VALUES ({marks})", list(row.values()))
                _event(tx, row["id"], "reserved", f"rho={rho!r} units={row['rho_units']}")
        if not fits:  # the message is built outside the transaction, so the lock is short
            raise BudgetExceededError(_refusal(src, rho, float(epsilon), delta))
        return self.release(row["id"])

    def cancel(self, release_id: str, reason: str = "failed before reading data") -> ReleaseInfo:
        """Give a reservation back (only for a run that read no private data)."""
        with self.store.transaction(write=True) as tx:
            rel = _release(tx, release_id)
            if rel.status != "reserved":
                raise InputError(
                    f"release {rel.id} is {rel.status}; only a reservation can be cancelled"
                )
            tx.execute(
                "UPDATE releases SET status = 'cancelled', reason = ? WHERE id = ?",
                (reason, rel.id),
            )
            _event(tx, rel.id, "cancelled", reason)
        return self.release(rel.id)

    def commit(
        self,
        release_id: str,
        *,
        manifest_path: Path | None = None,
        report_path: Path | None = None,
        verdict: str | None = None,
        ledger_entries: Sequence[dict[str, Any]] | None = None,
        public_id: str | None = None,
        synthetic_path: Path | None = None,
        input_path: Path | None = None,
    ) -> ReleaseInfo:
        """Record a finished run: hashes of its outputs, its ledger, its verdict; status active."""
        manifest = _read_json(manifest_path) if manifest_path is not None else {}
        if ledger_entries is None:
            ledger_entries = manifest_ledger(manifest)
        if public_id is None and isinstance(manifest.get("release_id"), str):
            public_id = manifest["release_id"]
        entries = list(ledger_entries)
        ledger_rho = math.fsum(float(e.get("rho", 0.0)) for e in entries) if entries else None
        with self.store.transaction(write=True) as tx:
            rel = _release(tx, release_id)
            if rel.status != "reserved":
                raise InputError(f"release {rel.id} is {rel.status}, not a reservation to commit")
            new_id = rel.id
            if public_id and public_id != rel.id:
                if tx.one("SELECT 1 FROM releases WHERE id = ?", (public_id,)):
                    raise InputError(f"release id {public_id!r} is already in the registry")
                tx.execute("UPDATE releases SET id = ? WHERE id = ?", (public_id, rel.id))
                new_id = public_id
            params = manifest.get("parameters")
            values = {
                "status": "active", "committed": now(),
                "manifest_sha256": _sha(manifest_path), "report_sha256": _sha(report_path),
                "manifest_path": _abs(manifest_path), "report_path": _abs(report_path),
                "synthetic_path": _abs(synthetic_path), "input_path": _abs(input_path),
                "verdict": verdict, "ledger_rho": ledger_rho,
                "method": manifest.get("method") or rel.method,
                "parameters": json.dumps(params, sort_keys=True, default=str)
                if isinstance(params, dict) else rel.parameters,
            }  # fmt: skip
            sets = ", ".join(f"{k} = ?" for k in values)
            tx.execute(f"UPDATE releases SET {sets} WHERE id = ?", [*values.values(), new_id])
            _insert_ledger(tx, new_id, entries)
            detail = f"verdict={verdict}"
            if ledger_rho is not None and units_up(ledger_rho) > rel.rho_units:
                detail += f"; WARNING ledger rho {ledger_rho!r} exceeds the reservation {rel.rho!r}"
            _event(tx, new_id, "committed", detail)
        return self.release(new_id)

    # -- releases -----------------------------------------------------------------------------
    def release(self, release_id: str) -> ReleaseInfo:
        with self.store.transaction() as tx:
            return _release(tx, release_id)

    def releases(
        self, source_id: str | None = None, status: str | None = None
    ) -> list[ReleaseInfo]:
        sql, params = f"SELECT {_RELEASE_COLUMNS} FROM releases WHERE 1 = 1", []
        if source_id is not None:
            sql, params = sql + " AND source_id = ?", [*params, source_id]
        if status is not None:
            if status not in STATUSES:
                raise InputError(f"status {status!r}: one of {', '.join(STATUSES)}")
            sql, params = sql + " AND status = ?", [*params, status]
        with self.store.transaction() as tx:
            if source_id is not None and not tx.one(
                "SELECT 1 FROM sources WHERE id = ?", (source_id,)
            ):
                raise InputError(_unknown_source(tx, source_id, self.display))
            rows = tx.all(sql + " ORDER BY source_id, version", params)
        return [ReleaseInfo(*r) for r in rows]

    def lineage(self, release_id: str) -> list[ReleaseInfo]:
        """The release and its ancestors, newest first (a cycle cannot exist: parents come first)."""
        chain = [self.release(release_id)]
        while chain[-1].parent_id is not None and len(chain) < 10_000:
            chain.append(self.release(chain[-1].parent_id))
        return chain

    def children(self, release_id: str) -> list[ReleaseInfo]:
        with self.store.transaction() as tx:
            rows = tx.all(
                f"SELECT {_RELEASE_COLUMNS} FROM releases WHERE parent_id = ? ORDER BY version",
                (release_id,),
            )
        return [ReleaseInfo(*r) for r in rows]

    def ledger(self, release_id: str) -> list[LedgerRow]:
        with self.store.transaction() as tx:
            rows = tx.all(
                "SELECT seq, what, mechanism, rho, delta, sensitivity, scale, meta FROM "
                "ledger_entries WHERE release_id = ? ORDER BY seq",
                (release_id,),
            )
        return [LedgerRow(*r) for r in rows]

    def events(self, release_id: str) -> list[tuple[str, str, str | None]]:
        with self.store.transaction() as tx:
            return [
                (r[0], r[1], r[2])
                for r in tx.all(
                    "SELECT at, action, detail FROM events WHERE release_id = ? ORDER BY id",
                    (release_id,),
                )
            ]

    def set_status(self, release_id: str, status: str, reason: str) -> ReleaseInfo:
        """Suspend or retire a release (with a reason, kept in the audit trail)."""
        allowed = {"suspended": ("active",), "retired": ("active", "suspended")}
        if status not in allowed:
            raise InputError(f"status {status!r}: a release can be suspended or retired")
        if not reason or not reason.strip():
            raise InputError(f"{status} needs a --reason (it is kept in the audit trail)")
        with self.store.transaction(write=True) as tx:
            rel = _release(tx, release_id)
            if rel.status not in allowed[status]:
                raise InputError(
                    f"release {rel.id} is {rel.status}; only {' or '.join(allowed[status])} "
                    f"releases can be {status}"
                )
            tx.execute(
                "UPDATE releases SET status = ?, reason = ? WHERE id = ?", (status, reason, rel.id)
            )
            _event(tx, rel.id, status, reason)
        return self.release(rel.id)

    def set_retention(self, release_id: str, until: str) -> ReleaseInfo:
        """Set the date (YYYY-MM-DD) after which the release must no longer be kept or used."""
        try:
            day = date.fromisoformat(until)
        except (TypeError, ValueError):
            raise InputError(f"retention date {until!r}: give it as YYYY-MM-DD") from None
        with self.store.transaction(write=True) as tx:
            rel = _release(tx, release_id)
            if rel.status in ("reserved", "cancelled"):
                raise InputError(f"release {rel.id} is {rel.status}: nothing released to retain")
            tx.execute(
                "UPDATE releases SET retention_until = ? WHERE id = ?", (day.isoformat(), rel.id)
            )
            _event(tx, rel.id, "retention", f"until {day.isoformat()}")
        return self.release(rel.id)

    def record_event(self, release_id: str, action: str, detail: str) -> None:
        with self.store.transaction(write=True) as tx:
            rel = _release(tx, release_id)
            _event(tx, rel.id, action, detail)


# -- helpers ------------------------------------------------------------------------------------
def init_registry(location: str | Path) -> tuple[int, int]:
    """Create (or migrate) the registry at ``location``; returns (version before, after)."""
    store = open_store(location, create=True)
    try:
        return migrate(store)
    finally:
        store.close()


def open_registry(location: str | Path) -> Registry:
    """Open an initialised registry (InputError for a missing, foreign or other-version one)."""
    store = open_store(location)
    try:
        return Registry(store)
    except BaseException:
        store.close()
        raise


def manifest_ledger(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The ledger entries of a privsynth manifest (an empty list if it has none)."""
    ledger = manifest.get("privacy", {}).get("ledger") if isinstance(manifest, dict) else None
    entries = ledger.get("entries") if isinstance(ledger, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _check_spend(rho: float, delta: float, delta_mechanisms: float, kind: str) -> None:
    if (
        isinstance(rho, bool)
        or not isinstance(rho, float | int)
        or not math.isfinite(rho)
        or rho <= 0
    ):
        raise InputError(f"a reservation needs a finite rho > 0, got {rho!r}")
    if not isinstance(delta, float | int) or not 0 < delta < 1:
        raise InputError(f"a reservation needs a delta in (0, 1), got {delta!r}")
    if not 0 <= delta_mechanisms < 1:
        raise InputError(f"delta_mechanisms must be in [0, 1), got {delta_mechanisms!r}")
    if kind not in KINDS:
        raise InputError(f"kind {kind!r}: one of {', '.join(KINDS)}")


def _source(tx: Tx, source_id: str, display: str) -> SourceInfo:
    row = tx.one(
        "SELECT id, description, cap_rho, cap_units, display_delta, created FROM sources WHERE id = ?",
        (source_id,),
    )
    if row is None:
        raise InputError(_unknown_source(tx, source_id, display))
    spent = tx.one(
        f"SELECT COALESCE(SUM(rho_units), 0), COUNT(*) FROM releases WHERE source_id = ? AND {_SPENDING}",
        (source_id,),
    )
    assert spent is not None
    return SourceInfo(
        id=row[0], description=row[1], cap_rho=float(row[2]), cap_units=int(row[3]),
        delta=float(row[4]), spent_units=int(spent[0]), releases=int(spent[1]), created=row[5],
    )  # fmt: skip


def _unknown_source(tx: Tx, source_id: str, display: str) -> str:
    known = [r[0] for r in tx.all("SELECT id FROM sources ORDER BY id LIMIT 10")]
    hint = f"known: {', '.join(known)}" if known else "the registry has no sources yet"
    return (
        f"source {source_id!r} is not in registry {display} ({hint}); add it with "
        f"`privsynth source add {source_id} --budget epsilon=E,delta=D --registry {display}`"
    )


def _refusal(src: SourceInfo, rho: float, eps: float, delta: float) -> str:
    left = src.left_rho
    return (
        f"source {src.id!r}: this release needs rho={rho:.6g} (epsilon={eps:.4g} at delta={delta:g}) "
        f"but only rho={left:.6g} (epsilon={src.epsilon(left):.4g} at delta={src.delta:g}) is left "
        f"of its lifetime cap rho={src.cap_rho:.6g} (epsilon={src.epsilon(src.cap_rho):.4g}); "
        "nothing was read"
    )


def _release(tx: Tx, release_id: str) -> ReleaseInfo:
    row = tx.one(f"SELECT {_RELEASE_COLUMNS} FROM releases WHERE id = ?", (release_id,))
    if row is None:
        raise InputError(
            f"release {release_id!r}: not in the registry (see `privsynth release list`)"
        )
    return ReleaseInfo(*row)


def _resolve_parent(tx: Tx, parent_id: str) -> str:
    parent = _release(tx, parent_id)
    if parent.status in ("reserved", "cancelled"):
        raise InputError(
            f"--parent {parent_id}: that release is {parent.status}, not a finished release"
        )
    return parent.id


def _event(tx: Tx, release_id: str, action: str, detail: str | None) -> None:
    tx.execute(
        "INSERT INTO events (release_id, at, action, detail) VALUES (?, ?, ?, ?)",
        (release_id, now(), action, detail),
    )


def _insert_ledger(tx: Tx, release_id: str, entries: Iterable[dict[str, Any]]) -> None:
    for seq, e in enumerate(entries):
        tx.execute(
            "INSERT INTO ledger_entries (release_id, seq, what, mechanism, rho, delta, sensitivity, "
            "scale, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                release_id, seq, str(e.get("what", "")), str(e.get("mechanism", "")),
                float(e.get("rho", 0.0)), float(e.get("delta", 0.0) or 0.0),
                _opt_float(e.get("sensitivity")), _opt_float(e.get("scale")),
                json.dumps(e.get("meta"), sort_keys=True, default=str) if e.get("meta") else None,
            ),
        )  # fmt: skip


def _abs(path: Path | None) -> str | None:
    return None if path is None else str(Path(path).resolve())


def _opt_float(x: Any) -> float | None:
    return None if x is None else float(x)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such manifest") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a JSON manifest ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a manifest is a JSON object")
    return data


def _sha(path: Path | None) -> str | None:
    if path is None:
        return None
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def iter_chain(chain: Sequence[ReleaseInfo]) -> Iterator[str]:
    """One line per release of a lineage chain, oldest first."""
    for depth, rel in enumerate(reversed(chain)):
        yield (
            f"{'  ' * depth}{'└─ ' if depth else ''}{rel.id}  v{rel.version}  {rel.status}  "
            f"{rel.method or rel.kind}  epsilon={rel.epsilon:.4g}  verdict={rel.verdict or '-'}"
        )
