"""Breakpoint conditions, hit conditions, logpoint messages and hover/watch expressions.

Conditions are expressions over the stopped step's values, e.g.
`params.flavour == "turbo" and env.MODE != "fast"`. They are evaluated by simpleeval
(a restricted evaluator: no attribute access beyond dict keys, no imports, no calls
except a few plain functions), never by `eval`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from simpleeval import EvalWithCompoundTypes

from dap_server.sources.tekton_vars import Values, substitute

_FUNCTIONS = {"int": int, "float": float, "str": str, "len": len, "bool": bool, "lower": str.lower}


class ExpressionError(Exception):
    """An expression the user wrote cannot be evaluated; the message says why."""


def evaluate(expression: str, names: Mapping[str, Any]) -> Any:
    """Evaluate a condition/watch expression over `names` (params, env, results, step...)."""
    text = expression.strip()
    if not text:
        raise ExpressionError("empty expression")
    text = _C_OPERATORS.sub(lambda m: _PY_OPERATORS[m.group(0)], text)
    evaluator = EvalWithCompoundTypes(names=dict(names), functions=_FUNCTIONS)
    try:
        return evaluator.eval(text)
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {expression!r}: {exc.msg}") from None
    except Exception as exc:  # simpleeval raises many kinds; all are user mistakes here
        raise ExpressionError(f"{expression!r}: {exc}") from None


_PY_OPERATORS = {"&&": " and ", "||": " or "}
_C_OPERATORS = re.compile(r"&&|\|\|")


_HIT = re.compile(r"^\s*(==|>=|<=|>|<|%)?\s*(\d+)\s*$")


def hit_condition_met(condition: str, hits: int) -> bool:
    """DAP hit conditions: `N` or `==N` (the Nth hit), `>=N`, `>N`, `<N`, `<=N`, `%N` (every Nth)."""
    match = _HIT.match(condition)
    if not match:
        raise ExpressionError(
            f"hit condition {condition!r} is not understood: use a number N (stop on the Nth run), "
            "'>= N', '> N', '< N', '<= N' or '% N' (every Nth)"
        )
    op, number = match.group(1) or "==", int(match.group(2))
    if op == "%":
        return number > 0 and hits % number == 0
    return {
        "==": hits == number,
        ">=": hits >= number,
        ">": hits > number,
        "<": hits < number,
        "<=": hits <= number,
    }[op]


def validate_hit_condition(condition: str) -> str | None:
    try:
        hit_condition_met(condition, 1)
    except ExpressionError as exc:
        return str(exc)
    return None


_BRACES = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}|\{([A-Za-z_][\w.\[\]\"']*)\}")


def format_log_message(message: str, values: Values, names: Mapping[str, Any]) -> str:
    """A logpoint's text: `$(params.x)` as Tekton substitutes it, `{{inputs.parameters.x}}`
    and `{expression}` (DAP's convention) evaluated over the step's values."""
    text, _unresolved = substitute(message, values)

    def brace(match: re.Match[str]) -> str:
        expr = match.group(1) or match.group(2)
        try:
            return _display(evaluate(expr, names))
        except ExpressionError:
            return match.group(0)

    return _BRACES.sub(brace, text)


def _display(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
