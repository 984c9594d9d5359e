"""``privsynth.limits``: the documented caps and the derivation of the epsilon floor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from privsynth import limits
from privsynth.errors import InputError
from privsynth.schema import Schema
from privsynth.synthesizers import get_synthesizer


def test_floor_is_the_smallest_power_of_ten_where_the_count_means_something() -> None:
    """Recomputes the module docstring's derivation with the project's own accounting."""
    delta = 1e-9  # the CLI default
    sd = limits.count_noise_sd
    assert sd(limits.MIN_EPSILON, delta) <= limits.MAX_SAMPLE_ROWS
    assert sd(limits.MIN_EPSILON / 10, delta) > limits.MAX_SAMPLE_ROWS


def test_checks() -> None:
    limits.check_epsilon(limits.MIN_EPSILON)
    with pytest.raises(InputError, match="below the floor"):
        limits.check_epsilon(limits.MIN_EPSILON / 2)
    assert limits.check_rows(5) == 5 and limits.check_rows(np.int64(7)) == 7
    for bad in (0, -1, 2.5, True, "x", float("inf"), limits.MAX_SAMPLE_ROWS + 1):
        with pytest.raises(InputError):
            limits.check_rows(bad)
    with pytest.raises(InputError, match="above the limit"):
        limits.check_bins(limits.MAX_BINS + 1)
    with pytest.raises(InputError, match="codes is above the limit"):
        Schema.from_dict(
            {"columns": {"a": {"type": "categorical", "categories": list(range(100_001))}}}
        )


def test_noisy_count_is_clipped_as_post_processing() -> None:
    assert limits.clip_noisy_rows(41.6) == (42, "")
    assert limits.clip_noisy_rows(-5.0) == (1, "")
    rows, warning = limits.clip_noisy_rows(3e12)
    assert rows == limits.MAX_SAMPLE_ROWS and "above the limit" in warning
    assert limits.clip_noisy_rows(float("nan"))[0] == limits.MAX_SAMPLE_ROWS


def test_synthesizer_refuses_before_any_budget_is_spent(adult: pd.DataFrame, adult_schema) -> None:
    cls = get_synthesizer("independent")
    tiny = cls(1e-9, 1e-9)  # parameters are validated by fit (and by the budget property)
    with pytest.raises(InputError, match="below the floor"):
        _ = tiny.budget
    with pytest.raises(InputError, match="below the floor"):
        tiny.fit(adult.head(200), adult_schema)
    assert "ledger_" not in vars(tiny)
    synth = cls(1.0, 1e-9, seed=0).fit(adult.head(200), adult_schema)
    with pytest.raises(InputError, match="above the limit"):
        synth.sample(limits.MAX_SAMPLE_ROWS + 1)
    synth.total_ = 1e15  # as a tiny epsilon could make it: clipped, with a warning
    assert synth._n_rows(None) == limits.MAX_SAMPLE_ROWS
