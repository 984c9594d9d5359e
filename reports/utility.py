"""What the privacy costs: marginal distances, association differences and train-synthetic-test-real.

All numbers are aggregates over columns; no category or record value is reported. Numeric columns
are cut at training-data deciles for the marginal distances.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from attacks.results import Estimate, Metric
from privsynth.schema import AUDIT_TYPES, Schema
from reports import fidelity
from reports.model import UtilitySection

UTILITY_METRICS: dict[str, str] = {
    "utility.marginal_1way.max_tvd": "largest total variation distance of one column's distribution",
    "utility.marginal_1way.mean_tvd": "mean 1-way total variation distance over columns",
    "utility.marginal_2way.max_tvd": "largest total variation distance of a pair of columns",
    "utility.marginal_2way.mean_tvd": "mean 2-way total variation distance over column pairs",
    "utility.correlation.max_abs_diff": "largest |association(train) - association(synthetic)| "
    "over column pairs (Pearson for two numeric columns, Cramer's V otherwise)",
    "utility.correlation.mean_abs_diff": "mean |association difference| over column pairs",
    "utility.ml.tstr": "score of a model trained on synthetic data, tested on the real holdout",
    "utility.ml.trtr": "score of the same model trained on real training data, tested on the holdout",
    "utility.ml.gap": "trtr - tstr: the score the privacy costs",
    "utility.constraints.satisfaction": "share of synthetic rows that meet every schema rule",
    "utility.subgroup.max_mean_tvd": "largest mean 1-way TVD within one subgroup of a sensitive "
    "column (real vs synthetic rows of the group)",
    "utility.subgroup.max_ml_gap": "largest trtr - tstr within one subgroup",
    "utility.fairness.demographic_parity_delta": "|demographic parity difference of the model "
    "trained on synthetic data - that of the model trained on real data|",
    "utility.fairness.equalized_odds_delta": "|equalised-odds difference, synthetic-trained - "
    "real-trained model|",
}
_HIGHER_IS_BETTER = {"utility.constraints.satisfaction"}

N_QUANTILE_BINS = 10
# the most categories a default utility target may have (see default_target)
MAX_TARGET_LEVELS = 20
MAX_PAIR_COLUMNS = 40
N_BOOT = 200


@dataclass
class _Col:
    name: str
    numeric: bool
    train: np.ndarray  # codes
    synth: np.ndarray
    n_codes: int


def is_numeric_column(s: pd.Series, schema_type: str | None) -> bool:
    """The schema's rule when it types the column (:data:`privsynth.schema.AUDIT_TYPES`: integer
    and float are numeric, categorical and datetime are not; an audit type is accepted as is);
    without a schema, a numeric dtype with more than 20 distinct values."""
    if schema_type is not None:
        return AUDIT_TYPES.get(schema_type, schema_type) == "numeric"
    return bool(pd.api.types.is_numeric_dtype(s)) and s.nunique(dropna=True) > 20


def default_target(schema: Schema) -> str | None:
    """The utility model's target when none is given: the last categorical synthesized column
    with 2 to :data:`MAX_TARGET_LEVELS` categories (a classification task the holdout scores
    well), or ``None`` (the train-on-synthetic test is then skipped, with a note saying why).

    Never a numeric, datetime or many-valued column: the old default, the last column, trained a
    365-class model on a date column (minutes of work for a meaningless score).
    """
    for c in reversed(schema.synth_columns):
        levels = len(c.categories or [])
        if c.type == "categorical" and 2 <= levels <= MAX_TARGET_LEVELS:
            return c.name
    return None


def default_target_of_table(table: pd.DataFrame) -> str | None:
    """:func:`default_target` without a schema (``release reaudit`` reads only the tables): the
    last column of ``table`` (the public synthetic one) that :func:`is_numeric_column` does not
    call numeric, with 2 to :data:`MAX_TARGET_LEVELS` values; ``None`` skips the test."""
    for c in reversed(list(table.columns)):
        col = table[c]
        if not is_numeric_column(col, None) and 2 <= col.nunique() <= MAX_TARGET_LEVELS:
            return str(c)
    return None


def _codes(train: pd.Series, synth: pd.Series, numeric: bool) -> tuple[np.ndarray, np.ndarray, int]:
    if numeric:
        t = pd.to_numeric(train, errors="coerce").to_numpy(dtype=float)
        s = pd.to_numeric(synth, errors="coerce").to_numpy(dtype=float)
        finite = t[np.isfinite(t)]
        qs = np.linspace(0, 1, N_QUANTILE_BINS + 1)[1:-1]
        edges = np.unique(np.quantile(finite, qs)) if finite.size else np.array([])
        n = edges.size + 1

        def cut(x: np.ndarray) -> np.ndarray:
            c = np.searchsorted(edges, x, side="right")
            return np.where(np.isfinite(x), c, n)

        return cut(t), cut(s), n + 1
    t_txt = (
        train.astype(object).where(train.notna(), None).map(lambda v: None if v is None else str(v))
    )
    s_txt = (
        synth.astype(object).where(synth.notna(), None).map(lambda v: None if v is None else str(v))
    )
    cats = pd.Index(sorted(set(t_txt.dropna()) | set(s_txt.dropna())))
    n = len(cats)

    def enc(x: pd.Series) -> np.ndarray:
        c = cats.get_indexer(x.fillna("\0missing"))
        return np.where(c < 0, n, c)

    return enc(t_txt), enc(s_txt), n + 1


def _tvd(a: np.ndarray, b: np.ndarray, size: int) -> float:
    p = np.bincount(a, minlength=size) / max(a.size, 1)
    q = np.bincount(b, minlength=size) / max(b.size, 1)
    return float(0.5 * np.abs(p - q).sum())


def _cramers_v(a: np.ndarray, b: np.ndarray, na: int, nb: int) -> float:
    table = np.bincount(a * nb + b, minlength=na * nb).reshape(na, nb).astype(float)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    if min(table.shape) < 2:
        return 0.0
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))


def _pearson(x: pd.Series, y: pd.Series) -> float:
    x = pd.to_numeric(x, errors="coerce")
    y = pd.to_numeric(y, errors="coerce")
    ok = x.notna() & y.notna()
    if ok.sum() < 3 or x[ok].std() == 0 or y[ok].std() == 0:
        return 0.0
    return float(np.corrcoef(x[ok].astype(float), y[ok].astype(float))[0, 1])


def _plain(name: str, value: float, note: str = "") -> Metric:
    better = name in _HIGHER_IS_BETTER
    return Metric(
        name,
        Estimate(value, value, value, 0.95, "plug-in"),
        UTILITY_METRICS[name] + note,
        null_value=1.0 if better else 0.0,
        higher_is_riskier=not better,
    )


def _pairs(
    pair_cols: list[_Col], train: pd.DataFrame, synthetic: pd.DataFrame
) -> tuple[np.ndarray, dict, dict, dict[str, Any]]:
    """2-way TVDs (heat map, by pair), association differences, association matrices."""
    names = [c.name for c in pair_cols]
    heat = np.zeros((len(pair_cols), len(pair_cols)))
    two: dict[tuple[str, str], float] = {}
    assoc: dict[tuple[str, str], float] = {}
    k_corr = min(len(pair_cols), fidelity.MAX_CORR_COLUMNS)
    corr = {"columns": names[:k_corr], "real": np.eye(k_corr), "synthetic": np.eye(k_corr)}
    for i, j in itertools.combinations(range(len(pair_cols)), 2):
        a, b = pair_cols[i], pair_cols[j]
        size = a.n_codes * b.n_codes
        v = _tvd(a.train * b.n_codes + b.train, a.synth * b.n_codes + b.synth, size)
        heat[i, j] = heat[j, i] = v
        two[(a.name, b.name)] = v
        if a.numeric and b.numeric:
            r_t = _pearson(train[a.name], train[b.name])
            r_s = _pearson(synthetic[a.name], synthetic[b.name])
        else:
            r_t = _cramers_v(a.train, b.train, a.n_codes, b.n_codes)
            r_s = _cramers_v(a.synth, b.synth, a.n_codes, b.n_codes)
        assoc[(a.name, b.name)] = abs(r_t - r_s)
        if j < k_corr:
            corr["real"][i, j] = corr["real"][j, i] = abs(r_t)
            corr["synthetic"][i, j] = corr["synthetic"][j, i] = abs(r_s)
    return heat, two, assoc, corr


def compute_utility(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    target: str | None = None,
    column_types: dict[str, str] | None = None,
    seed: int = 0,
    max_rows: int = 20000,
    constraints: Any = None,
    subgroups: list[str] | None = None,
    min_count: int = 10,
) -> tuple[UtilitySection, dict[str, Any]]:
    """The utility section and the marginal-error heat map (``{"columns", "tvd"}``).

    ``constraints`` (a :class:`privsynth.constraints.ConstraintSet`) adds the rule satisfaction of
    the synthetic rows; ``subgroups`` (sensitive columns) adds per-group fidelity and fairness;
    ``min_count`` is the k below which plot bins and subgroups are suppressed (reports/fidelity).
    """
    types = column_types or {}
    columns = [c for c in train.columns if c in synthetic.columns and types.get(c) != "exclude"]
    section = UtilitySection()
    missing = sorted(set(train.columns) - set(synthetic.columns))
    if missing:
        section.notes.append(f"{len(missing)} training column(s) absent from the synthetic table")
    cols = []
    for c in columns:
        numeric = is_numeric_column(train[c], types.get(c))
        t, s, n = _codes(train[c], synthetic[c], numeric)
        cols.append(_Col(c, numeric, t, s, n))
    metrics, heatmap, corr = _marginals(section, cols, train, synthetic)
    preds = None
    if target is None:
        section.notes.append(
            "no target column given, and no categorical column of 2 to "
            f"{MAX_TARGET_LEVELS} categories for the default: train-on-synthetic test skipped "
            "(give --target COL)"
        )
    elif target not in columns or target not in holdout.columns:
        section.notes.append(f"target column {target!r} not in every table: ML test skipped")
    else:
        numeric_target = is_numeric_column(train[target], types.get(target))
        ml, ml_metrics, preds = _ml(
            train, holdout, synthetic, target, numeric_target, cols, seed, max_rows
        )
        section.ml = ml
        metrics += ml_metrics
    numeric = {c.name: c.numeric for c in cols}
    fid = _fidelity(train, holdout, synthetic, numeric, constraints, subgroups, min_count, preds)
    fid["correlations"] = {
        "columns": corr["columns"],
        "real": np.round(corr["real"], 4).tolist(),
        "synthetic": np.round(corr["synthetic"], 4).tolist(),
    }
    values = {m.name: m.estimate.value for m in metrics} | fid.pop("_metrics")
    metrics += [_plain(n, v) for n, v in fid.pop("_new").items()]
    fid["fit_for"] = fidelity.fit_for(values, fid.get("constraints"))
    section.fidelity = fid
    section.metrics = metrics
    return section, heatmap


def _worst(scores: dict, key: str, value: str) -> list[dict[str, Any]]:
    """The five largest ``scores`` as ``{key: k, value: v}`` rows (cliques as lists)."""
    top = sorted(scores.items(), key=lambda kv: -kv[1])[:5]
    return [{key: k if isinstance(k, str) else list(k), value: round(v, 6)} for k, v in top]


def _marginals(
    section: UtilitySection, cols: list[_Col], train: pd.DataFrame, synthetic: pd.DataFrame
) -> tuple[list[Metric], dict[str, Any], dict[str, Any]]:
    """1- and 2-way marginal and association errors: metrics, the heat map, the correlations."""
    one = {c.name: _tvd(c.train, c.synth, c.n_codes) for c in cols}
    section.worst_columns = _worst(one, "column", "tvd")
    pair_cols = cols[:MAX_PAIR_COLUMNS]
    if len(cols) > MAX_PAIR_COLUMNS:
        section.notes.append(f"2-way measures use the first {MAX_PAIR_COLUMNS} columns")
    heat, two, assoc, corr = _pairs(pair_cols, train, synthetic)
    for i, c in enumerate(pair_cols):
        heat[i, i] = one[c.name]
    section.worst_pairs = _worst(two, "columns", "tvd")
    section.worst_associations = _worst(assoc, "columns", "abs_diff")
    metrics = [
        _plain("utility.marginal_1way.max_tvd", max(one.values(), default=0.0)),
        _plain("utility.marginal_1way.mean_tvd", float(np.mean(list(one.values()) or [0.0]))),
    ]
    if two:
        metrics += [
            _plain("utility.marginal_2way.max_tvd", max(two.values())),
            _plain("utility.marginal_2way.mean_tvd", float(np.mean(list(two.values())))),
            _plain("utility.correlation.max_abs_diff", max(assoc.values())),
            _plain("utility.correlation.mean_abs_diff", float(np.mean(list(assoc.values())))),
        ]
    heatmap = {
        "columns": [c.name for c in pair_cols],
        "tvd": [[round(float(x), 6) for x in row] for row in heat],
    }
    return metrics, heatmap, corr


def _fidelity(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    numeric: dict[str, bool],
    constraints: Any,
    subgroups: list[str] | None,
    k: int,
    preds: dict[str, Any] | None,
) -> dict[str, Any]:
    """Distributions, rule satisfaction and subgroup views (``_new``: metrics to add)."""
    fid: dict[str, Any] = {"distributions": fidelity.distributions(train, synthetic, numeric, k)}
    new: dict[str, float] = {}
    if constraints:
        fid["constraints"] = constraints.satisfaction(synthetic)
        fid["constraints"]["real"] = constraints.satisfaction(train)["all"]
        new["utility.constraints.satisfaction"] = fid["constraints"]["all"]
    groups = [c for c in subgroups or [] if c in numeric and not numeric[c]]
    if groups:
        sub = fidelity.subgroups(train, holdout, synthetic, groups, numeric, k, preds)
        fid["subgroups"] = sub
        new.update(fidelity.worst(sub))
    fid["_new"], fid["_metrics"] = new, dict(new)
    return fid


def _features(
    frames: list[pd.DataFrame], features: list[str], numeric: dict[str, bool]
) -> tuple[list[np.ndarray], list[bool]]:
    out = [np.empty((len(f), len(features))) for f in frames]
    cat_mask = []
    for j, c in enumerate(features):
        if numeric[c]:
            for k, f in enumerate(frames):
                out[k][:, j] = pd.to_numeric(f[c], errors="coerce").to_numpy(dtype=float)
            cat_mask.append(False)
            continue
        texts = [f[c].astype(object).where(f[c].notna(), None) for f in frames]
        cats = pd.Index(sorted({str(v) for t in texts for v in t.dropna()}))
        for k, t in enumerate(texts):
            codes = cats.get_indexer(t.map(lambda v: None if v is None else str(v)))
            out[k][:, j] = np.where(codes < 0, np.nan, codes)
        cat_mask.append(len(cats) <= 250)
    return out, cat_mask


def _ml(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    target: str,
    regression: bool,
    cols: list[_Col],
    seed: int,
    max_rows: int,
) -> tuple[dict[str, Any], list[Metric], dict[str, Any] | None]:
    """Train on real and on synthetic rows, score both on the holdout, with bootstrap intervals."""
    rng = np.random.default_rng(seed)
    data = _ml_data(train, holdout, synthetic, target, regression, cols, rng, max_rows)
    y_tr, y_sy, y_te = data["y"]
    x_tr, x_sy, x_te = data["x"]
    p_real = _fit_predict(x_tr, y_tr, x_te, len(y_te), regression, data["cat_mask"], seed)
    p_syn = _fit_predict(x_sy, y_sy, x_te, len(y_te), regression, data["cat_mask"], seed)
    score_name, score = _scorer(regression, y_te, {id(p_real): p_real, id(p_syn): p_syn})
    if regression:
        baseline = 0.0
    else:
        _, counts = np.unique(y_tr, return_counts=True)
        baseline = float((y_te == np.unique(y_tr)[np.argmax(counts)]).mean())
    full = np.arange(len(y_te))
    tstr, trtr = score(p_syn, full), score(p_real, full)
    boots = []
    for _ in range(N_BOOT):
        idx = rng.integers(0, len(y_te), len(y_te))
        s_syn, s_real = score(p_syn, idx), score(p_real, idx)
        boots.append((s_syn, s_real, s_real - s_syn))
    b = np.asarray(boots)
    lo, hi = np.quantile(b, 0.025, axis=0), np.quantile(b, 0.975, axis=0)
    values = {"utility.ml.tstr": tstr, "utility.ml.trtr": trtr, "utility.ml.gap": trtr - tstr}
    metrics = _ml_metrics(values, lo, hi, f" ({score_name}, target {target})")
    ml = {
        "target": target,
        "task": "regression" if regression else "classification",
        "model": "HistGradientBoosting" + ("Regressor" if regression else "Classifier"),
        "score": score_name,
        "tstr": round(tstr, 6),
        "trtr": round(trtr, 6),
        "baseline": round(baseline, 6),
        "n_fit_real": int(len(y_tr)),
        "n_fit_synthetic": int(len(y_sy)),
        "n_test": int(len(y_te)),
    }
    preds = None
    if not regression:
        classes, counts = np.unique(y_sy, return_counts=True)
        preds = {
            "test": data["test"],
            "y": y_te,
            "p_real": np.asarray(p_real),
            "p_syn": np.asarray(p_syn),
            "positive": str(classes[np.argmin(counts)]) if len(classes) == 2 else None,
        }
    return ml, metrics, preds


def _ml_data(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    target: str,
    regression: bool,
    cols: list[_Col],
    rng: np.random.Generator,
    max_rows: int,
) -> dict[str, Any]:
    """Features and labels of the (subsampled) real, synthetic and test rows; missing
    regression labels dropped."""

    def sub(df: pd.DataFrame) -> pd.DataFrame:
        if len(df) <= max_rows:
            return df
        return df.iloc[np.sort(rng.choice(len(df), max_rows, replace=False))]

    frames = [sub(train), sub(synthetic), sub(holdout)]
    numeric = {c.name: c.numeric for c in cols}
    features = [c.name for c in cols if c.name != target]
    xs, cat_mask = _features(frames, features, numeric)
    if regression:
        y = [pd.to_numeric(f[target], errors="coerce").to_numpy(dtype=float) for f in frames]
    else:
        y = [
            f[target].astype(object).map(lambda v: "\0missing" if pd.isna(v) else str(v))
            for f in frames
        ]
        y = [v.to_numpy() for v in y]
    keep = [~pd.isna(v) if regression else np.ones(len(v), bool) for v in y]
    return {
        "x": [x[k] for x, k in zip(xs, keep, strict=True)],
        "y": [v[k] for v, k in zip(y, keep, strict=True)],
        "cat_mask": cat_mask,
        "test": frames[2][keep[2]].reset_index(drop=True),
    }


def _fit_predict(
    x: np.ndarray,
    yy: np.ndarray,
    x_te: np.ndarray,
    n_te: int,
    regression: bool,
    cat_mask: list[bool],
    seed: int,
) -> np.ndarray:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    if not regression and len(np.unique(yy)) < 2:
        return np.full(n_te, yy[0] if len(yy) else "", dtype=object)
    cls = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
    model = cls(max_iter=100, random_state=seed, categorical_features=np.array(cat_mask))
    # one OpenMP thread: on a busy or small machine HistGradientBoosting's threads spin
    # against each other (a 1 s fit took 30 s on 2 shared cores)
    with threadpool_limits(1, "openmp"):
        model.fit(x, yy)
        return model.predict(x_te)


def _scorer(
    regression: bool, y_te: np.ndarray, preds: dict[int, np.ndarray]
) -> tuple[str, Callable[[np.ndarray, np.ndarray], float]]:
    """The score's name and ``score(predictions, test-row indices)``: R^2 or accuracy."""
    if regression:

        def r2(p: np.ndarray, idx: np.ndarray) -> float:
            yt = y_te[idx]
            ss = ((yt - yt.mean()) ** 2).sum()
            return float(1 - ((yt - p[idx]) ** 2).sum() / ss) if ss > 0 else 0.0

        return "R^2", r2
    right = {k: p == y_te for k, p in preds.items()}  # compared once, not per bootstrap draw

    def accuracy(p: np.ndarray, idx: np.ndarray) -> float:
        return float(right[id(p)][idx].mean())

    return "accuracy", accuracy


def _ml_metrics(
    values: dict[str, float], lo: np.ndarray, hi: np.ndarray, desc: str
) -> list[Metric]:
    """TSTR, TRTR and their gap as metrics with 95% bootstrap intervals (``lo``/``hi`` in that
    order)."""
    nulls = {"utility.ml.tstr": values["utility.ml.trtr"], "utility.ml.trtr": None}
    out = []
    for i, (name, v) in enumerate(values.items()):
        est = Estimate(v, min(float(lo[i]), v), max(float(hi[i]), v), 0.95, "bootstrap (test rows)")
        out.append(
            Metric(
                name,
                est,
                UTILITY_METRICS[name] + desc,
                null_value=nulls.get(name, 0.0),
                higher_is_riskier=name == "utility.ml.gap",
            )
        )
    return out
