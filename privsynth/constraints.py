"""Public row rules (business constraints) over a schema's columns: parse, validate, evaluate.

A schema may carry a ``constraints`` section: a list of rules, each a string or
``{"name": ..., "rule": ...}``. A rule is a boolean expression over columns::

    rule    := implies
    implies := or ("implies" implies)?          # a implies b  ==  (not a) or b
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | atom
    atom    := "(" rule ")"
             | operand ("==" | "!=" | "<" | "<=" | ">" | ">=") operand
             | operand ["not"] "in" "[" literal ("," literal)* "]"
             | operand "is" ["not"] "null"
    operand := column | literal ; column := name | `any name` ; literal := number | "text"

for example ``marital-status == "Never-married" or age >= 18`` or ``start <= end``. Parsing is a
small recursive-descent parser of our own: nothing is ever passed to ``eval``. Rules are checked
against the schema when it loads (unknown or excluded column, a text column ordered or compared
with a number, a category the schema does not list, bad syntax): one error naming the rule.

A comparison that involves a missing value is false (write ``x is null or ...`` to allow it).

**Why constraints cost no privacy budget.** A rule is written by the data owner from public
knowledge (law, the form's validation, the meaning of a column), exactly like the schema's
categories and bounds; it is never read from the private rows. Everything a rule is used for is
post-processing of the DP output: zeroing cells of a fitted model, rejecting sampled rows, and
counting how many synthetic rows satisfy it. By the post-processing property of differential
privacy none of this changes the guarantee. (A rule *learned* from the data would not be public;
privsynth does not infer rules.)

**Cells of a model.** A rule is evaluated on a grid of model cells by three-valued (interval)
logic: each numeric code stands for its bin ``[lo, hi]``, and every atom reports whether it *can*
be true and whether it *can* be false anywhere in the cell. A cell is a structural zero only when
the rule cannot be true anywhere in it, so zeroing never removes a value that satisfies the rule;
cells where the rule holds only for part of a bin are left to rejection at sampling.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from privsynth.errors import SchemaError

__all__ = ["Constraint", "ConstraintSet", "parse_constraints", "parse_rule"]

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<bq>`[^`]+`)
  | (?P<op><=|>=|==|!=|<|>|\(|\)|\[|\]|,|-)
  | (?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)
  )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "implies"}
_COMPARE = ("==", "!=", "<", "<=", ">", ">=")
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


class RuleSyntaxError(ValueError):
    """A rule that does not parse (the message says where)."""


# ----------------------------------------------------------------------------------- the AST
@dataclass(frozen=True)
class Col:
    name: str


@dataclass(frozen=True)
class Lit:
    value: float | str


@dataclass(frozen=True)
class Compare:
    op: str
    left: Col | Lit
    right: Col | Lit


@dataclass(frozen=True)
class InList:
    operand: Col
    values: tuple[float | str, ...]
    negate: bool


@dataclass(frozen=True)
class IsNull:
    operand: Col
    negate: bool


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and", "or", "not", "implies"
    args: tuple[Any, ...]


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise RuleSyntaxError(f"unexpected character {text[pos:].lstrip()[:1]!r}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "name" and value in _KEYWORDS:
            kind = "kw"
        out.append((kind, value))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str]:
        return self.toks[self.i] if self.i < len(self.toks) else ("end", "")

    def take(self, kind: str, value: str | None = None) -> str:
        k, v = self.peek()
        if k != kind or (value is not None and v != value):
            want = value or kind
            raise RuleSyntaxError(f"expected {want!r} but found {_shown(v)}")
        self.i += 1
        return v

    def at(self, kind: str, value: str) -> bool:
        return self.peek() == (kind, value)

    def rule(self) -> Any:
        node = self.implies()
        if self.peek()[0] != "end":
            raise RuleSyntaxError(f"unexpected {self.peek()[1]!r} after a complete rule")
        return node

    def implies(self) -> Any:
        left = self.disj()
        if self.at("kw", "implies"):
            self.i += 1
            return BoolOp("implies", (left, self.implies()))
        return left

    def disj(self) -> Any:
        args = [self.conj()]
        while self.at("kw", "or"):
            self.i += 1
            args.append(self.conj())
        return args[0] if len(args) == 1 else BoolOp("or", tuple(args))

    def conj(self) -> Any:
        args = [self.neg()]
        while self.at("kw", "and"):
            self.i += 1
            args.append(self.neg())
        return args[0] if len(args) == 1 else BoolOp("and", tuple(args))

    def neg(self) -> Any:
        if self.at("kw", "not"):
            self.i += 1
            return BoolOp("not", (self.neg(),))
        return self.atom()

    def atom(self) -> Any:
        if self.at("op", "("):
            self.i += 1
            node = self.implies()
            self.take("op", ")")
            return node
        left = self.operand()
        k, v = self.peek()
        if k == "op" and v in _COMPARE:
            self.i += 1
            return Compare(v, left, self.operand())
        if (k, v) in (("kw", "in"), ("kw", "not")):
            negate = v == "not"
            self.i += 1
            if negate:
                self.take("kw", "in")
            return InList(self._column(left, "in"), self.values(), negate)
        if (k, v) == ("kw", "is"):
            self.i += 1
            negate = self.at("kw", "not")
            self.i += int(negate)
            self.take("kw", "null")
            return IsNull(self._column(left, "is null"), negate)
        raise RuleSyntaxError(
            f"expected a comparison (==, <, in, is null, ...) but found {_shown(v)}"
        )

    def _column(self, node: Col | Lit, what: str) -> Col:
        if not isinstance(node, Col):
            raise RuleSyntaxError(f"'{what}' needs a column on its left, not a constant")
        return node

    def values(self) -> tuple[float | str, ...]:
        self.take("op", "[")
        out = [self.literal()]
        while self.at("op", ","):
            self.i += 1
            out.append(self.literal())
        self.take("op", "]")
        return tuple(out)

    def literal(self) -> float | str:
        node = self.operand()
        if not isinstance(node, Lit):
            raise RuleSyntaxError(f"a list holds constants, not the column {node.name!r}")
        return node.value

    def operand(self) -> Col | Lit:
        k, v = self.peek()
        if (k, v) == ("op", "-"):
            self.i += 1
            return Lit(-float(self.take("num")))
        self.i += 1
        if k == "num":
            return Lit(float(v))
        if k == "str":
            return Lit(re.sub(r"\\(.)", r"\1", v[1:-1]))
        if k == "bq":
            return Col(v[1:-1])
        if k == "name":
            return Col(v)
        self.i -= 1
        raise RuleSyntaxError(f"expected a column or a constant but found {_shown(v)}")


def _shown(token: str) -> str:
    return repr(token) if token else "the end of the rule"


def parse_rule(text: str) -> Any:
    """The syntax tree of one rule (raises :class:`RuleSyntaxError`)."""
    if not isinstance(text, str) or not text.strip():
        raise RuleSyntaxError("a rule must be a non-empty string")
    return _Parser(text).rule()


def _columns(node: Any) -> list[str]:
    if isinstance(node, Col):
        return [node.name]
    if isinstance(node, Compare):
        return _columns(node.left) + _columns(node.right)
    if isinstance(node, InList | IsNull):
        return [node.operand.name]
    if isinstance(node, BoolOp):
        return [c for a in node.args for c in _columns(a)]
    return []


# ------------------------------------------------------------------------- binding to a schema
def _kind(spec: Any) -> str:
    """'number', 'datetime' or 'text': how a column's values compare."""
    if spec.type in ("integer", "float"):
        return "number"
    if spec.type == "datetime":
        return "datetime"
    cats = list(spec.categories or [])
    if cats and all(isinstance(c, int | float) and not isinstance(c, bool) for c in cats):
        return "number"
    return "text"


