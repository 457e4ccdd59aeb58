"""Tekton variable references `$(...)`: finding them and substituting them (pure functions).

Used by the local engine (params, results, workspaces, context in steps; pipeline task params,
`when` expressions and results between tasks), by the session (logpoints, hover) and by the
language server.

Forms understood (dot and bracket notations may mix, as Tekton allows):

    $(params.x)  $(params['x'])  $(params["x"])   string param
    $(params.x[*])                                 array, expanded into separate args when it
                                                   is a whole arg (`substitute_args`)
    $(params.x[0])  $(params.obj.key)              array element, object param key
    $(results.r.path)  $(workspaces.w.path|bound|claim|volume)
    $(context.taskRun.name) ...  $(tasks.t.results.r)  $(tasks.t.results.r[*])
    $(tasks.status)  $(tasks.t.status)  $(steps.step-x.exitCode.path)  $(step.results.r.path)

Only expressions under Tekton's roots (`params`, `context`, `tasks`, `results`, `workspaces`,
`steps`, `step`) are references: a shell's `$(date +%s)` or `$(cat file)` is not one.

Values are given as a mapping from a dotted *key* to a value, the key being the reference
without its selector: `params.x`, `params.obj`, `results.r.path`, `context.taskRun.name`,
`tasks.t.results.r`, `tasks.t.status`. A value is a string, a list of strings (array) or a
dict of strings (object). A reference resolves against the longest key that is a prefix of
it; what remains selects in the value (`[*]`, `[i]`, `.key` / `['key']`).

A reference that cannot be resolved (unknown name, wrong type, index out of range) is left as
written, as Tekton leaves variables it does not know, and is returned to the caller, which
decides whether to warn.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Value = str | list[str] | dict[str, str]
Values = Mapping[str, Value]
Part = str | int  # a name, an array index; "*" is the whole-array selector

STAR = "*"
ROOTS = ("params", "context", "tasks", "results", "workspaces", "steps", "step")

_SEGMENT = r"(?:\.[A-Za-z0-9_\-]+|\[(?:'[^'\]]*'|\"[^\"\]]*\"|\d+|\*)\])"
_REFERENCE = re.compile(r"\$\((" + "|".join(ROOTS) + r")(" + _SEGMENT + r"+)\)")
_SEGMENTS = re.compile(r"\.([A-Za-z0-9_\-]+)|\['([^'\]]*)'\]|\[\"([^\"\]]*)\"\]|\[(\d+)\]|\[(\*)\]")


@dataclass(frozen=True)
class Reference:
    """One `$(...)` in a text: `text[start:end]` is the whole reference, `expr` what is
    inside the parentheses, `parts` the parsed path (`params['a.b'][0]` -> ("params", "a.b", 0))."""

    start: int
    end: int
    expr: str
    parts: tuple[Part, ...]

    @property
    def text(self) -> str:
        return f"$({self.expr})"

    @property
    def root(self) -> str:
        return str(self.parts[0])


def parse_expression(expr: str) -> tuple[Part, ...] | None:
    """The path of a reference's inside (`params.x[0]`), or None if it is not a reference."""
    match = _REFERENCE.fullmatch(f"$({expr})")
    if match is None:
        return None
    parts: list[Part] = [match.group(1)]
    for m in _SEGMENTS.finditer(match.group(2)):
        dotted, single, double, index, star = m.groups()
        if index is not None:
            parts.append(int(index))
        elif star is not None:
            parts.append(STAR)
        else:
            parts.append(next(p for p in (dotted, single, double) if p is not None))
    return tuple(parts)


def find_references(text: str) -> list[Reference]:
    """Every Tekton variable reference in `text`, in order."""
    refs = []
    for match in _REFERENCE.finditer(text):
        expr = match.group(0)[2:-1]
        parts = parse_expression(expr)
        if parts is not None:
            refs.append(Reference(match.start(), match.end(), expr, parts))
    return refs


def reference_at(text: str, offset: int) -> Reference | None:
    """The reference that covers character `offset` of `text` (hover), if any."""
    return next((r for r in find_references(text) if r.start <= offset < r.end), None)


