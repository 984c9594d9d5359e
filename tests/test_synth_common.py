"""What AIM, MWEM and MST share: accounting, seeds, the private row count, API misuse, workloads."""

from __future__ import annotations

import inspect
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from privsynth.domain import Domain
from privsynth.errors import InputError, NotFittedError
from privsynth.model.estimation import estimate_total
from privsynth.model.junction_tree import model_size_mb
from privsynth.schema import Schema
from privsynth.synthesizers import get_synthesizer
from privsynth.synthesizers.workload import (
    SizeFilter,
    candidate_weights,
    downward_closure,
    resolve_workload,
)

METHODS = ("aim", "mwem", "mst")
SMALL = ["sex", "race", "income>50K", "relationship", "marital-status"]
FAST = {"aim": {"round_iters": 30, "pgm_iters": 200}, "mwem": {"round_iters": 30, "pgm_iters": 200}}


def small_codes(adult_pgm: pd.DataFrame, n: int = 3000) -> tuple[np.ndarray, Domain]:
    schema = Schema.from_pgm_domain(
        {c: int(adult_pgm[c].max()) + 1 for c in SMALL}
    )  # sizes only: a public stand-in
    domain = schema.domain()
    return adult_pgm[SMALL].to_numpy()[:n], domain


def make(method: str, **kw):
    return get_synthesizer(method)(**{**FAST.get(method, {}), **kw})


@pytest.fixture(scope="module")
def fitted(adult_pgm: pd.DataFrame):
    codes, domain = small_codes(adult_pgm)
    return {m: make(m, epsilon=1.0, seed=3).fit_codes(codes, domain) for m in METHODS}


@pytest.mark.parametrize("method", METHODS)
def test_registry_names_the_class(method: str) -> None:
    cls = get_synthesizer(method)
    assert cls.name == method
    assert (
        cls.__name__
        == {"aim": "AIMSynthesizer", "mwem": "MWEMSynthesizer", "mst": "MSTSynthesizer"}[method]
    )


@pytest.mark.parametrize("method", METHODS)
def test_ledger_sums_to_the_budget(fitted, method: str) -> None:
    ledger = fitted[method].ledger_
    assert math.fsum(e.rho for e in ledger.entries) == pytest.approx(ledger.rho_spent, rel=1e-12)
    assert ledger.rho_spent <= ledger.rho_budget  # exactly, no slack
    assert ledger.rho_spent == pytest.approx(ledger.rho_budget, rel=1e-12)
    eps, delta = ledger.spent_epsilon_delta()
    assert eps <= 1.0 and delta <= 1e-9
    # one entry per measurement or selection, each of a known kind
    kinds = {e.mechanism for e in ledger.entries}
    assert kinds <= {"discrete Gaussian", "exponential (Gumbel report-noisy-max)"}
    measured = [e for e in ledger.entries if e.mechanism == "discrete Gaussian"]
    assert [e.what for e in measured] == [
        f"marginal {m.clique}" for m in fitted[method].measurements_
    ]
    for e, m in zip(measured, fitted[method].measurements_, strict=True):
        assert e.scale == m.sigma and e.rho == pytest.approx(1 / (2 * m.sigma**2), rel=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_row_count_is_a_noisy_estimate(fitted, method: str) -> None:
    synth = fitted[method]
    assert synth.total_ != 3000
    assert abs(synth.total_ - 3000) < 300
    if getattr(synth, "compression_", None):
        # MST with domain compression: the one-way sums count on the data's domain (as measured),
        # the two-way ones on the compressed domain they were measured on
        raw = synth._raw_oneway
        pairs = [(m, synth.domain_) for m in raw]
        pairs += [(m, synth.fit_domain_) for m in synth.measurements_[len(raw) :]]
        var = [m.sigma**2 * dom.size(m.clique) for m, dom in pairs]
        num = sum(float(m.values.sum()) / v for (m, _), v in zip(pairs, var, strict=True))
        assert synth.total_ == pytest.approx(num / sum(1 / v for v in var))
    else:
        assert synth.total_ == pytest.approx(estimate_total(synth.measurements_, synth.domain_))
    assert len(synth.sample_codes()) == round(synth.total_)


@pytest.mark.parametrize("method", METHODS)
def test_seeds_reproduce_and_differ(adult_pgm: pd.DataFrame, method: str) -> None:
    codes, domain = small_codes(adult_pgm, 1500)
    # reproducible noise is explicit (noise_seed, NOT FOR RELEASE); seed alone drives sampling
    a = make(method, epsilon=1.0, noise_seed=11).fit_codes(codes, domain).sample_codes(500)
    b = make(method, epsilon=1.0, noise_seed=11).fit_codes(codes, domain).sample_codes(500)
    c = make(method, epsilon=1.0, noise_seed=12).fit_codes(codes, domain).sample_codes(500)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()
    assert a.shape == (500, len(domain)) and a.dtype == np.int64
    assert (a >= 0).all() and (a < np.array(domain.shape)).all()


@pytest.mark.parametrize("method", METHODS)
def test_fit_on_a_table_and_sample_a_table(adult_pgm: pd.DataFrame, method: str) -> None:
    df = adult_pgm[SMALL].head(1000)
    schema = Schema.from_pgm_domain({c: int(adult_pgm[c].max()) + 1 for c in SMALL})
    out = make(method, epsilon=2.0, seed=0).fit(df, schema).sample(200)
    assert list(out.columns) == SMALL and len(out) == 200


@pytest.mark.parametrize("method", METHODS)
def test_sample_before_fit_raises(method: str) -> None:
    with pytest.raises(NotFittedError):
        get_synthesizer(method)().sample_codes(10)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "bad",
    [
        {"epsilon": 0},
        {"epsilon": -1.0},
        {"delta": 0.5},
        {"seed": -1},
        {"pgm_iters": 0},
        {"pgm_iters": 2.5},
        {"sample_method": "magic"},
    ],
)
def test_bad_common_params_raise(adult_pgm: pd.DataFrame, method: str, bad: dict) -> None:
    synth = get_synthesizer(method)(**bad)  # stored untouched: validated by fit
    assert synth.get_params()[next(iter(bad))] == next(iter(bad.values()))
    codes, domain = small_codes(adult_pgm, 200)
    with pytest.raises(InputError, match=next(iter(bad))):
        synth.fit_codes(codes, domain)
    with pytest.raises(NotFittedError):
        synth.sample_codes(10)


