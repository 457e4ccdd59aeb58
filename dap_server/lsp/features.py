"""The LSP features over the workspace index: outline, code lenses, diagnostics, hover,
definition, references and completion. Engine-neutral: everything here reads `DocIndex`
(see model.py); what is Tekton-specific lives in tekton.py. Hover, definition,
references and completion on an Argo document are answered by `argo_features.py`.

Columns inside the index are code points; `Positions` converts them to and from the
client's position encoding (UTF-16 unless the client chose otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pygls.uris import from_fs_path

from .argo import ArgoIndex
from .argo_features import ArgoFeatures
from .index import FileIndex
from .model import Decl, DocIndex, DocRef, Problem, PTask, Rng, Scope, Symbol, Use
from .tekton import task_of
from .workspace import Workspace

DEBUG_COMMAND = "pipelineDap.debug"


class Positions:
    """Column conversion between code points and the client's encoding, for one file."""

    def __init__(self, line_text: Callable[[int], str | None], encoding: str) -> None:
        self.line_text = line_text
        self.encoding = encoding

    def _units(self, line: int, col: int) -> int:
        if self.encoding == types.PositionEncodingKind.Utf32:
            return col
        text = self.line_text(line)
        if text is None or text.isascii():
            return col
        prefix = text[:col]
        if self.encoding == types.PositionEncodingKind.Utf8:
            return len(prefix.encode("utf-8"))
        return len(prefix.encode("utf-16-le")) // 2

    def range(self, rng: Rng) -> types.Range:
        return types.Range(
            types.Position(rng.line, self._units(rng.line, rng.col)),
            types.Position(rng.end_line, self._units(rng.end_line, rng.end_col)),
        )

    def column(self, position: types.Position) -> int:
        """The code-point column of a client position."""
        if self.encoding == types.PositionEncodingKind.Utf32:
            return position.character
        text = self.line_text(position.line)
        if text is None or text.isascii():
            return position.character
        units = 0
        for index, char in enumerate(text):
            if units >= position.character:
                return index
            if self.encoding == types.PositionEncodingKind.Utf8:
                units += len(char.encode("utf-8"))
            else:
                units += 2 if ord(char) > 0xFFFF else 1
        return len(text)