def lookup(ref: Reference | str, values: Values) -> Value | None:
    """The value a reference (or an expression such as `params.x`) stands for, or None.

    A whole array or object is returned as is (`[*]`, or no selector); an element or key as
    a string.
    """
    parts = ref.parts if isinstance(ref, Reference) else parse_expression(ref)
    if parts is None:
        return None
    # the longest dotted key naming a value; the rest selects inside it
    for cut in range(len(parts), 0, -1):
        head = parts[:cut]
        if not all(isinstance(p, str) and p != STAR for p in head):
            continue
        key = ".".join(str(p) for p in head)
        if key in values:
            return _select(values[key], parts[cut:])
    return None


def _select(value: Value, selectors: Sequence[Part]) -> Value | None:
    if not selectors:
        return value
    if len(selectors) > 1:
        return None
    sel = selectors[0]
    if sel == STAR:
        return value if isinstance(value, list | dict) else None
    if isinstance(sel, int):
        return value[sel] if isinstance(value, list) and 0 <= sel < len(value) else None
    if isinstance(value, dict):
        return value.get(sel)
    return None


def substitute(text: str, values: Values) -> tuple[str, list[Reference]]:
    """`text` with every resolvable reference replaced by its string value; references that
    do not resolve to a string (unknown, or a whole array/object in a string) stay as written
    and are returned."""
    out: list[str] = []
    unresolved: list[Reference] = []
    pos = 0
    for ref in find_references(text):
        value = lookup(ref, values)
        out.append(text[pos : ref.start])
        if isinstance(value, str):
            out.append(value)
        else:
            out.append(text[ref.start : ref.end])
            unresolved.append(ref)
        pos = ref.end
    out.append(text[pos:])
    return "".join(out), unresolved


def substitute_args(args: Sequence[str], values: Values) -> tuple[list[str], list[Reference]]:
    """Substitute in a list of arguments (command, args, array param values, `when` values).
    An argument that is exactly one array reference with `[*]` (`"$(params.x[*])"`) becomes
    the array's elements, as separate arguments; everything else as in `substitute`."""
    out: list[str] = []
    unresolved: list[Reference] = []
    for arg in args:
        whole = whole_reference(arg)
        if whole is not None and whole.parts[-1] == STAR:
            value = lookup(whole, values)
            if isinstance(value, list):
                out.extend(value)
                continue
        text, missing = substitute(arg, values)
        out.append(text)
        unresolved.extend(missing)
    return out, unresolved


def whole_reference(text: str) -> Reference | None:
    """The reference when `text` is exactly one reference and nothing else."""
    refs = find_references(text)
    if len(refs) == 1 and refs[0].start == 0 and refs[0].end == len(text):
        return refs[0]
    return None


def substitute_value(value: object, values: Values) -> tuple[Value, list[Reference]]:
    """Substitute in a param value as written in a run or pipeline task: a string (which may
    be exactly `$(params.arr[*])` / `$(tasks.t.results.r[*])` / `$(params.obj[*])`: the whole
    array or object), a list (elements expanded as in `substitute_args`) or a mapping (object
    param: each value substituted). Scalars (numbers, booleans from YAML) become strings."""
    if isinstance(value, list):
        return substitute_args([scalar_text(v) for v in value], values)
    if isinstance(value, dict):
        result: dict[str, str] = {}
        unresolved: list[Reference] = []
        for key, item in value.items():
            text, missing = substitute(scalar_text(item), values)
            result[str(key)] = text
            unresolved.extend(missing)
        return result, unresolved
    text = scalar_text(value)
    whole = whole_reference(text)
    if whole is not None and whole.parts[-1] == STAR:
        found = lookup(whole, values)
        if isinstance(found, list | dict):
            return (list(found) if isinstance(found, list) else dict(found)), []
    return substitute(text, values)


def scalar_text(value: object) -> str:
    """A YAML scalar as Tekton sees it: booleans lower-case, None empty, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)
