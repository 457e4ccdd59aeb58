"""Hover, definition, references and completion on Argo documents (see argo.py for what
the index holds). `Features` hands a request to `ArgoFeatures` when the document at the
position is an Argo one; outline, lenses and diagnostics need nothing engine-specific.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lsprotocol import types

from .argo import OUTPUT_FIELDS, TASK_FIELDS, WORKFLOW_FIELDS, ArgoIndex, ArgoRef, Call, Tmpl, called, template_of
from .model import Decl, Rng, Use

if TYPE_CHECKING:
    from .features import Features, Positions

_NAME = r"[A-Za-z0-9_-]"
_OUTPUT_PARAMS = re.compile(rf"\{{\{{\s*(tasks|steps)\.({_NAME}+)\.outputs\.parameters\.({_NAME}*)$")
_OUTPUTS = re.compile(rf"\{{\{{\s*(tasks|steps)\.({_NAME}+)\.outputs\.([A-Za-z]*)$")
_TASK_FIELD = re.compile(rf"\{{\{{\s*(tasks|steps)\.({_NAME}+)\.([A-Za-z]*)$")
_TASKS = re.compile(rf"\{{\{{\s*(tasks|steps)\.({_NAME}*)$")
_PARAMS = re.compile(rf"\{{\{{\s*(inputs|outputs|workflow)\.parameters\.({_NAME}*)$")
_FIELDS = re.compile(r"\{\{\s*(inputs|outputs|workflow)\.([A-Za-z]*)$")
_ROOT = re.compile(r"\{\{\s*([A-Za-z]*)$")
_TEMPLATE_KEY = re.compile(rf"^\s*(?:-\s+)?(template|entrypoint|onExit):\s*[\"']?({_NAME}*)$")


class ArgoFeatures:
    def __init__(self, features: Features) -> None:
        self.f = features

    # ---- what is at a position ---------------------------------------------------------

    @staticmethod
    def ref_at(ix: ArgoIndex, line: int, col: int) -> ArgoRef | None:
        for ref in ix.refs():
            if isinstance(ref, ArgoRef) and ref.range.contains(line, col):
                return ref
        return None

    def output_decl(self, ix: ArgoIndex, use: Use) -> Decl | None:
        """The output parameter `{{tasks.t.outputs.parameters.p}}` names."""
        if use.sub_name is None or use.target is None:
            return None
        call = ix.calls.get(use.target)
        tmpl = called(ix, call, self.f.ws) if call is not None else None
        return tmpl.scope.results.get(use.sub_name) if tmpl is not None else None

    def ref_template(self, ix: ArgoIndex, ref: ArgoRef) -> tuple[ArgoIndex | None, Tmpl | None]:
        if ref.template is None:
            target = self.f.ws.resolve(ix, ref).target
            return (target if isinstance(target, ArgoIndex) else None), None
        return template_of(ix, ref, self.f.ws)

    def template_target(self, ix: ArgoIndex, use: Use) -> Decl | None:
        """The template a `template:` value names (in the document or its workflowTemplateRef)."""
        if use.target is not None or ix.base is None:
            return use.target
        base = self.f.ws.resolve(ix, ix.base).target
        if isinstance(base, ArgoIndex):
            tmpl = base.templates.get(use.name)
            return tmpl.decl if tmpl is not None else None
        return None

    def target_at(self, ix: ArgoIndex, line: int, col: int) -> Decl | None:
        """The declaration named at a position (a use's target, a reference's template)."""
        use = self.f.use_at(ix, line, col)
        if use is not None:
            if use.kind == "task" and use.sub_range is not None and use.sub_range.contains(line, col):
                return self.output_decl(ix, use)
            if use.kind == "template":
                return self.template_target(ix, use)
            return use.target
        ref = self.ref_at(ix, line, col)
        if ref is not None:
            _, tmpl = self.ref_template(ix, ref)
            return tmpl.decl if tmpl is not None else None
        return None

    # ---- hover -------------------------------------------------------------------------

    def hover(self, path: str, ix: ArgoIndex, line: int, col: int) -> types.Hover | None:
        use = self.f.use_at(ix, line, col)
        text: str | None = None
        rng: Rng | None = None
        if use is not None:
            rng = use.range
            if use.kind == "task":
                text = self.task_use_markdown(ix, use, line, col)
            elif use.kind == "template":
                decl = self.template_target(ix, use)
                text = self.template_markdown(decl) if decl is not None else None
            elif use.target is not None:
                text = self.decl_markdown(use.target)
        else:
            ref = self.ref_at(ix, line, col)
            if ref is not None:
                rng = ref.template_range if ref.template_range is not None else ref.name_range
                doc, tmpl = self.ref_template(ix, ref)
                if tmpl is not None:
                    text = self.template_markdown(tmpl.decl)
                elif doc is not None:
                    text = self.f.doc_markdown(doc)
            else:
                decl = self.f.decl_at(ix, line, col)
                if decl is not None:
                    rng = decl.name_range
                    text = self.template_markdown(decl) if decl.kind == "template" else self.decl_markdown(decl)
        if text is None or rng is None:
            return None
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
            range=self.f.positions(path).range(rng),
        )

    def decl_markdown(self, decl: Decl) -> str:
        if decl.kind == "task":
            return (
                f"**{decl.type or 'task'} `{decl.name}`** in {decl.owner} ({self.f.where(decl.path, decl.name_range)})"
            )
        parts = [f"**{decl.kind} `{decl.name}`**"]
        if decl.default is not None:
            label = "default" if "default" in decl.notes else "value"
            if "\n" in decl.default:
                parts.append(f"{label}:\n```yaml\n{decl.default}\n```")
            else:
                parts.append(f"{label}: `{decl.default}`")
        notes = [n for n in decl.notes if n not in ("value", "default")]
        if notes:
            parts.append(" · ".join(notes))
        parts.append(f"declared by {decl.owner} ({self.f.where(decl.path, decl.name_range)})")
        if decl.description:
            parts.append(decl.description)
        return "\n\n".join(parts)

    def template_markdown(self, decl: Decl) -> str:
        parts = [
            f"**template `{decl.name}`** ({decl.type}) in {decl.owner} ({self.f.where(decl.path, decl.name_range)})"
        ]
        home = self.f.ws.files.get(decl.path)
        tmpl: Tmpl | None = None
        if home is not None:
            for doc in home.docs():
                if isinstance(doc, ArgoIndex):
                    found = doc.templates.get(decl.name)
                    if found is not None and found.decl is decl:
                        tmpl = found
        if tmpl is not None:
            if tmpl.scope.params:
                parts.append("inputs: " + ", ".join(f"`{n}`" for n in tmpl.scope.params))
            if tmpl.scope.results:
                parts.append("outputs: " + ", ".join(f"`{n}`" for n in tmpl.scope.results))
            if tmpl.calls:
                parts.append(
                    ("tasks: " if tmpl.type == "dag" else "steps: ") + ", ".join(f"`{c.name}`" for c in tmpl.calls)
                )
            if tmpl.containers and tmpl.type == "containerSet":
                parts.append("containers: " + ", ".join(f"`{c}`" for c in tmpl.containers))
        return "\n\n".join(parts)

    def task_use_markdown(self, ix: ArgoIndex, use: Use, line: int, col: int) -> str | None:
        if use.target is None:
            return None
        call = ix.calls.get(use.target)
        if call is None:
            return None
        if use.sub_name is not None and use.sub_range is not None and use.sub_range.contains(line, col):
            decl = self.output_decl(ix, use)
            if decl is None:
                return None
            return f'output parameter of {call.word} "{call.name}"\n\n' + self.decl_markdown(decl)
        return self.call_markdown(ix, call)

    def call_markdown(self, ix: ArgoIndex, call: Call) -> str:
        parts = [f"**{call.word} `{call.name}`** · {call.calls}"]
        tmpl = called(ix, call, self.f.ws)
        if tmpl is not None and tmpl.scope.results:
            parts.append("outputs: " + ", ".join(f"`{n}`" for n in tmpl.scope.results))
        parts.append(self.f.where(call.decl.path, call.decl.name_range))
        return "\n\n".join(parts)

    # ---- definition and references -----------------------------------------------------

    def definition(self, ix: ArgoIndex, line: int, col: int) -> list[types.Location]:
        decl = self.target_at(ix, line, col)
        if decl is not None:
            return [self.f.location(decl.path, decl.name_range)]
        ref = self.ref_at(ix, line, col)
        if ref is not None:
            doc, _ = self.ref_template(ix, ref)
            if doc is not None:
                return [self.f.location(doc.path, doc.name_range)]
        return []

    def references(self, ix: ArgoIndex, line: int, col: int, include_declaration: bool) -> list[types.Location]:
        decl = self.target_at(ix, line, col) or self.f.decl_at(ix, line, col)
        if decl is None:
            if ix.name_range.contains(line, col):
                return self.f.doc_references(ix, include_declaration)
            return []
        out: list[types.Location] = []
        if include_declaration:
            out.append(self.f.location(decl.path, decl.name_range))
        home = self.f.ws.files.get(decl.path)
        owner = next(
            (d for d in home.docs() if d.range.contains_line(decl.range.line)) if home is not None else iter(()),
            None,
        )
        if owner is not None:
            for use in owner.uses:
                if use.target is decl and not (decl.kind == "output parameter" and use.kind == "task"):
                    out.append(self.f.location(owner.path, use.name_range))
        if decl.kind == "template" and isinstance(owner, ArgoIndex):
            out.extend(self.template_callers(owner, decl))
        elif decl.kind == "output parameter":
            for other in self.f.ws.files.values():
                for doc in other.docs():
                    if not isinstance(doc, ArgoIndex):
                        continue
                    for use in doc.uses:
                        if (
                            use.kind == "task"
                            and use.sub_name == decl.name
                            and use.sub_range is not None
                            and self.output_decl(doc, use) is decl
                        ):
                            out.append(self.f.location(doc.path, use.sub_range))
        return out

    def template_callers(self, owner: ArgoIndex, decl: Decl) -> list[types.Location]:
        """templateRefs (any file) and `template:` values of documents based on `owner`
        (workflowTemplateRef) that lead to the template `decl`."""
        out: list[types.Location] = []
        for path in sorted(self.f.ws.files):
            for doc in self.f.ws.files[path].docs():
                if not isinstance(doc, ArgoIndex) or doc is owner:
                    continue
                for ref in doc.argo_refs:
                    if (
                        ref.name == owner.name
                        and ref.template == decl.name
                        and self.f.ws.resolve(doc, ref).target is owner
                    ):
                        out.append(self.f.location(path, ref.template_range or ref.name_range))
                base = doc.base
                if base is not None and base.name == owner.name and self.f.ws.resolve(doc, base).target is owner:
                    for use in doc.uses:
                        if use.kind == "template" and use.target is None and use.name == decl.name:
                            out.append(self.f.location(path, use.name_range))
        return out

    # ---- completion --------------------------------------------------------------------

    def completion(self, ix: ArgoIndex, before: str, line: int, col: int, pos: Positions) -> list[types.CompletionItem]:
        item = self.f.item
        kinds = types.CompletionItemKind
        tmpl = ix.template_at(line)
        current = ix.call_at(line)
        m = _OUTPUT_PARAMS.search(before)
        if m is not None:
            call = self.call_named(ix, tmpl, m.group(1), m.group(2))
            target = called(ix, call, self.f.ws) if call is not None else None
            if target is None:
                return []
            return [
                item(n, kinds.Field, "output parameter", self.decl_markdown(d), m.group(3), line, col, pos)
                for n, d in target.scope.results.items()
            ]
        m = _OUTPUTS.search(before)
        if m is not None:
            return [item(w, kinds.Keyword, None, None, m.group(3), line, col, pos) for w in OUTPUT_FIELDS]
        m = _TASK_FIELD.search(before)
        if m is not None:
            return [item(w, kinds.Keyword, None, None, m.group(3), line, col, pos) for w in TASK_FIELDS]
        m = _TASKS.search(before)
        if m is not None:
            wanted = "dag" if m.group(1) == "tasks" else "steps"
            if tmpl is None or tmpl.type != wanted:
                return []
            out = []
            for call in tmpl.calls:
                if current is not None and call.name == current.name:
                    continue
                if wanted == "steps" and current is not None and not _before(call, current):
                    continue
                out.append(
                    item(call.name, kinds.Module, call.word, self.call_markdown(ix, call), m.group(2), line, col, pos)
                )
            return out
        m = _PARAMS.search(before)
        if m is not None:
            what = m.group(1)
            if what == "workflow":
                table = ix.args
            elif tmpl is None:
                return []
            else:
                table = tmpl.scope.params if what == "inputs" else tmpl.scope.results
            kind = kinds.Variable if what != "outputs" else kinds.Field
            return [item(n, kind, d.kind, self.decl_markdown(d), m.group(2), line, col, pos) for n, d in table.items()]
        m = _FIELDS.search(before)
        if m is not None:
            words = WORKFLOW_FIELDS if m.group(1) == "workflow" else ("parameters", "artifacts")
            return [item(w, kinds.Keyword, None, None, m.group(2), line, col, pos) for w in words]
        m = _ROOT.search(before)
        if m is not None:
            roots = ["inputs", "outputs", "workflow", "item"]
            if tmpl is not None and tmpl.type == "dag":
                roots.append("tasks")
            if tmpl is not None and tmpl.type == "steps":
                roots.append("steps")
            return [item(r, kinds.Keyword, None, None, m.group(1), line, col, pos) for r in roots]
        m = _TEMPLATE_KEY.search(before)
        if m is not None:
            names: dict[str, Decl] = {n: t.decl for n, t in ix.templates.items()}
            ref = next((r for r in ix.argo_refs if r.range.contains_line(line)), None)
            if ref is not None and m.group(1) == "template":
                doc, _ = self.ref_template(ix, ArgoRef(ref.key, ref.kind, ref.name, ref.range, ref.name_range))
                names = {n: t.decl for n, t in doc.templates.items()} if doc is not None else {}
            elif ix.base is not None:
                base = self.f.ws.resolve(ix, ix.base).target
                if isinstance(base, ArgoIndex):
                    names = {**{n: t.decl for n, t in base.templates.items()}, **names}
            return [
                item(n, kinds.Class, d.type, self.template_markdown(d), m.group(2), line, col, pos)
                for n, d in names.items()
            ]
        return []

    @staticmethod
    def call_named(ix: ArgoIndex, tmpl: Tmpl | None, root: str, name: str) -> Call | None:
        wanted = "dag" if root == "tasks" else "steps"
        if tmpl is None or tmpl.type != wanted:
            return None
        return ix.call_named(tmpl, name)


def _before(call: Call, current: Call) -> bool:
    """Whether steps item `call` runs in a group before the one of `current`."""
    if call.group is None or current.group is None:
        return True
    return call.group < current.group
