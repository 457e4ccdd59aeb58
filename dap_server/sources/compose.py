"""YAML composition and line arithmetic over PyYAML node marks.

One `compose` per file (libyaml's C composer when available), then `Lines` answers the
questions the source map asks about a node: where its sequence item starts (the `-`),
and which line is its last line with content. Marks are 0-based; everything this module
returns is 1-based.
"""

from __future__ import annotations

import re

import yaml

from .model import SourceError, Span

try:
    _LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _LOADER = yaml.SafeLoader

MappingNode = yaml.MappingNode
ScalarNode = yaml.ScalarNode
SequenceNode = yaml.SequenceNode


def compose(path: str, text: str) -> list[yaml.Node]:
    """Every document's root node (empty documents included as null scalars)."""
    try:
        return list(yaml.compose_all(text, Loader=_LOADER))
    except yaml.MarkedYAMLError as exc:
        error = yaml_error(path, exc)
        if exc.problem == "found undefined alias" and exc.problem_mark is not None:
            # libyaml's composer leaves the alias name out; it is the token at the mark.
            line = text.splitlines()[exc.problem_mark.line] if text else ""
            name = re.match(r"\*([^\s,\[\]{}]+)", line[exc.problem_mark.column :])
            if name:
                error = SourceError(path, error.line, error.column, f"{error.cause} {name.group(1)!r}")
        raise error from None
    except yaml.YAMLError as exc:
        raise SourceError(path, 1, 1, f"invalid YAML: {exc}") from None


def yaml_error(path: str, exc: yaml.MarkedYAMLError) -> SourceError:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    cause = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem:
        where = ""
        if exc.context_mark is not None and exc.context_mark.line + 1 != line:
            where = f" at line {exc.context_mark.line + 1}"
        cause = f"{cause} ({exc.context}{where})"
    return SourceError(path, line, column, f"invalid YAML: {cause}")


