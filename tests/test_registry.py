"""The registry on SQLite and PostgreSQL: exact lifetime caps, reservations, lineage, status, bad input."""

from __future__ import annotations

import json
import math
import multiprocessing
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from privsynth.errors import BudgetExceededError, InputError
from privsynth.privacy.accounting import epsilon_to_rho, rho_to_epsilon
from privsynth.registry import init_registry, open_registry, parse_budget, reserve
from privsynth.registry.budget import units_down, units_up
from privsynth.registry.store import parse_location
from privsynth.registry.testing import backend, new_registry, registry_url  # noqa: F401


def test_units_round_against_the_user() -> None:
    # float 0.1 is 0.1000000000000000055...: its spend rounds up, a cap of 0.1 rounds down.
    assert units_up(0.1) == 100_000_000_000_001
    assert units_down(0.1) == 100_000_000_000_000
    assert units_up(2.0**-10) == units_down(2.0**-10)  # exact multiples of the unit stay exact


def test_budget_units_parse_and_refuse() -> None:
    b = parse_budget("epsilon=3,delta=1e-9")
    assert b.rho == epsilon_to_rho(3.0, 1e-9)
    assert rho_to_epsilon(b.rho, 1e-9) <= 3.0
    assert parse_budget("rho=0.5").rho == 0.5
    for bad, words in [
        ("epsilon=3", "needs a delta"),
        ("eps=3,delta=1e-9", "unknown unit 'eps'"),
        ("3", "has no unit"),
        ("rho=0.5,epsilon=1,delta=1e-9", "not both"),
        ("rho=-1", "> 0"),
        ("rho=abc", "not a number"),
        ("rho=1e6", "above the limit"),
    ]:
        with pytest.raises(InputError, match=words):
            parse_budget(bad)


def test_exact_cap_beats_float_accumulation(registry_url: str) -> None:  # noqa: F811
    """Ten spends of float 0.1 exceed a cap of 1.0 by 5.6e-17 (naive summation says 0.9999...):
    the registry admits nine."""
    naive = 0.0
    for _ in range(10):
        naive += 0.1
    assert naive <= 1.0  # a float accumulator would let the tenth through
    with open_registry(registry_url) as reg:
        reg.add_source("s", parse_budget("rho=1.0"))
        ok = 0
        with pytest.raises(BudgetExceededError, match="is left of its lifetime cap"):
            for _ in range(10):
                reg.reserve("s", 0.1, delta=1e-9)
                ok += 1
        assert ok == 9
        spends = [r.rho for r in reg.releases("s")]
        assert math.fsum(spends) <= 1.0


@pytest.mark.slow
def test_thousand_sequential_releases_exact(tmp_path: Path) -> None:
    """1,000 releases of 2^-10 fill a cap of 1000 * 2^-10 exactly; the next one is refused; the
    stored spends never sum above the cap. (SQLite; PostgreSQL runs the same code.)"""
    url = str(tmp_path / "r.db")
    init_registry(url)
    step = 2.0**-10
    with open_registry(url) as reg:
        reg.add_source("s", parse_budget(f"rho={1000 * step!r}"))
        t0 = time.perf_counter()
        for _ in range(1000):
            reg.reserve("s", step, delta=1e-9, epsilon=0.1, method="independent")
        elapsed = time.perf_counter() - t0
        with pytest.raises(BudgetExceededError):
            reg.reserve("s", 1e-15, delta=1e-9)
        src = reg.source("s")
        rels = reg.releases("s")
    assert src.spent_units == src.cap_units and src.left_units == 0
    assert [r.version for r in rels] == list(range(1, 1001))
    assert math.fsum(r.rho for r in rels) == 1000 * step
    assert all(r.status == "reserved" for r in rels)  # reservations count as spent
    assert elapsed < 60  # a loose guard only; the target is measured in benchmarks/


def test_reserve_commit_cancel_and_lineage(registry_url: str, tmp_path: Path) -> None:  # noqa: F811
    manifest = tmp_path / "m.json"
    entries = [{"what": "count", "mechanism": "gaussian", "rho": 0.01, "delta": 0.0}]
    manifest.write_text(
        json.dumps(
            {
                "release_id": "rel-abc",
                "method": "mst",
                "parameters": {"x": 1},
                "privacy": {"ledger": {"entries": entries}},
            }
        )
    )
    init_registry(registry_url)  # idempotent: nothing to migrate
    with open_registry(registry_url) as reg:
        reg.add_source("cust", parse_budget("epsilon=2,delta=1e-9"), "customer table")
        with pytest.raises(InputError, match="already exists"):
            reg.add_source("cust", parse_budget("rho=1"))
    res = reserve(registry_url, "cust", 0.02, delta=1e-9, kind="certify")
    rel = res.commit(manifest, verdict="PASS")
    assert rel.id == "rel-abc" and rel.status == "active" and rel.ledger_rho == 0.01
    assert rel.method == "mst" and rel.version == 1
    child = reserve(registry_url, "cust", 0.02, delta=1e-9, parent="rel-abc")
    child.release()
    with open_registry(registry_url) as reg:
        assert reg.release(child.release_id).status == "cancelled"
        src = reg.source("cust")
        assert src.spent_units == units_up(0.02)  # the cancelled one gave its budget back
        crashed = reg.reserve("cust", 0.03, delta=1e-9, parent_id="rel-abc")
        # a crash after reservation: the row stays reserved and keeps counting
        assert reg.source("cust").spent_units == units_up(0.02) + units_up(0.03)
        done = reg.commit(crashed.id, verdict="FAIL")
        assert [r.id for r in reg.lineage(done.id)] == [done.id, "rel-abc"]
        assert [e[1] for e in reg.events(done.id)] == ["reserved", "committed"]
        assert reg.ledger("rel-abc")[0].mechanism == "gaussian"
        with pytest.raises(InputError, match="not a reservation"):
            reg.commit(done.id)
        reg.set_status(done.id, "suspended", "suspected leak, ticket 42")
        with pytest.raises(InputError, match="only active"):
            reg.set_status(done.id, "suspended", "again")
        retired = reg.set_status(done.id, "retired", "superseded")
        assert retired.status == "retired" and retired.reason == "superseded"
        assert reg.source("cust").spent_units == units_up(0.02) + units_up(0.03)
        with pytest.raises(InputError, match="needs a --reason"):
            reg.set_status("rel-abc", "retired", " ")
        with pytest.raises(InputError, match="not in the registry"):
            reg.release("nope")


