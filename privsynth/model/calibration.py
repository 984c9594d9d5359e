"""Calibration: the clique marginals of a junction-tree model, by log-space belief propagation.

The model is ``p(x) ∝ exp(sum_C theta_C(x_C))`` over the tree's maximal cliques ``C``, scaled to
``total`` records. :func:`calibrate` is the one *marginal oracle* of the engine (in Private-PGM's
terms): the estimator calls it once per trial step, :class:`~privsynth.model.GraphicalModel` once
per set of potentials, and nothing else computes marginals from potentials. It runs one upward
(collect) and one downward (distribute) pass over the schedule the tree owns
(:attr:`JunctionTree.plan <privsynth.model.junction_tree.JunctionTree.plan>`, built once per
tree); each clique's table is exponentiated once.

Calibration is post-processing: it reads the fitted potentials only, never data.
"""

from __future__ import annotations

import numpy as np

from privsynth.model.factor import sum_axes
from privsynth.model.junction_tree import JunctionTree, MessagePlan
from privsynth.model.potentials import Potentials, mul_into, multiply_all

__all__ = ["calibrate", "calibrate_potentials"]

_TINY = 1e-280  # a slice sum below this after the clique-wide shift is redone per slice
_PER_FACTOR = 2048  # cliques with fewer cells per factor take the log-space path (one exp)

Clique = tuple[str, ...]


def calibrate(
    tree: JunctionTree, theta: dict[Clique, np.ndarray], total: float
) -> tuple[dict[Clique, np.ndarray], float]:
    """Sum-product on the tree: clique marginals as counts (each sums to ``total``), and log Z.

    ``theta`` maps every maximal clique to its log-potential array (canonical attribute order).

    *Collect* (leaves first) works in log space: ``b_C = theta_C + sum_k m_{k->C}``, then
    ``E_C = exp(b_C - max)`` with the clique's maximum (one number: no overflow) and
    ``m_{C->parent} = log sum_{C \\ S} E_C + max``; when some slice of the parent separator ``S``
    lies so far below that maximum that its sum would underflow, the clique is redone with the
    maximum taken per value of ``S`` (every slice keeps its own dynamic range).
    *Distribute* (root first) needs no logs or exps: the root's marginal is ``E_R`` scaled to
    ``total`` and a child's is ``E_C * mu_parent(S) / sum_{C \\ S} E_C`` (its conditional given the
    separator times the parent's separator marginal). Each clique is exponentiated once.
    """
    plan = tree.plan
    ex, esum, log_z = _collect(plan, theta, total)
    _distribute(plan, ex, esum)
    return ex, log_z


def calibrate_potentials(
    tree: JunctionTree, pots: Potentials, total: float, *, cells_per_factor: int = _PER_FACTOR
) -> tuple[dict[Clique, np.ndarray], float]:
    """:func:`calibrate` of ``pots.dense()`` without building it: each clique's
    ``exp(theta_C + messages)`` is the product of its factors (:class:`Potentials`: the base
    exponentiated once per fit, one small factor per measured group and per incoming message),
    each at most 1, with their maxima summed into one log shift. The messages, marginals and
    log Z are those of :func:`calibrate` up to rounding. Where a separator slice's (or the
    root's) sum falls under the underflow guard, or a factor's maximum is not finite, that
    clique is redone from its dense potentials in log space exactly as :func:`calibrate` does.
    Cliques with fewer than ``cells_per_factor`` cells per factor take that path directly.
    """
    plan = tree.plan
    rooting = plan.rooting
    ex: dict[Clique, np.ndarray] = {}
    esum: dict[Clique, np.ndarray] = {}
    msg_up: dict[Clique, np.ndarray] = {}
    log_z = 0.0
    for c in reversed(rooting.order):  # leaves first
        msgs = [msg_up.pop(k).reshape(plan.in_parent[k]) for k in rooting.children[c]]
        root = rooting.parent[c] is None
        axes = () if root else plan.up_axes[c]
        out = _product_pass(pots, c, msgs, axes, total if root else None, cells_per_factor)
        if out is None:  # the exact log-space path on the dense potentials
            b = _dense_belief(pots, c, msgs)
            if root:
                ex[c], log_z = _root_counts(b, False, total)
                continue
            out = _message(b, axes, plan.sep_shape[c])
            if out is None:
                out = _message_per_slice(_dense_belief(pots, c, msgs), axes, plan.sep_shape[c])
        if root:
            ex[c], log_z = out[0], float(out[2])
            continue
        ex[c], esum[c], msg_up[c] = out[0], out[1], out[2].reshape(plan.sep_shape[c])
    _distribute(plan, ex, esum)
    return ex, log_z


def _dense_belief(pots: Potentials, c: Clique, msgs: list[np.ndarray]) -> np.ndarray:
    """``theta_C + sum(msgs)`` as a new array (the log-space path's belief)."""
    b = pots.dense_host(c)
    for m in msgs:
        b += m
    return b


def _product_pass(
    pots: Potentials,
    c: Clique,
    msgs: list[np.ndarray],
    axes: tuple[int, ...],
    total: float | None,
    cells_per_factor: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | float] | None:
    """One clique of :func:`calibrate_potentials` by products: ``(E, sums over axes, log
    message)``, or for the root (``total`` given) ``(counts, mass, log Z)``; None: use the
    log-space path (a small clique, a non-finite maximum, or a sum under the underflow
    guard). Below ``cells_per_factor`` cells per factor the exponential of the dense belief is the
    cheaper of the two (numpy's per-call overhead on many small factors: on adult_pgm's
    0.14 MB models the product path alone was 30% slower)."""
    lay = pots.layout
    if lay.cells[c] < cells_per_factor * (1 + len(lay.members[c]) + len(msgs)):
        return None  # a small clique: one exp costs less than building its factors
    got = pots.factors(c)
    if got is None:
        return None
    factors, shift = got
    for m in msgs:
        top = float(m.max()) if m.size else 0.0
        if not np.isfinite(top):
            return None
        factors.append(np.exp(m - top))
        shift += top
    e = multiply_all(factors, pots.layout.shapes[c])
    if total is not None:
        mass = float(e.sum())
        if not mass >= _TINY or not np.isfinite(mass):
            return None
        e *= total / mass
        return e, np.float64(mass), float(np.log(mass) + shift)
    s = sum_axes(e, axes).reshape(_keep_shape(e.shape, axes)) if axes else e.copy()
    if s.size and not float(s.min()) >= _TINY:
        return None
    m = np.log(s)
    m += shift
    return e, s, m