def get(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    """The value of `key` in a mapping node: explicit keys win (the last one if repeated),
    then `<<` merge sources in order, as PyYAML's constructor does."""
    found: yaml.Node | None = None
    merges: yaml.Node | None = None
    for k, v in node.value:
        kv = k.value
        if kv == key and type(k) is ScalarNode:
            found = v
        elif kv == "<<" and k.tag == "tag:yaml.org,2002:merge":
            merges = v
    if found is not None or merges is None:
        return found
    return merged(merges, key)


def pick(node: yaml.MappingNode, keys: frozenset[str]) -> dict[str, yaml.Node]:
    """The values of several keys in one pass over a mapping node (same rules as `get`)."""
    out: dict[str, yaml.Node] = {}
    merges: yaml.Node | None = None
    for k, v in node.value:
        if type(k) is ScalarNode:
            kv = k.value
            if kv in keys:
                out[kv] = v
            elif kv == "<<" and k.tag == "tag:yaml.org,2002:merge":
                merges = v
    if merges is not None:
        for key in keys:
            if key not in out:
                value = merged(merges, key)
                if value is not None:
                    out[key] = value
    return out


def merged(source: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(source, MappingNode):
        return get(source, key)
    if isinstance(source, SequenceNode):
        for item in source.value:
            if isinstance(item, MappingNode):
                value = get(item, key)
                if value is not None:
                    return value
    return None


def scalar(node: yaml.Node | None) -> str | None:
    """A scalar's text; None for a missing node, a null, or a collection."""
    if type(node) is not ScalarNode:
        return None
    value: str = node.value
    if node.style is None and (value in ("", "~", "null", "Null", "NULL")):
        return None
    return value


def kind_of(node: yaml.Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return "null" if scalar(node) is None else f"the scalar {node.value!r}"


class Lines:
    """The text of one file, by line, for walking marks back to content lines."""

    __slots__ = ("count", "lines", "path")

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        # libyaml breaks lines on \n, \r\n, \r, NEL, LS and PS, as splitlines does
        # (splitlines' other breaks are control characters YAML rejects anyway).
        self.lines = text.splitlines()
        self.count = len(self.lines)

    def _filler(self, index: int) -> bool:
        """Blank or comment-only (0-based index)."""
        s = self.lines[index].lstrip()
        return not s or s[0] == "#"

    def _before(self, mark: yaml.Mark) -> int:
        """0-based index of the last line that can belong to a node ending at `mark`.

        A block node ends where the next token starts (so its content is on earlier
        lines), or at the end of the text (then on the mark's line if it has no newline).
        """
        line: int = mark.line
        if line >= self.count:
            return self.count - 1
        if mark.column and mark.column >= len(self.lines[line]):
            return line
        return line - 1

    def end_line(self, node: yaml.Node, floor: int) -> int:
        """1-based last line with content of `node`, not above the 0-based `floor`."""
        if type(node) is ScalarNode:
            style = node.style
            if style == "|" or style == ">":
                return self._back(self._before(node.end_mark), floor, comments=False) + 1
            return max(int(node.end_mark.line), floor) + 1
        if not isinstance(node, yaml.CollectionNode) or node.flow_style:
            return max(int(node.end_mark.line), floor) + 1
        end = self._back(self._before(node.end_mark), floor, comments=True)
        # Comment-like lines inside a trailing block or quoted scalar are content.
        leaf = self._last_leaf(node)
        if leaf is not None:
            end = max(end, self.end_line(leaf, floor) - 1)
        return end + 1

    def _back(self, index: int, floor: int, comments: bool) -> int:
        lines = self.lines
        while index > floor:
            s = lines[index].lstrip()
            if s and (not comments or s[0] != "#"):
                break
            index -= 1
        return index

    @staticmethod
    def _last_leaf(node: yaml.Node) -> yaml.Node | None:
        """The last non-plain scalar or flow collection written inside a block collection
        (None when the last thing is a plain scalar or an alias to elsewhere)."""
        start = node.start_mark.line
        while True:
            value = node.value
            if not value:
                return None
            last: yaml.Node = value[-1][1] if type(node) is MappingNode else value[-1]
            if last.start_mark.line < start:  # an alias: its text is a plain `*name`
                return None
            if isinstance(last, ScalarNode):
                return last if last.style else None
            if not isinstance(last, yaml.CollectionNode):
                return None
            if last.flow_style:
                return last
            node = last

    def item_start(self, node: yaml.Node, flow: bool) -> tuple[int, int]:
        """1-based (line, column) of a sequence item: its `-` in a block sequence,
        its own start in a flow sequence."""
        mark = node.start_mark
        line: int = mark.line
        column: int = mark.column
        if flow:
            return line + 1, column + 1
        lines = self.lines
        prefix = lines[line][:column].rstrip()
        if prefix.endswith("-"):
            return line + 1, len(prefix)
        if prefix:  # something else precedes the item on its line: no dash to find
            return line + 1, column + 1
        index = line - 1
        while index >= 0:
            s = lines[index].rstrip()
            stripped = s.lstrip()
            if stripped and stripped[0] != "#":
                if not s.endswith("-"):
                    hash_at = s.find(" #")
                    s = s[:hash_at].rstrip() if hash_at >= 0 else ""
                if s.endswith("-"):
                    return index + 1, len(s)
                break
            index -= 1
        return line + 1, column + 1

    def items(self, seq: yaml.SequenceNode) -> list[tuple[yaml.Node, int, int, int]]:
        """(node, line, column, end line) of every item of a sequence, 1-based.

        An item that is an alias (`- *name`) has the composed node of its anchor, whose
        marks are elsewhere: its line is found by looking for the `*` after the
        previous item.
        """
        flow = bool(seq.flow_style)
        start = seq.start_mark.line
        out: list[tuple[yaml.Node, int, int, int]] = []
        seen: set[int] = set()
        previous_end = start  # 0-based line after which the next item starts
        for item in seq.value:
            if item.start_mark.line >= start and id(item) not in seen:
                seen.add(id(item))
                line, column = self.item_start(item, flow)
                end = self.end_line(item, line - 1)
            else:
                low = previous_end if flow or not out else previous_end + 1
                found = self.alias_line(low, self._before(seq.end_mark) if not flow else seq.end_mark.line)
                line, column = found if found is not None else (previous_end + 1, 1)
                end = line
            out.append((item, line, column, end))
            previous_end = end - 1
        return out

    def alias_line(self, low: int, high: int) -> tuple[int, int] | None:
        """1-based (line, column) of the first `*alias` item between 0-based lines."""
        lines = self.lines
        for index in range(max(low, 0), min(high, self.count - 1) + 1):
            s = lines[index]
            stripped = s.lstrip()
            if not stripped or stripped[0] == "#":
                continue
            star = s.find("*")
            if star >= 0:
                dash = s.rfind("-", 0, star)
                return index + 1, (dash if dash >= 0 else star) + 1
        return None

    def first_content(self, node: yaml.Node) -> int:
        """1-based first line of a document's root node."""
        return int(node.start_mark.line) + 1


_META = frozenset({"name", "generateName"})
_ROOT = frozenset({"apiVersion", "kind", "metadata", "spec"})


class Header:
    """A document's top-level keys, apiVersion split into group and version."""

    __slots__ = ("api_version", "group", "kind", "top", "version")

    def __init__(self, top: dict[str, yaml.Node], api_version: str, kind: str) -> None:
        self.top = top
        self.api_version = api_version
        self.kind = kind
        self.group, _, self.version = api_version.partition("/")


class Walker:
    """What every document walker (Tekton, Argo) needs: errors at a node, spans, names."""

    __slots__ = ("lines", "path")

    def __init__(self, path: str, lines: Lines) -> None:
        self.path = path
        self.lines = lines

    def error(self, node: yaml.Node, cause: str) -> SourceError:
        mark = node.start_mark
        return SourceError(self.path, mark.line + 1, mark.column + 1, cause)

    def span(self, node: yaml.Node) -> Span:
        """A mapping value's span: its first line to its last content line."""
        mark = node.start_mark
        return Span(self.path, mark.line + 1, self.lines.end_line(node, mark.line), mark.column + 1)

    def header(self, root: yaml.Node) -> Header | None:
        """apiVersion, kind and the top-level nodes of a document; None when it is no object."""
        if type(root) is not yaml.MappingNode:
            return None
        top = pick(root, _ROOT)
        api_version = scalar(top.get("apiVersion"))
        kind = scalar(top.get("kind"))
        if api_version is None or kind is None:
            return None
        return Header(top, api_version, kind)

    def document_span(self, root: yaml.Node) -> Span:
        """A whole document: its first line to its last content line."""
        start = root.start_mark.line
        return Span(self.path, start + 1, self.lines.end_line(root, start), 1)

    def metadata_name(self, root: yaml.Node, kind: str, metadata: yaml.Node | None) -> str:
        """`metadata.name`, else `metadata.generateName`; a SourceError when neither is there."""
        if metadata is None:
            raise self.error(root, f"{kind} has no metadata.name")
        if type(metadata) is not yaml.MappingNode:
            raise self.error(metadata, f"metadata of a {kind} must be a mapping, not {kind_of(metadata)}")
        meta = pick(metadata, _META)
        name = scalar(meta.get("name")) or scalar(meta.get("generateName"))
        if not name:
            raise self.error(metadata, f"{kind} has no metadata.name (or metadata.generateName)")
        return name