def test_unknown_source_and_bad_parent(registry_url: str) -> None:  # noqa: F811
    with pytest.raises(InputError, match="'ghost' is not in registry.*no sources yet"):
        reserve(registry_url, "ghost", 0.1, delta=1e-9)
    with open_registry(registry_url) as reg:
        reg.add_source("a", parse_budget("rho=1"))
        with pytest.raises(InputError, match="source id"):
            reg.add_source("bad id!", parse_budget("rho=1"))
        with pytest.raises(InputError, match="not in the registry"):
            reg.reserve("a", 0.1, delta=1e-9, parent_id="r-missing")
        pending = reg.reserve("a", 0.1, delta=1e-9)
        with pytest.raises(InputError, match="is reserved, not a finished release"):
            reg.reserve("a", 0.1, delta=1e-9, parent_id=pending.id)
        with pytest.raises(InputError, match="finite rho"):
            reg.reserve("a", float("nan"), delta=1e-9)
        assert reg.source("a").releases == 1  # refusals wrote nothing


def test_not_a_registry_and_bad_locations(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("hello, this is not a database\n" * 100)
    with pytest.raises(InputError, match="not a privsynth registry"):
        open_registry(junk)
    with pytest.raises(InputError, match="not a privsynth registry"):
        init_registry(junk)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(InputError, match="other tables: customers"):
        init_registry(other)
    missing = tmp_path / "missing.db"
    with pytest.raises(InputError, match="no such file.*registry init"):
        open_registry(missing)
    assert not missing.exists()  # opening never creates a file
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(InputError, match="not initialised"):
        open_registry(empty)
    with pytest.raises(InputError, match="unsupported scheme 'mysql'"):
        open_registry("mysql://u:secret@h/db")
    with pytest.raises(InputError, match="folder .* does not exist"):
        init_registry(tmp_path / "no" / "r.db")
    assert parse_location("sqlite:///rel.db") == ("sqlite", "rel.db")
    assert parse_location("sqlite:////abs/r.db") == ("sqlite", "/abs/r.db")
    assert parse_location("postgres://u@h/db") == ("postgresql", "postgresql://u@h/db")


def test_postgres_down_is_one_line() -> None:
    pytest.importorskip("psycopg")
    from privsynth.registry.pgserver import free_port

    url = f"postgresql://postgres:hunter2@127.0.0.1:{free_port()}/postgres"
    with pytest.raises(InputError, match="cannot connect to PostgreSQL") as info:
        open_registry(url)
    assert "hunter2" not in str(info.value)  # the password is redacted
    assert "\n" not in str(info.value)


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    url = str(tmp_path / "r.db")
    init_registry(url)
    with sqlite3.connect(url) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'future')")
    with pytest.raises(InputError, match="newer than this privsynth"):
        open_registry(url)


def _race_worker(url: str, barrier: Any, results: Any) -> None:
    barrier.wait(timeout=60)
    try:
        reserve(url, "last", 0.1, delta=1e-9)
        results.put("ok")
    except BudgetExceededError:
        results.put("refused")
    except Exception as exc:  # reported by the parent's assertion
        results.put(f"error: {type(exc).__name__}: {exc}")


def test_eight_processes_race_for_the_last_budget(registry_url: str) -> None:  # noqa: F811
    """8 real processes (forked, each with its own connection) reserve 0.1 each from a source
    with 0.35 left, released at once by a barrier: exactly 3 succeed."""
    with open_registry(registry_url) as reg:
        reg.add_source("last", parse_budget("rho=0.45"))
        reg.commit(reg.reserve("last", 0.1, delta=1e-9).id)
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(8), ctx.Queue()
    procs = [
        ctx.Process(target=_race_worker, args=(registry_url, barrier, results)) for _ in range(8)
    ]
    for p in procs:
        p.start()
    outcomes = sorted(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert outcomes == ["ok"] * 3 + ["refused"] * 5, outcomes
    with open_registry(registry_url) as reg:
        src = reg.source("last")
    assert src.releases == 4 and src.spent_units <= src.cap_units


def test_new_registry_helper_gives_distinct_databases(backend: str, tmp_path: Path) -> None:  # noqa: F811
    a = new_registry(backend, tmp_path / "a" if backend == "sqlite" else tmp_path)
    if backend == "sqlite":
        Path(a).parent.mkdir()
    b = new_registry(backend, tmp_path)
    assert a != b
