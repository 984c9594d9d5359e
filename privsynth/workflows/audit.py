"""``audit_tables``: run the privacy-attack suite on a (train, holdout, synthetic) triple and,
with a policy, gate it and write the report (``privsynth audit``).

The schema is read by the one schema loader (``privsynth.schema.load_schema``: a privsynth schema
or a Private-PGM domain file) and mapped to the harness's types by the one mapping
(``Schema.audit_types``); ``exclude`` columns are dropped from all three tables. The attacks are
evaluation: they read the private train and holdout tables WITHOUT differential privacy, so their
output is internal (docs/privacy.md). Nothing is written unless every input is valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from privsynth.errors import ExitCode, InputError
from privsynth.io import DEFAULT_MISSING, numbers_from_distinct, read_table, table_format
from privsynth.outputs import atomic_dir, check_outputs
from privsynth.progress import QUIET, Progress
from privsynth.schema import Schema, load_schema
from privsynth.workflows.common import check_columns, run_attacks
from privsynth.workflows.config import AuditTablesConfig

ROLES = ("train", "holdout", "synthetic")


@dataclass(frozen=True)
class AuditOutcome:
    """The attack results, the gate's exit code (None without a policy) and where the report is.

    ``exit_code``: the gate's 0/1/3 with a policy; without one 0, or 3 if an attack could not run.
    """

    result: Any  # attacks.AuditResult
    gate_code: int | None
    report_dir: Path | None

    @property
    def failed(self) -> list[Any]:
        """The attacks that could not run (each with its message)."""
        return [a for a in self.result.attacks if a.status != "ok"]

    @property
    def exit_code(self) -> int:
        if self.gate_code is not None:
            return self.gate_code
        return int(ExitCode.INCOMPLETE) if self.failed else int(ExitCode.OK)


def fit_schema(schema: Schema, columns: list[str], where: object) -> dict[str, str]:
    """The audit types of ``columns`` under ``schema`` (columns it excludes already dropped)."""
    types = schema.audit_types()
    unknown = sorted(set(types) - set(columns))
    missing = sorted(set(columns) - set(types))
    if unknown or missing:
        raise InputError(
            f"{where}: schema does not fit the data (schema-only columns {unknown}, "
            f"data-only columns {missing})"
        )
    return {c: types[c] for c in columns}


def read_lean(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``read_table(path)`` with its text columns as pandas Categoricals, and for each of them
    the value read_table gives its missing cells (None for a marker, NaN for a null).

    ``read_table`` turns every text cell into a Python string (about 60 bytes each) and trims
    and checks it one by one: on 1M Adult rows that is ~0.6 GB and minutes. A Parquet file is
    read by pyarrow into Arrow-backed strings, each column is factorized on its values, and
    the trimming, the missing markers and the "is it all numbers" test run on its distinct
    values only; the values, the missing cells and the column order are read_table's. A text
    column whose values all parse as numbers (every column of a part certify split from a CSV
    source) becomes read_table's numbers from its distinct values (``io.numbers_from_distinct``).
    Anything else (CSV, a marker beside nulls already in the file, any file read_table would
    refuse) goes through ``read_table`` itself, which gives the same table, or the same one-line
    error."""
    path = Path(path)
    try:
        if table_format(path) != "parquet" or not path.is_file():
            return read_table(path), {}
        df = pd.read_parquet(path)
    except Exception:  # noqa: BLE001 - read_table names the problem in one line
        return read_table(path), {}
    names = [str(c).strip() for c in df.columns]
    if df.shape[1] == 0 or len(set(names)) != len(names):
        return read_table(path), {}
    df.columns = names
    text: dict[str, Any] = {}
    for col in names:
        s = df[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            lean = _lean_text(s, f"{path}: column {col!r}")
            if lean is None:
                return read_table(path), {}
            df[col] = lean[0]
            if isinstance(lean[0], pd.Categorical):
                text[col] = lean[1]
        elif pd.api.types.is_float_dtype(s) and np.isinf(s.to_numpy(float, na_value=0.0)).any():
            return read_table(path), {}
    return df, text


def _lean_text(s: pd.Series, where: str) -> tuple[pd.Categorical | pd.Series, Any] | None:
    """A text column as read_table leaves it (trimmed, markers missing), as a Categorical; the
    numbers read_table makes of it when every present value parses (``io.numbers_from_distinct``);
    None where a marker meets nulls already in the file (read_table keeps those two kinds of
    missing apart)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    u = pd.Series(uniques, dtype=object)
    labels = u.where(u.isna(), u.astype(str)).str.strip()
    marker = labels.isin(DEFAULT_MISSING).to_numpy()
    labels = labels.where(~marker, None)
    nums = numbers_from_distinct(labels, codes, where)
    if nums is not None:  # numbers stored as text (a CSV source's split): read_table's numbers
        return nums.set_axis(s.index), None
    if marker.any() and (codes < 0).any():
        return None
    new, cats = pd.factorize(labels, use_na_sentinel=True)
    remap = np.append(new, -1)  # code -1 (a null in the file) stays missing
    cat = pd.Categorical.from_codes(remap[codes], categories=pd.Index(cats, dtype=object))
    missing = codes < 0
    fill = None if marker.any() or not missing.any() else s[missing].astype(object).iloc[0]
    return cat, fill


def as_read(frame: pd.DataFrame, text: dict[str, Any]) -> pd.DataFrame:
    """The ``read_lean`` frame as ``read_table`` gives it (text columns as object strings,
    missing cells as read_table fills them): for the report, which reads those frames."""
    out = frame.copy(deep=False)
    for col, fill in text.items():
        cat = out[col].array
        cats = np.append(np.asarray(cat.categories, dtype=object), None)
        values = cats[np.where(cat.codes >= 0, cat.codes, cats.size - 1)]
        values[cat.codes < 0] = fill
        out[col] = pd.Series(values, index=out.index, dtype=object)
    return out


def read_triple(
    config: AuditTablesConfig, schema: Schema | None
) -> tuple[dict[str, pd.DataFrame], dict[str, str] | None, dict[str, dict[str, Any]]]:
    """The three tables (a schema's ``exclude`` columns dropped; text columns of Parquet files
    as Categoricals, see :func:`read_lean`), their audit types, and per table the text columns
    :func:`as_read` turns back into read_table's form."""
    paths = {"train": config.train, "holdout": config.holdout, "synthetic": config.synthetic}
    frames, text = {}, {}
    for role in ROLES:
        frames[role], text[role] = read_lean(paths[role])
    if schema is None:
        return frames, None, text
    excluded = set(schema.excluded)
    frames = {r: f.drop(columns=[c for c in f.columns if c in excluded]) for r, f in frames.items()}
    text = {r: {c: v for c, v in t.items() if c not in excluded} for r, t in text.items()}
    columns = [str(c) for c in frames["train"].columns]
    return frames, fit_schema(schema, columns, config.schema), text


def _knowledge(
    config: AuditTablesConfig, schema: Schema | None
) -> tuple[list[str] | None, list[str] | None]:
    """Declared quasi-identifiers and secrets: the config's first, else the schema's roles."""
    role_qi = schema.names_with_role("quasi_identifier") if schema else []
    role_secrets = schema.names_with_role("sensitive") if schema else []
    return (list(config.qi or ()) or role_qi or None), (
        list(config.secrets or ()) or role_secrets or None
    )


def audit_tables(
    config: AuditTablesConfig, *, progress: Progress = QUIET, console: Any = None
) -> AuditOutcome:
    """Attack the synthetic table; with ``config.policy`` gate it and write the report folder.

    ``console`` (a rich Console, or None) receives the gate's terminal rendering.
    """
    report_dir = (config.report_dir or Path("privsynth-report")) if config.policy else None
    policy_file = Path(config.policy) if config.policy and Path(config.policy).is_file() else None
    check_outputs(
        inputs=[config.train, config.holdout, config.synthetic, config.schema, policy_file],
        outputs=[config.json_out],
        folders=[report_dir],
    )
    gate_policy = None
    if config.policy is not None:
        from reports.policy import load_policy

        gate_policy = load_policy(config.policy)  # a bad policy fails here, before any work
    from reports.fidelity import fidelity_inputs

    subgroups = list(config.subgroups) if config.subgroups else None
    fid = fidelity_inputs(config.schema, subgroups) if gate_policy is not None else {}
    schema = load_schema(config.schema) if config.schema is not None else None
    frames, types, text = read_triple(config, schema)
    qi, secrets = _knowledge(config, schema)
    columns = [str(c) for c in frames["train"].columns]
    check_columns(columns, target=config.target, secrets=secrets, qi=qi, policy=gate_policy)
    result = run_attacks(
        tuple(frames[r] for r in ROLES),
        progress,
        column_types=types,
        qi=qi,
        secrets=secrets,
        seed=config.seed,
        n_jobs=config.jobs,
    )
    if gate_policy is None:
        return AuditOutcome(result=result, gate_code=None, report_dir=None)
    frames = {role: as_read(frames[role], text[role]) for role in ROLES}
    code = _gate(config, result, gate_policy, frames, types, fid, report_dir, console)
    return AuditOutcome(result=result, gate_code=code, report_dir=report_dir)


def _gate(
    config: AuditTablesConfig,
    result: Any,
    policy: Any,
    frames: dict[str, pd.DataFrame],
    types: dict[str, str] | None,
    fid: dict[str, Any],
    report_dir: Path | None,
    console: Any,
) -> int:
    """Gate ``result`` and write the report folder whole (``atomic_dir``); the gate's exit code."""
    from reports.gate import gate_audit

    assert report_dir is not None
    with atomic_dir(report_dir) as staged:
        return int(
            gate_audit(
                result,
                policy,
                staged,
                train=frames["train"],
                holdout=frames["holdout"],
                synthetic=frames["synthetic"],
                train_path=config.train,
                holdout_path=config.holdout,
                synthetic_path=config.synthetic,
                column_types=types,
                target=config.target,
                seed=config.seed,
                audience=config.audience,
                console=console,
                **fid,
            )
        )
