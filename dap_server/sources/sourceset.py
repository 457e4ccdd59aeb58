"""Documents across files: finding, resolving references, choosing what to run."""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Callable

import yaml

from . import argo
from .compose import MappingNode, get
from .files import MARKERS, _load, load_file
from .model import Document, PipelineSpec, Ref, SourceError, TaskSpec
from .tekton import TASK_KINDS

YAML_SUFFIXES = (".yaml", ".yml")
RUN_KINDS = frozenset({"TaskRun", "PipelineRun", "Workflow"})


class SourceSet:
    """The documents of a run's program and search paths.

    Each SourceSet works on its own copies of the cached documents, so resolving
    references in one set never changes what another set (or `load_file`) returns.
    """

    def __init__(self, search_paths: list[str]) -> None:
        self.search_paths = [os.path.realpath(p) for p in search_paths]
        self._docs: dict[str, list[Document]] = {}
        self._overlays: list[str] = []
        self._files: list[str] | None = None
        self._index: dict[tuple[str, str], Document] | None = None
        self._locals: dict[str, dict[tuple[str, str], Document]] = {}
        self.skipped: dict[str, SourceError] = {}  # files that did not parse while indexing

    # ---- documents ----------------------------------------------------------------

    def documents(self, path: str) -> list[Document]:
        """The documents of one file (this set's copies). Raises SourceError."""
        real = os.path.realpath(path)
        docs = self._docs.get(real)
        if docs is None:
            docs = [clone(doc) for doc in load_file(real)]
            self._docs[real] = docs
        return docs

    def add(self, path: str, docs: list[Document]) -> None:
        """Use `docs` (say, `parse_text` of an unsaved buffer) for `path` instead of the
        file on disk, both for `documents(path)` and for resolving references."""
        real = os.path.realpath(path)
        self._docs[real] = docs
        if real not in self._overlays:
            self._overlays.append(real)
        self._index = None
        self._locals.clear()

    def files(self) -> list[str]:
        """Every YAML file under the search paths (real paths, sorted, no dot-folders)."""
        if self._files is None:
            found: dict[str, None] = {}
            for root in self.search_paths:
                if os.path.isfile(root):
                    found[root] = None
                    continue
                for folder, dirs, names in os.walk(root):
                    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                    for name in sorted(names):
                        if name.endswith(YAML_SUFFIXES):
                            found[os.path.realpath(os.path.join(folder, name))] = None
            self._files = list(found)
        return self._files

    def _build_index(self) -> dict[tuple[str, str], Document]:
        if self._index is not None:
            return self._index
        index: dict[tuple[str, str], Document] = {}
        for real in [*self._overlays, *self.files()]:
            docs = self._docs.get(real)
            if docs is None:
                result = _load(real, MARKERS)
                if isinstance(result, SourceError):
                    self.skipped[real] = result
                    continue
                if not result:
                    continue
                docs = self._docs[real] = [clone(doc) for doc in result]
            for doc in docs:
                index.setdefault((doc.kind, doc.name), doc)
        self._index = index
        return index

    def find(self, kind: str, name: str) -> Document | None:
        """The document `kind/name` in the search paths (Task and ClusterTask stand in
        for each other when only the other exists)."""
        index = self._build_index()
        return _lookup(index.get, kind, name)

    # ---- references -----------------------------------------------------------------

    def resolve(self, doc: Document, *, strict: bool = True) -> Document:
        """Fill every reference of `doc` by name: TaskRun taskRef, PipelineRun pipelineRef,
        and the pipeline tasks' taskRefs; set the back-links. Idempotent.

        Every reference that can be resolved is, and each one that cannot is left None
        with the reason in `ref.error`; then, when strict, the first problem is raised
        as a SourceError at the reference's line (`pipeline-dap map` passes strict=False)."""
        problems: list[SourceError] = []
        if isinstance(doc, argo.ArgoDocument):
            argo.resolve(doc, self._find_for(doc), problems)
            if strict and problems:
                raise problems[0]
            return doc
        if doc.task_ref is not None:
            found = self._follow(doc, doc.task_ref, "taskRef", problems)
            doc.task = found.task if found is not None else None
        if doc.pipeline_ref is not None:
            found = self._follow(doc, doc.pipeline_ref, "pipelineRef", problems)
            doc.pipeline = found.pipeline if found is not None else None
        pipeline = doc.pipeline
        if pipeline is not None:
            for task in pipeline.all_tasks():
                task.pipeline = pipeline
                if task.task_ref is not None:
                    found = self._follow(doc, task.task_ref, "taskRef", problems)
                    task.task = found.task if found is not None else None
                elif task.task is None:
                    span = task.span
                    problems.append(
                        SourceError(
                            span.path,
                            span.line,
                            span.column,
                            f'pipeline task "{task.name}" runs a Pipeline (pipelineRef/pipelineSpec): '
                            "pipelines in pipelines are not supported",
                        )
                    )
        if strict and problems:
            raise problems[0]
        return doc

    def _find_for(self, owner: Document) -> argo.Finder:
        """Argo's lookup: the owner's own file first, then the search paths."""

        def find(kind: str, name: str) -> Document | None:
            return self._local(owner.path).get((kind, name)) or self.find(kind, name)

        return find

    def _follow(self, owner: Document, ref: Ref, key: str, problems: list[SourceError]) -> Document | None:
        ref.error = None
        try:
            return self._target(owner, ref, key)
        except SourceError as exc:
            ref.error = exc.cause
            problems.append(exc)
            return None

    def _target(self, owner: Document, ref: Ref, key: str) -> Document:
        line, column = _name_position(ref)
        if ref.api_version and not ref.api_version.startswith("tekton.dev/"):
            raise SourceError(
                ref.span.path,
                line,
                column,
                f'{key} to custom task {ref.api_version} {ref.kind} "{ref.name}" cannot be run locally',
            )
        if ref.resolver is not None:
            raise SourceError(
                ref.span.path,
                line,
                column,
                f'{key} uses the "{ref.resolver}" resolver, which cannot be resolved locally: '
                f"copy the {ref.kind} into a file under the search paths and refer to it by name",
            )
        found = _lookup(self._local(owner.path).get, ref.kind, ref.name) or self.find(ref.kind, ref.name)
        if found is not None:
            return found
        raise SourceError(ref.span.path, line, column, self._not_found(ref, key))

    def _local(self, path: str) -> dict[tuple[str, str], Document]:
        """(kind, name) index of the documents of `path` (references look there first)."""
        index = self._locals.get(path)
        if index is None:
            docs = self._docs.get(os.path.realpath(path))
            if docs is None:  # not one of this set's files: nothing local to look at
                return {}
            index = self._locals[path] = {(d.kind, d.name): d for d in reversed(docs)}
        return index

    def _not_found(self, ref: Ref, key: str) -> str:
        kinds = TASK_KINDS if ref.kind in TASK_KINDS else frozenset({ref.kind})
        index = self._build_index()
        names = sorted({name for kind, name in index if kind in kinds})
        close = difflib.get_close_matches(ref.name, names, n=3)
        files = self.files()
        shown = ", ".join(self._short(f) for f in files[:8]) + (", ..." if len(files) > 8 else "")
        where = ", ".join(self.search_paths) or "(no search paths)"
        message = f'{key}: {ref.kind} "{ref.name}" not found in {where} ({len(files)} YAML files: {shown})'
        if close:
            message += "; did you mean " + " or ".join(f'"{c}"' for c in close) + "?"
        for path, error in self.skipped.items():
            message += f"; {self._short(path)} was skipped: {error.cause} (line {error.line})"
        return message

    def _short(self, path: str) -> str:
        """`path` relative to the search path holding it."""
        for root in self.search_paths:
            if path.startswith(root + os.sep):
                return os.path.relpath(path, root)
        return os.path.basename(path)

    # ---- choosing what to run -----------------------------------------------------

    def select(self, program: str, obj: str | None = None) -> Document:
        """The runnable document of `program` to run (not resolved: call `resolve`).

        obj is `Kind/name` (kind case-insensitive). Without it: the only runnable
        document; else the only TaskRun/PipelineRun (a run beats what it references);
        else the only Pipeline (a Tasks + Pipeline file)."""
        docs = self.documents(program)
        runnable = [d for d in docs if d.runnable]
        path = os.path.realpath(program)
        if obj:
            kind, _, name = obj.rpartition("/")
            for doc in runnable:
                if doc.name == name and (not kind or doc.kind.lower() == kind.lower()):
                    return _checked(doc)
            raise SourceError(path, 1, 1, f"{obj} is not in this file; {_choices(runnable)}")
        if not runnable:
            raise SourceError(path, 1, 1, "no Tekton Task, Pipeline, TaskRun or PipelineRun to run in this file")
        if len(runnable) == 1:
            return _checked(runnable[0])
        for kinds in (RUN_KINDS, frozenset({"Pipeline"})):
            chosen = [d for d in runnable if d.kind in kinds]
            if len(chosen) == 1:
                return _checked(chosen[0])
            if chosen:
                runnable = chosen
                break
        raise SourceError(
            path, 1, 1, f'this file holds several runnable documents; set "object" to {_choices(runnable)}'
        )

    def files_of(self, doc: Document) -> set[str]:
        """Every file a (resolved) run uses."""
        if isinstance(doc, argo.ArgoDocument):
            return argo.files_of(doc)
        files = {doc.path}
        specs: list[TaskSpec | PipelineSpec | None] = [doc.task, doc.pipeline]
        if doc.pipeline is not None:
            specs.extend(t.task for t in doc.pipeline.all_tasks())
        for spec in specs:
            if spec is not None:
                files.add(spec.document.path if spec.document is not None else spec.span.path)
        return files


