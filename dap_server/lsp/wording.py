"""How diagnostics name what a user may have meant, shared by the Tekton and Argo indexers."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_to(name: str, names: Iterable[str]) -> str:
    """`; did you mean "x"?` for the closest names, or nothing."""
    close = difflib.get_close_matches(name, sorted(names), n=2)
    return ("; did you mean " + " or ".join(f'"{c}"' for c in close) + "?") if close else ""


def listing(what: str, names: Iterable[str]) -> str:
    """`params: a, b, c` (at most 12, sorted), or `it declares no params`."""
    return in_order(what, sorted(names))


def in_order(what: str, names: Iterable[str]) -> str:
    """Like `listing`, in the order given (as declared in the file)."""
    shown = list(names)
    if not shown:
        return f"it declares no {what}"
    more = f", ... ({len(shown)} in all)" if len(shown) > 12 else ""
    return f"{what}: " + ", ".join(shown[:12]) + more
