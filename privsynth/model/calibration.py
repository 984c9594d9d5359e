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

__all__ = ["calibrate"]

_TINY = 1e-280  # a slice sum below this after the clique-wide shift is redone per slice

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
            ex[k] *= ratio
