"""A holdout drawn from the train records voids every control: refused (attacks/split.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reliability_helpers import assert_user_error, digest, invoke

from attacks import AuditData, AuditInputError, run_audit
from attacks.geometry import encode_tables, validate_tables
from attacks.rowkeys import RowKeys
from attacks.split import Z, check_holdout_apart, holdout_coverage, standardised_gap


def _keys(train: pd.DataFrame, holdout: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    frames, types = validate_tables({"train": train, "holdout": holdout, "synthetic": holdout})
    geo, enc = encode_tables(frames, types, fit_on=("train", "holdout"))
    key_t, key_h, _ = RowKeys(geo, enc).keys(list(geo.columns))
    return key_t, key_h


def _split(df: pd.DataFrame, seed: int, train_share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    idx = np.random.default_rng(seed).permutation(len(df))
    n_t = int(train_share * len(df))
    return df.iloc[idx[:n_t]], df.iloc[idx[n_t:]]


@pytest.mark.parametrize("table", ["adult", "adult_pgm"])
def test_valid_splits_pass_with_margin(table: str, request: pytest.FixtureRequest) -> None:
    # seeded valid splits are never refused; their standardised gap stays far from -Z
    df = request.getfixturevalue(table)
    for seed, share in [(0, 0.8), (1, 0.5), (2, 0.3)]:
        key_t, key_h = _keys(*_split(df, seed, share))
        unmatched, expected, applies = holdout_coverage(key_t, key_h)
        assert applies and expected >= 20
        z = standardised_gap(unmatched, expected, key_h.size, key_t.size)
        assert abs(z) < 1.0, (seed, share, z)  # measured: |z| <= 0.38 on these tables
        check_holdout_apart(key_t, key_h)


def test_a_subset_of_train_is_refused_before_any_attack(adult: pd.DataFrame) -> None:
    # the whole table as train and a sample of it as holdout: every control is a member
    _, holdout = _split(adult, 0, 0.8)
    with pytest.raises(AuditInputError, match=r"not apart from the train table: 6,513 of its"):
        AuditData.prepare(adult, holdout, holdout.iloc[:100])


def test_half_overlap_and_the_same_table_are_refused(adult: pd.DataFrame) -> None:
    train, holdout = _split(adult, 1, 0.8)
    half = pd.concat([train.iloc[:3000], holdout.iloc[:3000]])
    for h in (half, train):
        unmatched, expected, _ = holdout_coverage(*_keys(train, h))
        assert standardised_gap(unmatched, expected, len(h), len(train)) <= -Z
        with pytest.raises(AuditInputError, match="split the data before synthesis"):
            run_audit(train, h, holdout, seed=0)


def test_silent_where_it_cannot_decide(adult_pgm: pd.DataFrame) -> None:
    # few singletons (a population that repeats its records): E < 20, an overlap is invisible
    coarse = adult_pgm[["sex", "race", "income>50K"]]
    unmatched, expected, applies = holdout_coverage(*_keys(coarse, coarse))
    assert unmatched == 0 and expected < 20 and applies
    check_holdout_apart(*_keys(coarse, coarse))
    # a deduplicated train table beside a holdout that repeats rows: the premise fails
    train, holdout = _split(adult_pgm, 3, 0.8)
    deduplicated = train.drop_duplicates()
    assert holdout.duplicated().any()
    assert not holdout_coverage(*_keys(deduplicated, holdout))[2]
    check_holdout_apart(*_keys(deduplicated, holdout))


def test_cli_same_file_as_train_and_holdout_is_exit_2(tmp_path: Path, adult: pd.DataFrame) -> None:
    train, holdout = _split(adult.iloc[:2000], 4, 0.8)
    train.to_csv(tmp_path / "train.csv", index=False)
    holdout.to_csv(tmp_path / "syn.csv", index=False)
    before = digest(tmp_path)
    t, s, out = tmp_path / "train.csv", tmp_path / "syn.csv", tmp_path / "r.json"
    code, output = invoke("audit", "-q", "-j", "1", "-t", t, "-H", t, "-S", s, "--json", out)
    assert_user_error(code, output, "holdout table is not apart", "1,600 of its 1,600 rows")
    assert digest(tmp_path) == before  # no partial output