def _collect(
    plan: MessagePlan, theta: dict[Clique, np.ndarray], total: float
) -> tuple[dict[Clique, np.ndarray], dict[Clique, np.ndarray], float]:
    """Upward pass: ``E_C`` per clique (the root's already scaled to counts), the child sums of
    ``E_C`` over ``C \\ S`` (in the child's broadcast shape) and log Z."""
    rooting = plan.rooting
    ex: dict[Clique, np.ndarray] = {}  # E_C (overwritten in place by the marginal)
    esum: dict[Clique, np.ndarray] = {}
    msg_up: dict[Clique, np.ndarray] = {}
    log_z = 0.0
    for c in reversed(rooting.order):  # leaves first
        kids = rooting.children[c]
        msgs = [msg_up.pop(k).reshape(plan.in_parent[k]) for k in kids]
        b = _belief(theta[c], msgs)
        if rooting.parent[c] is None:
            ex[c], log_z = _root_counts(theta[c] if b is None else b, b is None, total)
            continue
        axes, sep_shape = plan.up_axes[c], plan.sep_shape[c]
        b = np.array(theta[c], dtype=np.float64, copy=True) if b is None else b
        out = _message(b, axes, sep_shape)
        if out is None:  # a slice far below the clique's maximum: shift per slice instead
            b = (
                np.array(theta[c], dtype=np.float64, copy=True)
                if not msgs
                else _belief(theta[c], msgs)
            )
            out = _message_per_slice(b, axes, sep_shape)
        ex[c], esum[c], msg_up[c] = out
    return ex, esum, log_z


def _belief(theta: np.ndarray, msgs: list[np.ndarray]) -> np.ndarray | None:
    """``theta + sum(msgs)`` as a new array; None without messages (a leaf: theta itself)."""
    if not msgs:
        return None
    b = np.add(theta, msgs[0])
    for m in msgs[1:]:
        b += m
    return b


def _message(
    b: np.ndarray, axes: tuple[int, ...], sep_shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``E = exp(b - shift)`` (in place in ``b``, which the caller gives up), its sums over
    ``axes`` (keepdims shape) and the log message ``log sum E + shift`` (separator shape).

    The shift is one number, the clique's largest value: every exponent is then <= 0, so nothing
    overflows. When a separator slice's sum falls under ``_TINY`` (its own maximum lies so far
    below that underflow would cost precision, or it is all ``-inf``) this returns None and the
    caller redoes the clique with per-slice maxima (:func:`_message_per_slice`), which keeps every
    slice's full range.
    """
    shift = float(b.max()) if b.size else 0.0
    if not np.isfinite(shift):
        return None
    if shift != 0.0:
        b -= shift
    np.exp(b, out=b)
    s = sum_axes(b, axes).reshape(_keep_shape(b.shape, axes)) if axes else b.copy()
    if s.size and float(s.min()) < _TINY:
        return None
    m = np.log(s)
    m += shift
    return b, s, m.reshape(sep_shape)


def _message_per_slice(
    b: np.ndarray, axes: tuple[int, ...], sep_shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_message` with the maximum taken per separator slice (the exact-range path)."""
    shift = np.max(b, axis=axes, keepdims=True) if axes else b.copy()
    shift[~np.isfinite(shift)] = 0.0
    b -= shift
    np.exp(b, out=b)
    s = b.sum(axis=axes, keepdims=True) if axes else b.copy()
    with np.errstate(divide="ignore"):
        m = np.log(s)
    m += shift
    return b, s, m.reshape(sep_shape)


def _keep_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else k for i, k in enumerate(shape))


def _root_counts(b: np.ndarray, borrowed: bool, total: float) -> tuple[np.ndarray, float]:
    """The root's belief ``b`` exponentiated (max-shifted) and scaled to ``total``; and log Z.

    ``borrowed``: ``b`` is the caller's potential (a leaf-less root), so work on a copy.
    """
    if borrowed:
        b = np.array(b, dtype=np.float64, copy=True)
    shift = float(b.max()) if b.size else 0.0
    if not np.isfinite(shift):
        shift = 0.0
    b -= shift
    np.exp(b, out=b)
    mass = float(b.sum())
    with np.errstate(divide="ignore"):
        log_z = float(np.log(mass) + shift)
    b *= total / mass if mass > 0 else 0.0
    return b, log_z


def _distribute(
    plan: MessagePlan, ex: dict[Clique, np.ndarray], esum: dict[Clique, np.ndarray]
) -> None:
    """Downward pass, in place: ``ex[c]`` becomes clique ``c``'s marginal counts."""
    rooting = plan.rooting
    for c in rooting.order:  # root first; ex[c] already holds c's marginal counts
        mu = ex[c]
        for k in rooting.children[c]:
            sep = sum_axes(mu, plan.down_axes[k])
            s = esum.pop(k)
            ratio = np.divide(sep.reshape(s.shape), s, out=np.zeros_like(s), where=s > 0)
            mul_into(ex[k], ratio)
