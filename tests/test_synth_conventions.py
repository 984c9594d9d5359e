"""scikit-learn estimator conventions of every synthesizer (issue 13), and seeded determinism.

Parameters are stored untouched by ``__init__`` and read back by ``get_params``; ``fit``
validates them; a ``fit`` that fails leaves the estimator as it was (unfitted when it was), so
``sample()`` raises the not-fitted error instead of an AttributeError from a half-fitted state.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from privsynth.errors import InputError, NotFittedError, PrivsynthError
from privsynth.privacy.budget import Budget
from privsynth.schema import Schema
from privsynth.synthesizers import METHODS, get_synthesizer

COLS = ["sex", "race", "income>50K", "relationship"]
FAST = {"aim": {"round_iters": 10, "pgm_iters": 50}, "mwem": {"round_iters": 10, "pgm_iters": 50}}


def small(adult_pgm: pd.DataFrame, n: int = 800):
    schema = Schema.from_pgm_domain({c: int(adult_pgm[c].max()) + 1 for c in COLS})
    return adult_pgm[COLS].to_numpy()[:n], schema.domain()


@pytest.mark.parametrize("method", METHODS)
def test_init_stores_parameters_untouched(method: str) -> None:
    cls = get_synthesizer(method)
    names = [n for n in inspect.signature(cls.__init__).parameters if n != "self"]
    params = cls().get_params()
    assert set(params) == set(names)
    for name in names:  # the defaults, the very objects of the signature
        assert params[name] is inspect.signature(cls.__init__).parameters[name].default
    odd = {"epsilon": 2, "pgm_iters": 7.0, "seed": np.int64(3)} if method != "independent" else {}
    synth = cls(**odd)
    for key, value in odd.items():
        assert synth.get_params()[key] is value  # not converted
    if odd:  # the manifest and the run record get plain JSON numbers
        assert type(synth.params()["pgm_iters"]) is float
        assert type(synth.run_settings()["seed"]) is int
    budget = Budget(epsilon=1.5, delta=1e-8)
    synth = cls(epsilon=budget)
    assert synth.get_params()["epsilon"] is budget
    assert synth.params()["epsilon"] == 1.5 and synth.params()["delta"] == 1e-8


@pytest.mark.parametrize("method", METHODS)
def test_set_params_round_trip(method: str) -> None:
    synth = get_synthesizer(method)()
    assert synth.set_params(epsilon=3.0) is synth
    assert synth.get_params()["epsilon"] == 3.0 and synth.budget.epsilon == 3.0
    with pytest.raises(InputError, match="no parameter 'bogus'"):
        synth.set_params(bogus=1)


@pytest.mark.parametrize("method", METHODS)
def test_sample_before_fit_names_the_fix(method: str) -> None:
    synth = get_synthesizer(method)()
    for call in (lambda: synth.sample(5), lambda: synth.sample_codes(5)):
        with pytest.raises(NotFittedError, match=r"call fit\(table, schema\) first") as info:
            call()
        assert isinstance(info.value, PrivsynthError) and info.value.exit_code == 2


@pytest.mark.parametrize("method", METHODS)
def test_failed_fit_leaves_the_estimator_unfitted(
    adult_pgm: pd.DataFrame, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fit that fails after the ledger is open and budget is spent: no fitted attribute stays."""
    codes, domain = small(adult_pgm)
    synth = get_synthesizer(method)(epsilon=1.0, noise_seed=1, **FAST.get(method, {}))
    public = {k: v for k, v in vars(synth).items() if not k.startswith("_")}

    def boom(*args, **kwargs):
        raise RuntimeError("injected failure after measuring")

    if method == "independent":  # fails after every column is measured
        monkeypatch.setattr("privsynth.synthesizers.independent.project_simplex", boom)
    else:  # fails after the model is fitted, before it is kept
        monkeypatch.setattr(type(synth), "_finish", boom)
    with pytest.raises(RuntimeError, match="injected"):
        synth.fit_codes(codes, domain)
    assert {k: v for k, v in vars(synth).items() if not k.startswith("_")} == public
    assert not [k for k in vars(synth) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        synth.sample(3)


@pytest.mark.parametrize("method", ["independent", "mst"])
def test_failed_refit_keeps_the_previous_fit(adult_pgm: pd.DataFrame, method: str) -> None:
    codes, domain = small(adult_pgm)
    synth = get_synthesizer(method)(epsilon=1.0, noise_seed=2).fit_codes(codes, domain)
    ledger = synth.ledger_
    bad = codes.copy()
    bad[0, 0] = 99  # outside the domain: refused before any measurement
    with pytest.raises(InputError, match="outside the domain"):
        synth.fit_codes(bad, domain)
    assert synth.ledger_ is ledger
    assert synth.sample_codes(10).shape == (10, len(COLS))


_CHILD = """
import hashlib, sys
import numpy as np, pandas as pd
from privsynth.io import example_path
from privsynth.schema import Schema
from privsynth.synthesizers import get_synthesizer
cols = ["age", "workclass", "sex", "race", "relationship", "income>50K"]
df = pd.read_csv(example_path("adult_pgm.csv.gz"))[cols].iloc[:1500]
dom = Schema.from_pgm_domain({c: int(df[c].max()) + 1 for c in cols}).domain()
s = get_synthesizer(sys.argv[1])(epsilon=1.0, noise_seed=5, pgm_iters=60).fit_codes(df.to_numpy(), dom)
print(hashlib.sha256(np.ascontiguousarray(s.sample_codes(3000)).tobytes()).hexdigest())
"""


@pytest.mark.slow
@pytest.mark.parametrize("method", ["mst"])
def test_noise_seed_reproduces_across_processes(method: str) -> None:
    """Seeded output must not depend on Python's per-process string hashing (a set's order
    once chose the sampler's column order, so two processes gave different tables)."""
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, method],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1