class Features:
    """Answers LSP requests from a `Workspace`; `uri_of(path)` gives a file's URI."""

    def __init__(
        self,
        workspace: Workspace,
        encoding: str = types.PositionEncodingKind.Utf16,
        uri_of: Callable[[str], str] | None = None,
    ) -> None:
        self.ws = workspace
        self.encoding = encoding
        self.uri_of = uri_of or _file_uri
        self.argo = ArgoFeatures(self)

    def positions(self, path: str) -> Positions:
        index = self.ws.files.get(path)
        return Positions(index.line if index is not None else _no_line, self.encoding)

    def location(self, path: str, rng: Rng) -> types.Location:
        return types.Location(self.uri_of(path), self.positions(path).range(rng))

    # ---- what is at a position ---------------------------------------------------------

    def at(self, path: str, position: types.Position) -> tuple[FileIndex, DocIndex, int, int] | None:
        index = self.ws.files.get(path)
        if index is None:
            return None
        line = position.line
        col = self.positions(path).column(position)
        ix = index.doc_at(line)
        if ix is None:
            return None
        return index, ix, line, col

    @staticmethod
    def use_at(ix: DocIndex, line: int, col: int) -> Use | None:
        best: Use | None = None
        for use in ix.uses:
            if use.range.contains(line, col) and (best is None or best.range.contains(use.range.line, use.range.col)):
                best = use
        return best

    @staticmethod
    def decl_at(ix: DocIndex, line: int, col: int) -> Decl | None:
        return next((d for d in ix.decls if d.name_range.contains(line, col)), None)

    @staticmethod
    def ref_at(ix: DocIndex, line: int, col: int) -> DocRef | None:
        return next((r for r in ix.refs() if r.range.contains(line, col)), None)

    def result_decl(self, ix: DocIndex, use: Use) -> Decl | None:
        """The result declaration a `$(tasks.t.results.r)` names (in the task's Task)."""
        if use.sub_name is None or ix.pipeline is None:
            return None
        ptask = ix.pipeline.tasks.get(use.name)
        if ptask is None:
            return None
        task = task_of(ix, ptask, self.ws)
        return task.results.get(use.sub_name) if task is not None else None

    # ---- outline and lenses ------------------------------------------------------------

    def symbols(self, path: str) -> list[types.DocumentSymbol]:
        index = self.ws.files.get(path)
        if index is None:
            return []
        pos = self.positions(path)

        def convert(symbol: Symbol) -> types.DocumentSymbol:
            return types.DocumentSymbol(
                name=symbol.name,
                detail=symbol.detail or None,
                kind=types.SymbolKind(int(symbol.kind)),
                range=pos.range(symbol.range),
                selection_range=pos.range(symbol.selection),
                children=[convert(c) for c in symbol.children] or None,
            )

        return [convert(s) for ix in index.docs() for s in ix.symbols]

    def lenses(self, path: str) -> list[types.CodeLens]:
        index = self.ws.files.get(path)
        if index is None or ":" in path.split("/", 1)[0]:  # not a file on disk: nothing to run
            return []
        pos = self.positions(path)
        out = []
        for ix in index.docs():
            if not ix.lenses:
                continue
            config: dict[str, Any] = {
                "type": "pipeline",
                "request": "launch",
                "name": f"Debug {ix.kind}/{ix.name}",
                "program": path,
                "object": f"{ix.kind}/{ix.name}",
            }
            search = self.ws.search_paths(ix)
            if search is not None:
                config["searchPaths"] = search
            for lens in ix.lenses:
                arguments: list[Any] = [config]
                if lens.from_here:
                    arguments = [config, {"breakpoints": [{"path": path, "line": lens.range.line + 1}]}]
                out.append(
                    types.CodeLens(
                        range=pos.range(lens.range),
                        command=types.Command(title=lens.title, command=DEBUG_COMMAND, arguments=arguments),
                    )
                )
        return out

    # ---- diagnostics -------------------------------------------------------------------

    def diagnostics(self, path: str) -> list[types.Diagnostic]:
        pos = self.positions(path)
        return [self.diagnostic(p, pos) for p in self.ws.problems(path)]

    def diagnostic(self, problem: Problem, pos: Positions) -> types.Diagnostic:
        related = [
            types.DiagnosticRelatedInformation(self.location(r.path, r.range), r.message) for r in problem.related
        ]
        return types.Diagnostic(
            range=pos.range(problem.range),
            message=problem.message,
            severity=types.DiagnosticSeverity(int(problem.severity)),
            code=problem.code,
            source="pipeline-dap",
            related_information=related or None,
        )

    # ---- hover -------------------------------------------------------------------------

    def hover(self, path: str, position: types.Position) -> types.Hover | None:
        found = self.at(path, position)
        if found is None:
            return None
        _, ix, line, col = found
        if isinstance(ix, ArgoIndex):
            return self.argo.hover(path, ix, line, col)
        pos = self.positions(path)
        use = self.use_at(ix, line, col)
        text: str | None = None
        rng: Rng | None = None
        if use is not None:
            rng = use.range
            if use.kind == "task":
                text = self.task_use_markdown(ix, use)
            elif use.target is not None:
                text = self.decl_markdown(use.target)
        else:
            ref = self.ref_at(ix, line, col)
            if ref is not None:
                rng = ref.name_range
                target = self.ws.resolve(ix, ref).target
                if target is not None:
                    text = self.doc_markdown(target)
            else:
                decl = self.decl_at(ix, line, col)
                if decl is not None:
                    rng, text = decl.name_range, self.decl_markdown(decl)
        if text is None or rng is None:
            return None
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text), range=pos.range(rng)
        )

    def where(self, path: str, rng: Rng) -> str:
        return f"{self.ws.short(path)}:{rng.line + 1}"

    def decl_markdown(self, decl: Decl) -> str:
        head = f"**{decl.kind} `{decl.name}`**"
        if decl.type:
            head += f": `{decl.type}`"
        parts = [head]
        if decl.default is not None:
            label = "value" if "given by the run" in decl.notes or decl.kind == "result" else "default"
            if "\n" in decl.default:
                parts.append(f"{label}:\n```yaml\n{decl.default}\n```")
            else:
                parts.append(f"{label}: `{decl.default}`")
        notes = [n for n in decl.notes if n != "given by the run"]
        if notes:
            parts.append(" · ".join(notes))
        parts.append(f"declared by {decl.owner} ({self.where(decl.path, decl.name_range)})")
        if decl.description:
            parts.append(decl.description)
        return "\n\n".join(parts)

    def task_use_markdown(self, ix: DocIndex, use: Use) -> str | None:
        if use.target is None or ix.pipeline is None:
            return None
        ptask = ix.pipeline.tasks.get(use.name)
        if ptask is None:
            return None
        task = task_of(ix, ptask, self.ws)
        if use.sub == "results" and use.sub_name is not None:
            decl = task.results.get(use.sub_name) if task is not None else None
            if decl is None:
                return None
            return f'result of pipeline task "{ptask.name}"\n\n' + self.decl_markdown(decl)
        return self.ptask_markdown(ptask, task)

    def ptask_markdown(self, ptask: PTask, task: Scope | None) -> str:
        parts = [f"**pipeline task `{ptask.name}`**" + (" (finally)" if ptask.is_finally else "")]
        if task is not None:
            parts.append(f"runs {task.label}")
            if task.results:
                parts.append("results: " + ", ".join(f"`{r}`" for r in task.results))
        parts.append(self.where(ptask.decl.path, ptask.decl.name_range))
        return "\n\n".join(parts)

    def doc_markdown(self, ix: DocIndex) -> str:
        parts = [f"**{ix.kind} `{ix.name}`** ({self.where(ix.path, ix.name_range)})"]
        if ix.description:
            parts.append(ix.description)
        root = ix.root
        if root is not None:
            for what in ("params", "workspaces", "results", "steps"):
                table: dict[str, Decl] = getattr(root, what)
                if table:
                    parts.append(f"{what}: " + ", ".join(f"`{n}`" for n in table))
            if root.tasks:
                parts.append("tasks: " + ", ".join(f"`{n}`" for n in root.tasks))
        return "\n\n".join(parts)

    # ---- definition and references -----------------------------------------------------

    def definition(self, path: str, position: types.Position) -> list[types.Location]:
        found = self.at(path, position)
        if found is None:
            return []
        _, ix, line, col = found
        if isinstance(ix, ArgoIndex):
            return self.argo.definition(ix, line, col)
        use = self.use_at(ix, line, col)
        if use is not None:
            target: Decl | None = use.target
            if use.kind == "task" and use.sub_range is not None and use.sub_range.contains(line, col):
                target = self.result_decl(ix, use) or target
            return [self.location(target.path, target.name_range)] if target is not None else []
        ref = self.ref_at(ix, line, col)
        if ref is not None:
            doc = self.ws.resolve(ix, ref).target
            return [self.location(doc.path, doc.name_range)] if doc is not None else []
        return []

    def references(self, path: str, position: types.Position, include_declaration: bool) -> list[types.Location]:
        """Locations sorted by file and position (the declaration among them if asked)."""
        found = self._references(path, position, include_declaration)
        unique = {(loc.uri, loc.range.start.line, loc.range.start.character): loc for loc in found}
        return [unique[key] for key in sorted(unique)]

    def _references(self, path: str, position: types.Position, include_declaration: bool) -> list[types.Location]:
        found = self.at(path, position)
        if found is None:
            return []
        index, ix, line, col = found
        if isinstance(ix, ArgoIndex):
            return self.argo.references(ix, line, col, include_declaration)
        use = self.use_at(ix, line, col)
        decl: Decl | None = None
        if use is not None:
            decl = use.target
            if use.kind == "task" and use.sub_range is not None and use.sub_range.contains(line, col):
                decl = self.result_decl(ix, use)
        else:
            decl = self.decl_at(ix, line, col)
        if decl is None:
            if ix.name_range.contains(line, col):
                return self.doc_references(ix, include_declaration)
            return []
        out: list[types.Location] = []
        if include_declaration:
            out.append(self.location(decl.path, decl.name_range))
        home = self.ws.files.get(decl.path, index)
        for doc in home.docs():
            for other in doc.uses:
                if other.target is decl and not (decl.kind == "result" and other.kind == "task"):
                    out.append(self.location(doc.path, other.name_range))
        if decl.kind == "result":  # $(tasks.t.results.r) of pipelines running this Task, in any file
            for other_index in self.ws.files.values():
                for doc in other_index.docs():
                    if doc.pipeline is None:
                        continue
                    for other in doc.uses:
                        if (
                            other.kind == "task"
                            and other.sub_name == decl.name
                            and other.sub_range is not None
                            and self.result_decl(doc, other) is decl
                        ):
                            out.append(self.location(doc.path, other.sub_range))
        return out

    def doc_references(self, target: DocIndex, include_declaration: bool) -> list[types.Location]:
        """Every taskRef / pipelineRef in the workspace that leads to `target`."""
        out: list[types.Location] = []
        if include_declaration:
            out.append(self.location(target.path, target.name_range))
        for path in sorted(self.ws.files):
            for ix in self.ws.files[path].docs():
                for ref in ix.refs():
                    if ref.name == target.name and self.ws.resolve(ix, ref).target is target:
                        out.append(self.location(path, ref.name_range))
        return out

    # ---- completion --------------------------------------------------------------------

    def completion(self, path: str, position: types.Position) -> list[types.CompletionItem]:
        index = self.ws.files.get(path)
        if index is None:
            return []
        pos = self.positions(path)
        line = position.line
        text = index.line(line)
        if text is None:
            return []
        col = pos.column(position)
        before = text[:col]
        ix = index.doc_at(line, stale=True)
        if isinstance(ix, ArgoIndex):
            return self.argo.completion(ix, before, line, col, pos)
        scope = ix.scope_at(line) if ix is not None else None
        if ix is None or scope is None:
            return []
        m = re.search(r"\$\(tasks\.([A-Za-z0-9_-]+)\.results\.([A-Za-z0-9_-]*)$", before)
        if m is not None:
            return self.task_results_items(ix, scope, m.group(1), m.group(2), line, col, pos)
        m = re.search(r"\$\(tasks\.([A-Za-z0-9_-]+)\.([A-Za-z]*)$", before)
        if m is not None:
            current = scope.enclosing_ptask()
            words = ["results"] + (["status", "reason"] if current is not None and current.is_finally else [])
            return [
                self.item(w, types.CompletionItemKind.Keyword, None, None, m.group(2), line, col, pos) for w in words
            ]
        m = re.search(r"\$\(tasks\.([A-Za-z0-9_-]*)$", before)
        if m is not None:
            pipeline = scope.pipeline()
            if pipeline is None:
                return []
            current = scope.enclosing_ptask()
            items = []
            for name, ptask in pipeline.tasks.items():
                if current is not None and name == current.name:
                    continue
                doc = self.ptask_markdown(ptask, task_of(ix, ptask, self.ws))
                detail = "finally task" if ptask.is_finally else "pipeline task"
                items.append(self.item(name, types.CompletionItemKind.Module, detail, doc, m.group(1), line, col, pos))
            return items
        m = re.search(r"\$\((params|workspaces|results)\.([A-Za-z0-9_-]*)$", before)
        if m is not None:
            what, partial = m.group(1), m.group(2)
            if what == "results":
                task = scope.task_scope()
                table = task.results if task is not None else {}
            else:
                table = scope.visible(what)
            kind = {
                "params": types.CompletionItemKind.Variable,
                "workspaces": types.CompletionItemKind.Folder,
                "results": types.CompletionItemKind.Field,
            }[what]
            return [
                self.item(name, kind, _detail(decl), self.decl_markdown(decl), partial, line, col, pos)
                for name, decl in table.items()
            ]
        m = re.search(r"\$\(([a-z]*)$", before)
        if m is not None:
            roots = ["params", "context"]
            if scope.task_scope() is not None:
                roots += ["results", "workspaces", "steps"]
            if scope.pipeline() is not None:
                roots += ["tasks", "workspaces"]
            return [
                self.item(r, types.CompletionItemKind.Keyword, None, None, m.group(1), line, col, pos)
                for r in dict.fromkeys(roots)
            ]
        return []

    def task_results_items(
        self, ix: DocIndex, scope: Scope, name: str, partial: str, line: int, col: int, pos: Positions
    ) -> list[types.CompletionItem]:
        pipeline = scope.pipeline()
        ptask = pipeline.tasks.get(name) if pipeline is not None else None
        if ptask is None:
            return []
        task = task_of(ix, ptask, self.ws)
        if task is None:
            return []
        return [
            self.item(r, types.CompletionItemKind.Field, _detail(d), self.decl_markdown(d), partial, line, col, pos)
            for r, d in task.results.items()
        ]

    @staticmethod
    def item(
        label: str,
        kind: types.CompletionItemKind,
        detail: str | None,
        doc: str | None,
        partial: str,
        line: int,
        col: int,
        pos: Positions,
    ) -> types.CompletionItem:
        edit_range = pos.range(Rng(line, col - len(partial), line, col))
        return types.CompletionItem(
            label=label,
            kind=kind,
            detail=detail,
            documentation=types.MarkupContent(types.MarkupKind.Markdown, doc) if doc else None,
            text_edit=types.TextEdit(edit_range, label),
        )


def _no_line(number: int) -> str | None:
    return None


def _detail(decl: Decl) -> str:
    bits = [decl.kind]
    if decl.type:
        bits.append(decl.type)
    if decl.default is not None and "\n" not in decl.default:
        bits.append(f"= {decl.default}")
    return " ".join(bits)


def _file_uri(path: str) -> str:
    if ":" in path.split("/", 1)[0]:  # already a URI (an untitled buffer)
        return path
    return from_fs_path(path) or path
