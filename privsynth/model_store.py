"""The saved DP model: write a fitted synthesizer's model to a folder, load it, and sample from it
with conditions (``--where``), rebalancing and rare-combination ("edge case") packs.

**What is saved, and why it is safe to share like the synthetic table.** A model folder holds
``model.json`` (the public schema with its constraints, the method and its parameters without the
seed, the privacy ledger and the budget spent, the junction tree's cliques, the noisy record count)
and ``potentials.npz`` (the fitted log-potentials, and for MST the domain compression built from
noisy counts). Every number in it is a function of the noisy measurements and of public metadata:
the potentials are the estimator's fit to the noisy marginals, the record count their weighted
mean. No code, count, hash or row of the private table is stored. By the post-processing property
of differential privacy, anything computed from the folder (any number of samples, conditioned,
reweighted or tempered) has the same (epsilon, delta) guarantee as the fit that made it, recorded
in ``model.json``; sampling spends no budget. The exception is a *seeded* fit: its noise can be
recomputed by anyone holding the seed, so ``model.json`` records ``"seeded": true`` and such a
model is for testing, never a release (docs/privacy.md).

**Sampling from ``p(x) ∝ exp(sum_C theta_C(x_C))``.** All operations edit the potentials and then
sample the edited model, so they cost one calibration:

* *constraints and ``--where``*: a rule whose columns lie inside one maximal clique ``C`` sets
  ``theta_C = -inf`` on the cells where it cannot hold (structural zeros: exact conditioning of
  the model on the rule, see :mod:`privsynth.constraints`); every rule is then enforced on the
  decoded rows by rejection (a rejected row is redrawn), so the output is the model conditioned on
  all rules and 100% of rows satisfy them.
* *rebalancing* a column ``A`` to proportions ``q``: the potential of a clique holding ``A`` gains
  ``log(q(a) / p(a))``, so ``A``'s marginal becomes ``q`` and every conditional given ``A`` is
  unchanged (values the model gives no mass cannot be created and are reported).
* *edge cases*: tempering, ``theta -> tau * theta`` with ``0 < tau < 1``, samples ``p(x)^tau``
  (renormalised): rare combinations are drawn far more often, impossible ones (structural zeros)
  never.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from privsynth.constraints import ConstraintSet, parse_constraints
from privsynth.domain import Domain
from privsynth.encoding import decode
from privsynth.errors import InputError, NotFittedError
from privsynth.manifest import schema_privacy
from privsynth.model.factor import Factor
from privsynth.model.graphical_model import GraphicalModel
from privsynth.model.junction_tree import JunctionTree
from privsynth.schema import Schema
from privsynth.synthesizers.graphical import Compression

__all__ = ["MODEL_FORMAT", "SampleResult", "SavedModel", "constrained_sample", "load_model"]

MODEL_FORMAT = "privsynth-model/1"
MODEL_FILE, ARRAYS_FILE = "model.json", "potentials.npz"
MAX_ROUNDS = 40
MIN_ACCEPT = 1e-4  # below this acceptance rate (after enough draws) a condition is "impossible"
MAX_BATCH = 2_000_000


@dataclass(frozen=True, kw_only=True)
class SampleResult:
    """A sampled table and how it was drawn (JSON-ready ``stats``; no private value in either)."""

    table: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)


class SavedModel:
    """A fitted DP model plus its public schema: what ``privsynth sample`` draws from."""

    def __init__(
        self,
        *,
        schema: Schema,
        model: GraphicalModel,
        compression: dict[str, Compression] | None = None,
        sample_method: str = "rounding",
        info: dict[str, Any] | None = None,
    ) -> None:
        self.schema = schema
        self.model = model
        self.compression = dict(compression or {})
        self.sample_method = sample_method
        self.info = dict(info or {})

    # -------------------------------------------------------------------- the adapter
    @classmethod
    def from_synthesizer(cls, synth: Any) -> SavedModel:
        """Wrap a fitted synthesizer, reading only its public fitted attributes."""
        if not hasattr(synth, "ledger_"):
            raise NotFittedError("the synthesizer is not fitted yet: call fit() first")
        schema = getattr(synth, "schema_", None)
        if schema is None:
            raise InputError("only a synthesizer fitted on a table with a schema can be saved")
        if hasattr(synth, "model_"):
            model = synth.model_
            compression = dict(getattr(synth, "compression_", {}) or {})
            method = getattr(synth, "sample_method", "rounding")
        elif hasattr(synth, "probabilities_"):  # the independent baseline
            model = _independent_model(synth.domain_, synth.probabilities_, synth.total_)
            compression, method = {}, "sampling"
        else:
            raise InputError(f"method {getattr(synth, 'name', '?')!r} has no model to save")
        return cls(
            schema=schema,
            model=model,
            compression=compression,
            sample_method=method,
            info=_model_info(synth),
        )

    @property
    def total(self) -> float:
        return float(self.model.total)

    # ------------------------------------------------------------------- save / load
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model folder ``path`` atomically (it must not exist yet)."""
        path = Path(path)
        if path.exists():
            raise InputError(f"{path}: already exists; give a new folder name for the model")
        cliques = list(self.model.tree.maximal_cliques)
        arrays = {f"p{i}": self.model.potentials[c].values for i, c in enumerate(cliques)}
        comp = {}
        for i, (a, cmp) in enumerate(sorted(self.compression.items())):
            w = np.zeros(cmp.size)
            w[cmp.merged] = cmp.weights
            arrays[f"keep{i}"], arrays[f"weights{i}"] = cmp.keep, w
            comp[a] = {"index": i, "size": cmp.size}
        tmp = Path(
            tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent if str(path.parent) else ".")
        )
        try:
            np.savez_compressed(tmp / ARRAYS_FILE, **arrays)
            digest = hashlib.sha256((tmp / ARRAYS_FILE).read_bytes()).hexdigest()
            doc = {
                "format": MODEL_FORMAT,
                **self.info,
                "schema": self.schema.to_dict(),
                "model": {
                    "domain": self.model.domain.to_dict(),
                    "cliques": [list(c) for c in cliques],
                    "total": self.total,
                    "sample_method": self.sample_method,
                    "compression": comp,
                    "arrays_sha256": digest,
                },
            }
            (tmp / MODEL_FILE).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SavedModel:
        """Read a model folder written by :meth:`save` (every problem is one InputError)."""
        path = Path(path)
        where = f"{path}: not a privsynth model folder"
        if not (path / MODEL_FILE).is_file() or not (path / ARRAYS_FILE).is_file():
            raise InputError(f"{where} (needs {MODEL_FILE} and {ARRAYS_FILE})")
        try:
            doc = json.loads((path / MODEL_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{where} ({MODEL_FILE} is not JSON: {exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != MODEL_FORMAT:
            raise InputError(f"{where} (format must be {MODEL_FORMAT!r})")
        raw = (path / ARRAYS_FILE).read_bytes()
        spec = doc.get("model") or {}
        if hashlib.sha256(raw).hexdigest() != spec.get("arrays_sha256"):
            raise InputError(f"{path}: {ARRAYS_FILE} does not match {MODEL_FILE} (sha256 differs)")
        schema = Schema.from_dict(doc["schema"])
        with np.load(path / ARRAYS_FILE, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        try:
            model, comp = _rebuild(spec, arrays, schema)
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(f"{where} (inconsistent model: {exc})") from None
        info = {k: v for k, v in doc.items() if k not in ("format", "schema", "model")}
        return cls(
            schema=schema,
            model=model,
            compression=comp,
            sample_method=str(spec.get("sample_method", "rounding")),
            info=info,
        )

    # ------------------------------------------------------------------------ sampling
    def sample(
        self,
        rows: int | None = None,
        *,
        where: str | None = None,
        rebalance: str | None = None,
        proportions: list[float] | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        reject: bool = True,
    ) -> SampleResult:
        """``rows`` records from the model under the schema's rules and ``where`` (free).

        ``reject=False`` keeps the structural zeros but skips rejection (to measure what the
        zeros alone achieve); rows may then break rules that no clique holds.
        """
        n = _check_rows(rows, self.total)
        rng = np.random.default_rng(seed)
        rules = self.conditions(where)
        thetas = {c: f.values for c, f in self.model.potentials.items()}
        stats: dict[str, Any] = {"rows": n, "method": self.sample_method}
        if temperature is not None:
            if not 0 < temperature <= 1:
                raise InputError(f"the edge-case temperature must be in (0, 1], got {temperature}")
            thetas = {c: t * temperature for c, t in thetas.items()}
            stats["temperature"] = temperature
        thetas, zeros = self._zero_cells(thetas, rules)
        stats["structural_zeros"] = zeros
        stats["rejection"] = [r.name for r in rules]
        model = self._edited(thetas, rules)
        if rebalance is not None:
            model, stats["rebalance"] = self._rebalanced(model, rebalance, proportions)
        table, drawn, accepted = self._draw(model, n, rules if reject else ConstraintSet(()), rng)
        stats["drawn"] = drawn
        stats["acceptance"] = round(accepted / drawn, 6) if drawn else 1.0
        if rules:
            stats["satisfaction"] = rules.satisfaction(table)
        return SampleResult(table=table, stats=stats)

    def conditions(self, where: str | None = None) -> ConstraintSet:
        """The schema's rules plus ``where`` (validated against the schema: InputError)."""
        rules = self.schema.rules
        if where is None:
            return rules
        extra = parse_constraints(
            [{"name": "where", "rule": where}], self.schema.columns, label="--where"
        )
        return ConstraintSet((*rules.rules, *extra.rules), rules.specs or extra.specs)

    def _zero_cells(
        self, thetas: dict[tuple[str, ...], np.ndarray], rules: ConstraintSet
    ) -> tuple[dict[tuple[str, ...], np.ndarray], list[str]]:
        """Structural zeros for each rule over columns inside one maximal clique (uncompressed)."""
        dom, tree = self.model.domain, self.model.tree
        out = dict(thetas)
        applied = []
        for r in (part for rule in rules for part in rule.conjuncts()):
            if any(c in self.compression or c not in dom for c in r.columns):
                continue
            canon = dom.canonical(r.columns)
            host = tree.containing(canon)
            if host is None:
                continue
            order = tuple(a for a in host if a in canon)
            mask = rules.feasible_cells(r, order, [dom[a] for a in order])
            mask = mask.reshape([dom[a] if a in canon else 1 for a in host])
            out[host] = np.where(mask, out[host], -np.inf)
            applied.append(r.name)
        return out, sorted(set(applied))

    def _edited(self, thetas: dict, rules: ConstraintSet) -> GraphicalModel:
        dom = self.model.domain
        pots = {c: Factor(dom.project(c), t) for c, t in thetas.items()}
        model = GraphicalModel(dom, self.model.tree, pots, total=self.total)
        model.marginals()
        if model.log_partition is None or not np.isfinite(model.log_partition):
            names = ", ".join(r.name for r in rules) or "the conditions"
            raise InputError(f"no record the model can produce satisfies {names}; relax them")
        return model

    def _rebalanced(
        self, model: GraphicalModel, col: str, proportions: list[float] | None
    ) -> tuple[GraphicalModel, dict[str, Any]]:
        """Reweight ``col``'s marginal to ``proportions`` (default: uniform over its values)."""
        if col not in model.domain:
            raise InputError(f"--rebalance: {col!r} is not a synthesized column of the model")
        spec = self.schema[col]
        k = spec.n_values()
        target = np.full(k, 1.0 / k) if proportions is None else np.asarray(proportions, float)
        if (
            target.size != k
            or np.any(target < 0)
            or not np.isfinite(target).all()
            or target.sum() <= 0
        ):
            raise InputError(
                f"--rebalance {col}: give {k} non-negative proportions (one per value, in schema "
                f"order), got {0 if proportions is None else len(proportions)}"
            )
        target = np.concatenate([target / target.sum(), np.zeros(spec.n_codes() - k)])
        if col in self.compression:
            cmp = self.compression[col]
            target = np.concatenate([target[cmp.keep], [target[cmp.merged].sum()]])
        current = np.asarray(model.project((col,)), dtype=float)
        reachable = current > 0
        lost = float(target[~reachable].sum())
        if lost >= 1 - 1e-12:
            raise InputError(
                f"--rebalance {col}: the model gives none of the requested values mass"
            )
        w = np.zeros_like(target)
        w[reachable] = target[reachable] / current[reachable]
        host = model.tree.containing((col,))
        axis = host.index(col)
        shape = [1] * len(host)
        shape[axis] = w.size
        with np.errstate(divide="ignore"):
            logw = np.log(w).reshape(shape)
        thetas = {c: f.values for c, f in model.potentials.items()}
        thetas[host] = thetas[host] + logw
        note = {"column": col, "target": [round(float(x), 6) for x in target]}
        if lost > 0:
            note["unreachable_share"] = round(lost, 6)
        return self._edited(thetas, ConstraintSet(())), note

    def _draw(
        self, model: GraphicalModel, n: int, rules: ConstraintSet, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, int, int]:
        """Sample, decode and reject rows breaking a rule until ``n`` remain (+ draws, kept)."""
        parts: list[pd.DataFrame] = []
        have = drawn = 0
        rate = 1.0
        for _ in range(MAX_ROUNDS):
            m = min(
                int((n - have) / max(rate, MIN_ACCEPT) * 1.05) + (64 if rules else 0), MAX_BATCH
            )
            codes = model.sample(m, rng, method=self.sample_method)
            for j, a in enumerate(model.domain.attrs):
                if a in self.compression:
                    codes[:, j] = self.compression[a].decode(codes[:, j], rng, self.sample_method)
            table = decode(codes, self.schema, rng)
            drawn += m
            if rules:
                ok = rules.check(table)
                table = table[ok.all(axis=1)]
                rate = max((have + len(table)) / drawn, 0.0)
                if drawn >= 20_000 and rate < MIN_ACCEPT:
                    worst = rules.rules[int(np.argmin(ok.mean(axis=0)))].name
                    raise InputError(f"almost no sampled record satisfies {worst!r}; relax it")
            parts.append(table)
            have += len(table)
            if have >= n:
                break
        else:
            raise InputError(
                f"could not draw {n} records meeting every rule in {MAX_ROUNDS} rounds"
            )
        out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        if len(out) > n or rules:
            out = out.iloc[np.sort(rng.permutation(len(out))[:n])]
        return out.reset_index(drop=True), drawn, have


def load_model(path: str | os.PathLike[str]) -> SavedModel:
    """Read a saved model folder."""
    return SavedModel.load(path)


def constrained_sample(synth: Any, rows: int | None, *, seed: int | None = None) -> pd.DataFrame:
    """``synth.sample(rows)`` under the schema's constraints (structural zeros + rejection)."""
    return SavedModel.from_synthesizer(synth).sample(rows, seed=seed).table


# ------------------------------------------------------------------------------- helpers
def _check_rows(rows: int | None, total: float) -> int:
    if rows is None:
        return max(int(round(total)), 1)
    if isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows < 1:
        raise InputError(f"the number of rows must be a positive integer, got {rows!r}")
    return int(rows)


def _independent_model(
    domain: Domain, probabilities: list[np.ndarray], total: float
) -> GraphicalModel:
    tree = JunctionTree(domain, [(a,) for a in domain.attrs])
    pots = {}
    with np.errstate(divide="ignore"):
        for a, p in zip(domain.attrs, probabilities, strict=True):
            pots[(a,)] = Factor(domain.project((a,)), np.log(np.asarray(p, dtype=float)))
    return GraphicalModel(domain, tree, pots, total=float(total))


def _model_info(synth: Any) -> dict[str, Any]:
    """Method, parameters (never the seed) and the privacy spent, from the synthesizer."""
    ledger = synth.ledger_
    eps, delta = ledger.spent_epsilon_delta()
    params = {k: v for k, v in synth.params().items() if k != "seed"}
    schema_dp = schema_privacy(synth.schema_)
    total = {"epsilon": eps, "delta": delta}
    if schema_dp is not None:  # basic composition with the DP schema's cost
        total = {
            "epsilon": eps + float(schema_dp.get("epsilon", 0.0)),
            "delta": delta + float(schema_dp.get("delta", 0.0)),
        }
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "method": getattr(synth, "name", type(synth).__name__),
        "parameters": params,
        "seeded": getattr(synth, "seed", None) is not None,
        "privacy": {
            "neighbouring": "add/remove one record",
            "requested": {"epsilon": synth.budget.epsilon, "delta": synth.budget.delta},
            "spent": {"epsilon": eps, "delta": delta, "rho": ledger.rho_spent},
            "schema": schema_dp,
            "total": total,
            "ledger": ledger.to_dict(),
            "sampling": "post-processing of the DP model: no further privacy cost",
        },
    }


def _rebuild(
    spec: dict[str, Any], arrays: dict[str, np.ndarray], schema: Schema
) -> tuple[GraphicalModel, dict[str, Compression]]:
    sizes = {str(k): int(v) for k, v in spec["domain"].items()}
    domain = Domain.from_dict(sizes)
    full = schema.domain()
    if list(domain.attrs) != list(full.attrs):
        raise ValueError("model columns differ from the schema's")
    comp = {}
    for a, c in (spec.get("compression") or {}).items():
        i = int(c["index"])
        comp[a] = Compression(int(c["size"]), arrays[f"keep{i}"], arrays[f"weights{i}"])
        if comp[a].new_size != domain[a] or comp[a].size != full[a]:
            raise ValueError(f"compression of {a!r} does not fit the domain")
    for a in domain.attrs:
        if a not in comp and domain[a] != full[a]:
            raise ValueError(f"column {a!r} has {domain[a]} codes, the schema {full[a]}")
    cliques = [tuple(c) for c in spec["cliques"]]
    tree = JunctionTree(domain, cliques)
    if set(tree.maximal_cliques) != {domain.canonical(c) for c in cliques}:
        raise ValueError("the cliques do not form the saved junction tree")
    pots = {}
    for i, c in enumerate(cliques):
        values = arrays[f"p{i}"]
        if values.shape != tuple(domain[a] for a in c):
            raise ValueError(f"potential {i} has shape {values.shape}")
        pots[domain.canonical(c)] = Factor(domain.project(c), values).transpose(domain.canonical(c))
    return GraphicalModel(domain, tree, pots, total=float(spec["total"])), comp