def _text_key(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


class _Binder:
    """Checks a parsed rule against column specs and converts its constants (dates to seconds)."""

    def __init__(self, specs: Mapping[str, Any]) -> None:
        self.specs = specs

    def spec(self, name: str) -> Any:
        if name not in self.specs:
            known = ", ".join(sorted(self.specs)[:12])
            raise SchemaError(f"unknown column {name!r} (synthesized columns: {known})")
        return self.specs[name]

    def bind(self, node: Any) -> Any:
        if isinstance(node, BoolOp):
            return BoolOp(node.op, tuple(self.bind(a) for a in node.args))
        if isinstance(node, IsNull):
            self.spec(node.operand.name)
            return node
        if isinstance(node, InList):
            spec = self.spec(node.operand.name)
            vals = tuple(self.constant(spec, v) for v in node.values)
            return InList(node.operand, vals, node.negate)
        return self.compare(node)

    def compare(self, node: Compare) -> Compare:
        left, right, op = node.left, node.right, node.op
        if isinstance(left, Lit) and isinstance(right, Lit):
            raise SchemaError("compares two constants; a rule must name a column")
        if isinstance(left, Lit):
            left, right, op = right, left, _FLIP[op]
        spec = self.spec(left.name)
        kind = _kind(spec)
        if isinstance(right, Col):
            other = self.spec(right.name)
            if _kind(other) != kind:
                raise SchemaError(
                    f"compares {left.name!r} ({kind}) with {right.name!r} ({_kind(other)})"
                )
            if kind == "text" and op not in ("==", "!="):
                raise SchemaError(f"orders text columns {left.name!r} and {right.name!r}")
            return Compare(op, left, right)
        if kind == "text" and op not in ("==", "!="):
            raise SchemaError(
                f"column {left.name!r} is a text category: use ==, != or in, not {op}"
            )
        return Compare(op, left, Lit(self.constant(spec, right.value)))

    def constant(self, spec: Any, value: float | str) -> float | str:
        kind = _kind(spec)
        where = f"column {spec.name!r}"
        if kind == "number":
            if isinstance(value, str):
                raise SchemaError(f"{where} is numeric but is compared with the text {value!r}")
            return float(value)
        if kind == "datetime":
            if not isinstance(value, str):
                raise SchemaError(f"{where} is a date: write the constant as text in its format")
            ts = pd.to_datetime(value, format=spec.format, errors="coerce")
            if pd.isna(ts):
                raise SchemaError(f"{where}: {value!r} does not match format {spec.format!r}")
            return ts.value / 1e9
        key = _text_key(value)
        allowed = [_text_key(c) for c in spec.categories or []]
        if spec.other:
            allowed.append(spec.other_label)
        if key not in allowed:
            shown = ", ".join(repr(a) for a in allowed[:8]) + (", ..." if len(allowed) > 8 else "")
            raise SchemaError(f"{where} has no category {key!r} (categories: {shown})")
        return key


@dataclass(frozen=True)
class Constraint:
    """One validated rule: its name, source text, bound syntax tree and the columns it reads."""

    name: str
    rule: str
    tree: Any
    columns: tuple[str, ...]

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "rule": self.rule}

    def conjuncts(self) -> list[Constraint]:
        """The rule split at its top-level ``and`` (each part can be a structural zero alone)."""
        if not (isinstance(self.tree, BoolOp) and self.tree.op == "and"):
            return [self]
        return [
            Constraint(self.name, self.rule, t, tuple(dict.fromkeys(_columns(t))))
            for t in self.tree.args
        ]