def _checked(doc: Document) -> Document:
    """An Argo WorkflowTemplate chosen to run needs an entrypoint of its own."""
    if isinstance(doc, argo.ArgoDocument) and doc.kind in argo.TEMPLATE_KINDS and doc.entrypoint is None:
        raise argo.no_entrypoint(doc)
    return doc


def _choices(docs: list[Document]) -> str:
    if not docs:
        return "there is nothing runnable in it"
    return "one of: " + ", ".join(f"{d.key} (line {d.span.line})" for d in docs)


def _lookup(getter: Callable[[tuple[str, str]], Document | None], kind: str, name: str) -> Document | None:
    """`getter` is the `get` of a (kind, name) index."""
    found = getter((kind, name))
    if found is None and kind in TASK_KINDS:
        found = getter(("ClusterTask" if kind == "Task" else "Task", name))
    return found


def _name_position(ref: Ref) -> tuple[int, int]:
    """Where an error about a reference points: its `name:` value, else the mapping."""
    node = ref.node
    if type(node) is MappingNode:
        name: yaml.Node | None = get(node, "name") or get(node, "resolver")
        if name is not None:
            return name.start_mark.line + 1, name.start_mark.column + 1
    return ref.span.line, ref.span.column


def clone(doc: Document) -> Document:
    """A copy of a freshly parsed document whose references can be resolved without
    touching the original (nodes and spans are shared, they never change)."""
    if isinstance(doc, argo.ArgoDocument):
        return argo.clone(doc)
    new = dataclasses.replace(doc)
    if doc.task_ref is not None:
        new.task_ref = dataclasses.replace(doc.task_ref, error=None)
        new.task = None
    elif doc.task is not None:
        new.task = _clone_task(doc.task, new)
    if doc.pipeline_ref is not None:
        new.pipeline_ref = dataclasses.replace(doc.pipeline_ref, error=None)
        new.pipeline = None
    elif doc.pipeline is not None:
        new.pipeline = _clone_pipeline(doc.pipeline, new)
    return new


def _clone_task(task: TaskSpec, doc: Document) -> TaskSpec:
    new = TaskSpec(task.name, task.span, [], task.node, doc)
    new.steps = [dataclasses.replace(step, spec=new) for step in task.steps]
    return new


def _clone_pipeline(pipeline: PipelineSpec, doc: Document) -> PipelineSpec:
    new = PipelineSpec(pipeline.name, pipeline.span, [], [], pipeline.node, doc)
    for source, target in ((pipeline.tasks, new.tasks), (pipeline.finally_tasks, new.finally_tasks)):
        for task in source:
            copy = dataclasses.replace(task, pipeline=new)
            if task.task_ref is not None:
                copy.task_ref = dataclasses.replace(task.task_ref, error=None)
                copy.task = None
            elif task.task is not None:
                copy.task = _clone_task(task.task, doc)
            target.append(copy)
    return new
