"""Versioned migrations of the registry's tables (the same SQL on SQLite and PostgreSQL).

Each migration is a number and a list of statements, applied in one transaction and recorded in
``schema_migrations``. ``privsynth registry init`` applies every pending one; every other command
refuses a registry whose version differs from this code's (older: run init to migrate; newer:
upgrade privsynth), so no command ever writes through a schema it does not know.

``{serial}`` expands to an auto-incrementing integer key in each dialect.

Tables: ``registry_meta`` (the format marker that tells a registry from any other database),
``sources`` (a stable id, a lifetime cap in exact integer units of rho), ``releases`` (one row per
reservation: lineage, spend, hashes, verdict, status), ``ledger_entries`` (the measurements of a
release) and ``events`` (the audit trail: reserved, committed, suspended, retired, reaudited).
"""

from __future__ import annotations

from datetime import UTC, datetime

from privsynth.errors import InputError
from privsynth.registry.store import Store, Tx

REGISTRY_FORMAT = "privsynth-registry/1"

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            "CREATE TABLE registry_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """CREATE TABLE sources (
                id TEXT PRIMARY KEY,
                description TEXT NOT NULL DEFAULT '',
                cap_units BIGINT NOT NULL CHECK (cap_units > 0),
                cap_rho DOUBLE PRECISION NOT NULL,
                display_delta DOUBLE PRECISION NOT NULL,
                budget_spec TEXT NOT NULL,
                created TEXT NOT NULL
            )""",
            """CREATE TABLE releases (
                id TEXT PRIMARY KEY,
                source_id TEXT NOT NULL REFERENCES sources(id),
                version INTEGER NOT NULL,
                parent_id TEXT REFERENCES releases(id) ON UPDATE CASCADE,
                kind TEXT NOT NULL,
                method TEXT,
                parameters TEXT,
                source_version TEXT,
                rho_units BIGINT NOT NULL CHECK (rho_units > 0),
                rho DOUBLE PRECISION NOT NULL,
                epsilon DOUBLE PRECISION NOT NULL,
                delta DOUBLE PRECISION NOT NULL,
                delta_mechanisms DOUBLE PRECISION NOT NULL DEFAULT 0,
                ledger_rho DOUBLE PRECISION,
                manifest_sha256 TEXT,
                report_sha256 TEXT,
                manifest_path TEXT,
                report_path TEXT,
                synthetic_path TEXT,
                input_path TEXT,
                verdict TEXT,
                status TEXT NOT NULL CHECK (status IN
                    ('reserved', 'active', 'suspended', 'retired', 'cancelled')),
                reason TEXT,
                retention_until TEXT,
                created TEXT NOT NULL,
                committed TEXT,
                UNIQUE (source_id, version)
            )""",
            "CREATE INDEX releases_by_source ON releases (source_id, status)",
            """CREATE TABLE ledger_entries (
                release_id TEXT NOT NULL REFERENCES releases(id) ON UPDATE CASCADE,
                seq INTEGER NOT NULL,
                what TEXT NOT NULL,
                mechanism TEXT NOT NULL,
                rho DOUBLE PRECISION NOT NULL,
                delta DOUBLE PRECISION NOT NULL DEFAULT 0,
                sensitivity DOUBLE PRECISION,
                scale DOUBLE PRECISION,
                meta TEXT,
                PRIMARY KEY (release_id, seq)
            )""",
            """CREATE TABLE events (
                id {serial},
                release_id TEXT NOT NULL REFERENCES releases(id) ON UPDATE CASCADE,
                at TEXT NOT NULL,
                action TEXT NOT NULL,
                detail TEXT
            )""",
        ],
    ),
]
LATEST = MIGRATIONS[-1][0]
_SERIAL = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgresql": "BIGSERIAL PRIMARY KEY"}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


_TABLES_SQL = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    "postgresql": "SELECT table_name FROM information_schema.tables "
    "WHERE table_schema = current_schema()",
}


def current_version(store: Store, tx: Tx) -> int:
    """The registry's schema version; 0 for an empty database; InputError for a foreign one."""
    tables = {r[0] for r in tx.all(_TABLES_SQL[store.dialect])}
    if not tables:
        return 0
    if "registry_meta" not in tables or "schema_migrations" not in tables:
        raise InputError(
            f"registry {store.display}: not a privsynth registry (the database has other tables: "
            f"{', '.join(sorted(tables)[:5])}); give a new file or an empty database"
        )
    fmt = tx.one("SELECT value FROM registry_meta WHERE key = 'format'")
    if fmt is None or fmt[0] != REGISTRY_FORMAT:
        raise InputError(f"registry {store.display}: not a privsynth registry (format {fmt!r})")
    row = tx.one("SELECT MAX(version) FROM schema_migrations")
    return int(row[0] or 0) if row else 0


def migrate(store: Store) -> tuple[int, int]:
    """Apply every pending migration; return (version before, version after)."""
    with store.transaction(write=True) as tx:
        before = current_version(store, tx)
        if before > LATEST:
            raise InputError(
                f"registry {store.display}: schema version {before} is newer than this privsynth "
                f"understands ({LATEST}); upgrade privsynth"
            )
        if before == 0:
            tx.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied TEXT)")
        for version, statements in MIGRATIONS:
            if version <= before:
                continue
            for sql in statements:
                tx.execute(sql.replace("{serial}", _SERIAL[store.dialect]))
            if version == 1:
                tx.execute(
                    "INSERT INTO registry_meta (key, value) VALUES ('format', ?)",
                    (REGISTRY_FORMAT,),
                )
            tx.execute(
                "INSERT INTO schema_migrations (version, applied) VALUES (?, ?)", (version, now())
            )
    return before, LATEST


def check_version(store: Store, tx: Tx) -> None:
    """Refuse to work on a registry that is empty, foreign, or at another schema version."""
    version = current_version(store, tx)
    if version == 0:
        raise InputError(
            f"registry {store.display}: not initialised (run `privsynth registry init "
            f"{store.display}`)"
        )
    if version < LATEST:
        raise InputError(
            f"registry {store.display}: schema version {version} is older than {LATEST}; "
            f"migrate it with `privsynth registry init {store.display}`"
        )
    if version > LATEST:
        raise InputError(
            f"registry {store.display}: schema version {version} is newer than this privsynth "
            f"understands ({LATEST}); upgrade privsynth"
        )