@pytest.mark.parametrize("method", METHODS)
def test_params_lists_every_constructor_parameter(method: str) -> None:
    cls = get_synthesizer(method)
    names = set(inspect.signature(cls.__init__).parameters) - {"self", "quiet", "progress"}
    # the seeds go to the private run record, never to the public manifest's parameters
    assert set(cls().params()) == names - {"seed", "noise_seed"}
    assert set(cls().run_settings()) == {"seed", "noise_seed"}


@pytest.mark.parametrize("method", METHODS)
def test_quiet_by_default_and_progress_when_asked(adult_pgm, method: str, capsys) -> None:
    codes, domain = small_codes(adult_pgm, 500)
    make(method, epsilon=1.0, seed=0).fit_codes(codes, domain)
    assert capsys.readouterr().err == ""
    make(method, epsilon=1.0, seed=0, quiet=False).fit_codes(codes, domain)
    err = capsys.readouterr().err
    assert "domain size" in err and "rho" in err


# -- workloads ----------------------------------------------------------------------------------
DOM = Domain(("a", "b", "c", "d"), (2, 3, 4, 5))


def test_named_workloads() -> None:
    assert list(resolve_workload(DOM, "all-2way")) == list(itertools.combinations("abcd", 2))
    assert len(resolve_workload(DOM, "all-3way")) == 4
    assert set(resolve_workload(DOM, "all-2way", target="c")) == {
        ("a", "c"),
        ("b", "c"),
        ("c", "d"),
    }
    assert set(resolve_workload(DOM, "all-3way", target="a")) == {
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "c", "d"),
    }


def test_listed_workloads_are_canonical_and_weighted() -> None:
    w = resolve_workload(DOM, [("c", "a"), ["a", "c"], "d"])
    assert w == {("a", "c"): 2.0, ("d",): 1.0}
    assert resolve_workload(DOM, {("b", "a"): 0.5}) == {("a", "b"): 0.5}


@pytest.mark.parametrize(
    "workload,target",
    [
        ("all-4way", None),
        ("all-5way", None),
        ([("a", "zz")], None),
        ([("a", "a")], None),
        ([()], None),
        ({("a", "b"): -1.0}, None),
        ({("a", "b"): float("nan")}, None),
        ([], None),
        ("all-2way", "zz"),
        ([("a", "b")], "c"),
        (42, None),
    ],
)
def test_bad_workloads_raise(workload, target) -> None:
    with pytest.raises(InputError):
        resolve_workload(DOM, workload, target)


def test_downward_closure_and_candidate_weights() -> None:
    closure = downward_closure([("a", "b"), ("b", "c")])
    assert closure == [("a",), ("b",), ("c",), ("a", "b"), ("b", "c")]
    w = candidate_weights({("a", "b"): 1.0, ("b", "c"): 2.0})
    # w_r = sum_s c_s |r ∩ s|
    assert w == {("a",): 1.0, ("b",): 3.0, ("c",): 2.0, ("a", "b"): 4.0, ("b", "c"): 5.0}


def test_size_filter_uses_the_real_junction_tree() -> None:
    dom = Domain(("a", "b", "c", "d"), (10, 10, 10, 10))
    f = SizeFilter(dom)
    measured = [("a", "b"), ("b", "c")]
    base = model_size_mb(dom, measured)
    cands = [("a",), ("a", "b"), ("a", "c"), ("c", "d"), ("a", "b", "c", "d")]
    # (a, c) closes a triangle: the tree gets a 1000-cell clique, still under 1 MB
    assert f(measured, cands, base) == [("a",), ("a", "b")]
    ok = f(measured, cands, model_size_mb(dom, [*measured, ("a", "c")]))
    assert ("a", "c") in ok and ("c", "d") in ok and ("a", "b", "c", "d") not in ok
    assert f.size_mb([*measured, ("a", "c")]) == model_size_mb(dom, [*measured, ("a", "c")])
