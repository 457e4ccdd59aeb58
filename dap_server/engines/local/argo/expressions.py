"""`when` and `depends` expressions, parsed by a small recursive-descent parser (no eval).

Grammar (govaluate's subset Argo workflows use):

    expr    := or
    or      := and ('||' and)*
    and     := not ('&&' not)*
    not     := '!' not | cmp
    cmp     := atom (('==' | '!=' | '<' | '<=' | '>' | '>=' | '=~' | '!~') atom)?
    atom    := '(' expr ')' | STRING | NUMBER | WORD

A WORD is looked up with `lookup` (a `depends` term like `a.Succeeded`); what it does not know
is the word itself as a string (`when: "heads == heads"` after substitution). `true` and
`false` are booleans.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Value = str | float | bool

_TOKEN = re.compile(
    r"\s*(?:(?P<op>&&|\|\||==|!=|<=|>=|=~|!~|[()!<>])"
    r"|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<word>[^\s()!<>=&|'\"]+))"
)


class ExpressionError(Exception):
    pass


def tokenize(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"cannot read {text[pos:]!r} in {text!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str, lookup: Callable[[str], Value | None]) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.lookup = lookup

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ExpressionError(f"unexpected end of {self.text!r}")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Value:
        value = self.or_()
        if self.pos != len(self.tokens):
            raise ExpressionError(f"unexpected {self.tokens[self.pos][1]!r} in {self.text!r}")
        return value

    def or_(self) -> Value:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = truthy(value) or truthy(right)
        return value

    def and_(self) -> Value:
        value = self.not_()
        while self.peek() == "&&":
            self.take()
            right = self.not_()
            value = truthy(value) and truthy(right)
        return value

    def not_(self) -> Value:
        if self.peek() == "!":
            self.take()
            return not truthy(self.not_())
        return self.cmp()

    def cmp(self) -> Value:
        left = self.atom()
        op = self.peek()
        if op in ("==", "!=", "<", "<=", ">", ">=", "=~", "!~"):
            self.take()
            right = self.atom()
            return compare(left, op, right)
        return left

    def atom(self) -> Value:
        kind, text = self.take()
        if text == "(" and kind == "op":
            value = self.or_()
            if self.take()[1] != ")":
                raise ExpressionError(f"missing ) in {self.text!r}")
            return value
        if kind == "str":
            return text[1:-1]
        if kind == "word":
            if text in ("true", "false"):
                return text == "true"
            found = self.lookup(text)
            if found is not None:
                return found
            try:
                return float(text)
            except ValueError:
                return text
        raise ExpressionError(f"unexpected {text!r} in {self.text!r}")


def truthy(value: Value) -> bool:
    if isinstance(value, str):
        return value not in ("", "false")
    return bool(value)


def compare(left: Value, op: str, right: Value) -> bool:
    if op in ("=~", "!~"):
        matched = re.search(str(right), str(left)) is not None
        return matched if op == "=~" else not matched
    if (isinstance(left, float) and isinstance(right, float)) or op in ("<", "<=", ">", ">="):
        try:
            a, b = float(left), float(right)
        except (TypeError, ValueError):
            a_s, b_s = str(left), str(right)
            return {"==": a_s == b_s, "!=": a_s != b_s, "<": a_s < b_s, "<=": a_s <= b_s, ">": a_s > b_s}.get(
                op, a_s >= b_s
            )
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b}.get(op, a >= b)
    a_t, b_t = _text(left), _text(right)
    return a_t == b_t if op == "==" else a_t != b_t


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def evaluate(text: str, lookup: Callable[[str], Value | None] | None = None) -> bool:
    """The truth of `text`; ExpressionError when it does not parse."""
    return truthy(_Parser(text, lookup or (lambda _word: None)).parse())


def depends_terms(text: str) -> set[str]:
    """The task names a `depends` expression refers to (`a.Succeeded` and `a` give `a`)."""
    return {t.split(".", 1)[0] for kind, t in tokenize(text) if kind == "word"}