def parse_constraints(
    raw: Any, columns: Sequence[Any], *, label: str = "schema constraint"
) -> ConstraintSet:
    """Validate a schema's ``constraints`` section against its column specs.

    ``raw`` is a list of strings or ``{"name", "rule"}`` objects. Every error is a
    :class:`SchemaError` that names the rule and says what to fix.
    """
    if raw is None:
        return ConstraintSet(())
    if not isinstance(raw, list):
        raise SchemaError("schema: 'constraints' must be a list of rules")
    specs = {c.name: c for c in columns if c.type != "exclude"}
    excluded = {c.name for c in columns if c.type == "exclude"}
    binder = _Binder(specs)
    rules: list[Constraint] = []
    for i, item in enumerate(raw):
        name, text = _entry(item, i)
        where = (
            f"{label} {name!r} ({text!r})" if label == "schema constraint" else f"{label} {text!r}"
        )
        try:
            tree = parse_rule(text)
        except RuleSyntaxError as exc:
            raise SchemaError(f"{where}: syntax error: {exc}") from None
        cols = tuple(dict.fromkeys(_columns(tree)))
        gone = [c for c in cols if c in excluded]
        if gone:
            raise SchemaError(f"{where}: column {gone[0]!r} is excluded and never synthesized")
        try:
            bound = binder.bind(tree)
        except SchemaError as exc:
            raise SchemaError(f"{where}: {exc}") from None
        rules.append(Constraint(name, text, bound, cols))
    names = [r.name for r in rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SchemaError(f"schema: duplicate constraint names {dupes}")
    return ConstraintSet(tuple(rules), specs)


def _entry(item: Any, i: int) -> tuple[str, str]:
    if isinstance(item, str):
        return f"rule-{i + 1}", item
    if isinstance(item, dict) and isinstance(item.get("rule"), str):
        unknown = set(item) - {"name", "rule", "note"}
        if unknown:
            raise SchemaError(f"schema constraint #{i + 1}: unknown keys {sorted(unknown)}")
        return str(item.get("name") or f"rule-{i + 1}"), item["rule"]
    raise SchemaError(
        f"schema constraint #{i + 1}: expected a rule string or {{'name': ..., 'rule': ...}}"
    )


# ------------------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class _Values:
    """A column's values as intervals ``[lo, hi]`` (numbers, dates) or text keys, plus missing."""

    na: np.ndarray
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    text: np.ndarray | None = None


def _compare_num(op: str, a: _Values, b: _Values) -> tuple[np.ndarray, np.ndarray]:
    """(can be true, can be false) of ``a op b`` over intervals (exact when lo == hi)."""
    if op in (">", ">="):
        return _compare_num(_FLIP[op], b, a)
    with np.errstate(invalid="ignore"):
        if op == "<":
            t, f = a.lo < b.hi, a.hi >= b.lo
        elif op == "<=":
            t, f = a.lo <= b.hi, a.hi > b.lo
        else:
            t = (a.lo <= b.hi) & (b.lo <= a.hi)
            f = ~((a.lo == a.hi) & (b.lo == b.hi) & (a.lo == b.lo))
            if op == "!=":
                t, f = f, t
    na = a.na | b.na
    return t & ~na, f | na


def _const(value: float | str) -> _Values:
    na = np.zeros((), dtype=bool)
    if isinstance(value, str):
        return _Values(na, text=np.array(value, dtype=object))
    v = np.array(float(value))
    return _Values(na, lo=v, hi=v)


def _evaluate(node: Any, env: Mapping[str, _Values]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(node, BoolOp):
        parts = [_evaluate(a, env) for a in node.args]
        if node.op == "not":
            t, f = parts[0]
            return f, t
        if node.op == "implies":
            (at, af), (bt, bf) = parts
            return af | bt, at & bf
        t, f = parts[0]
        for pt, pf in parts[1:]:
            t, f = (t & pt, f | pf) if node.op == "and" else (t | pt, f & pf)
        return t, f
    if isinstance(node, IsNull):
        na = env[node.operand.name].na
        return (~na, na) if node.negate else (na, ~na)
    if isinstance(node, InList):
        col = env[node.operand.name]
        t = np.zeros((), dtype=bool)
        f = np.ones((), dtype=bool)
        for v in node.values:
            et, ef = _equal(col, _const(v))
            t, f = t | et, f & ef
        return (f, t) if node.negate else (t, f)
    a = env[node.left.name]
    b = env[node.right.name] if isinstance(node.right, Col) else _const(node.right.value)
    if a.text is not None:
        t, f = _equal(a, b)
        return (f, t) if node.op == "!=" else (t, f)
    return _compare_num(node.op, a, b)


def _equal(a: _Values, b: _Values) -> tuple[np.ndarray, np.ndarray]:
    if a.text is None:
        return _compare_num("==", a, b)
    eq = np.asarray(a.text == b.text, dtype=bool)
    na = a.na | b.na
    return eq & ~na, ~eq | na


def _frame_values(s: pd.Series, spec: Any) -> _Values:
    na = s.isna().to_numpy()
    kind = _kind(spec)
    if kind == "text":
        return _Values(na, text=_text_keys(s, na))
    if kind == "datetime":
        ts = pd.to_datetime(
            s.astype(object).where(~s.isna(), None), format=spec.format, errors="coerce"
        )
        x = ts.to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9
        na = na | ts.isna().to_numpy()
    else:
        x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        na = na | ~np.isfinite(x)
    return _Values(na, lo=x, hi=x)


def _text_keys(s: pd.Series, na: np.ndarray) -> np.ndarray:
    """Category keys as text, vectorised (integral numbers lose their '.0'); None where missing."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        x = s.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(x) & (np.mod(np.nan_to_num(x), 1) == 0)
        keys = np.where(whole, np.nan_to_num(x).astype(np.int64).astype(str), x.astype(str))
    else:
        keys = s.astype(str).to_numpy()
    out = keys.astype(object)
    out[na] = None
    return out


def _cell_values(spec: Any, n_codes: int) -> _Values:
    """Each code of a column as a value (categories) or a closed interval (bins); NA last."""
    n_values = spec.n_values()
    na = np.arange(n_codes) >= n_values
    kind = _kind(spec)
    if spec.type == "categorical":
        cats = [_text_key(c) for c in spec.categories or []]
        if spec.other:
            cats.append(spec.other_label)
        cats += [""] * (n_codes - len(cats))
        if kind == "text":
            return _Values(na, text=np.array(cats, dtype=object))
        vals = np.array([float(c) if c not in ("", spec.other_label) else np.nan for c in cats])
        lo = np.where(np.isnan(vals), -np.inf, vals)
        hi = np.where(np.isnan(vals), np.inf, vals)
        return _Values(na, lo=lo, hi=hi)
    edges = spec.bin_edges()
    low, high = spec.numeric_bounds()
    lo = np.maximum(edges[:-1], low)
    hi = np.minimum(edges[1:] - (1.0 if spec.type == "integer" else 0.0), high)
    pad = n_codes - n_values
    return _Values(
        na, lo=np.concatenate([lo, [np.nan] * pad]), hi=np.concatenate([hi, [np.nan] * pad])
    )


class ConstraintSet:
    """The validated rules of one schema; evaluates them on tables and on model cells."""

    def __init__(self, rules: Sequence[Constraint], specs: Mapping[str, Any] | None = None) -> None:
        self.rules = tuple(rules)
        self.specs = dict(specs or {})

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self):
        return iter(self.rules)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def to_list(self) -> list[dict[str, str]]:
        return [r.to_dict() for r in self.rules]

    def check(self, df: pd.DataFrame) -> np.ndarray:
        """Boolean matrix (rows x rules): whether each row satisfies each rule."""
        out = np.ones((len(df), len(self.rules)), dtype=bool)
        env: dict[str, _Values] = {}
        for j, r in enumerate(self.rules):
            for c in r.columns:
                if c not in env:
                    if c not in df.columns:
                        raise SchemaError(f"constraint {r.name!r}: the table has no column {c!r}")
                    env[c] = _frame_values(df[c], self.specs[c])
            t, _ = _evaluate(r.tree, env)
            out[:, j] = np.broadcast_to(t, (len(df),))
        return out

    def satisfied(self, df: pd.DataFrame) -> np.ndarray:
        """Rows that satisfy every rule."""
        return self.check(df).all(axis=1)

    def satisfaction(self, df: pd.DataFrame) -> dict[str, Any]:
        """Share of rows meeting every rule and each rule (JSON-ready; no row values)."""
        ok = self.check(df)
        n = max(len(df), 1)
        return {
            "rows": int(len(df)),
            "all": float(ok.all(axis=1).sum() / n) if self.rules else 1.0,
            "rules": [
                {"name": r.name, "rule": r.rule, "satisfied": float(ok[:, j].sum() / n)}
                for j, r in enumerate(self.rules)
            ],
        }

    def feasible_cells(
        self, rule: Constraint, attrs: Sequence[str], shape: Sequence[int]
    ) -> np.ndarray:
        """Mask over the grid of codes of ``attrs`` (shape ``shape``): where ``rule`` *can* hold."""
        env = {}
        k = len(attrs)
        for i, (a, n) in enumerate(zip(attrs, shape, strict=True)):
            v = _cell_values(self.specs[a], int(n))
            view = [1] * k
            view[i] = int(n)

            def r(x: np.ndarray | None, view: list[int] = view) -> np.ndarray | None:
                return None if x is None else x.reshape(view)

            env[a] = _Values(r(v.na), r(v.lo), r(v.hi), r(v.text))
        t, _ = _evaluate(rule.tree, env)
        return np.broadcast_to(t, tuple(int(n) for n in shape)).copy()
