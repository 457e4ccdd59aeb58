"""The pure parts of the Argo cluster engine: the Workflow to submit, node names back to the
source map, and the emissary's `sub-process exited` line.

The Workflow is self-contained, as the Tekton engine embeds `taskSpec`: the file being debugged
is the truth, not a WorkflowTemplate of the same name on the cluster.

- Workflow, WorkflowTemplate, ClusterWorkflowTemplate: their spec; CronWorkflow: its
  workflowSpec. A `workflowTemplateRef` is merged with its base as the local engine does (the
  document's fields win, the base's templates are added unless the document has one of that
  name, arguments merged by name).
- Every template a `templateRef` reaches (and, from there, every template those call by name)
  is copied into `spec.templates`, keeping its name unless another template has it already
  (then `<name>-<n>`), and the call is rewritten to `template: <name>`.
- With debug, every leaf container (container, script, each containerSet container, inline
  ones too) gets `ARGO_DEBUG_PAUSE_BEFORE` and `ARGO_DEBUG_PAUSE_AFTER` = `"true"`
  (engine-protocols.md B1): each one pauses before and after its command, and the session
  releases at once the pauses nobody asked for, so breakpoints set while running all work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from dap_server.engines.base import EngineError
from dap_server.engines.local.common import as_dict, as_list
from dap_server.engines.options import RunOptions
from dap_server.sources.argo import ArgoDocument, ArgoTask, Template, text_of
from dap_server.sources.model import Span

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "workflows"
BEFORE_ENV = "ARGO_DEBUG_PAUSE_BEFORE"
AFTER_ENV = "ARGO_DEBUG_PAUSE_AFTER"
MANAGED_BY = {"app.kubernetes.io/managed-by": "pipeline-dap"}
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
NODE_ID = "workflows.argoproj.io/node-id"
NODE_NAME = "workflows.argoproj.io/node-name"
WAIT = "wait"  # Argo's auxiliary containers: not steps
AUXILIARY = frozenset({"wait", "init", "supervisor"})
RUNNABLE = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")
Frames = tuple[tuple[str, Span], ...]


# ---- the Workflow body ---------------------------------------------------------------------------


@dataclass
class Body:
    workflow: dict[str, Any]
    templates: dict[str, Template]  # spec.templates name -> its source template


class _Assembler:
    """spec.templates of the submitted Workflow: the run's own, its base's, and copies of the
    templates reached through templateRef (renamed only on a name collision)."""

    def __init__(self, doc: ArgoDocument) -> None:
        self.doc = doc
        self.names: dict[tuple[int, str], str] = {}
        self.out: list[dict[str, Any]] = []
        self.by_name: dict[str, Template] = {}
        self.queue: list[tuple[Template, dict[str, Any]]] = []

    def own(self) -> None:
        docs = [self.doc] + ([self.doc.base] if self.doc.base is not None else [])
        for each in docs:
            data = {str(t.get("name")): t for t in as_list(each.spec_data().get("templates")) if isinstance(t, dict)}
            for name, template in each.templates.items():
                for other in docs:
                    self.names[(id(other), name)] = name  # one namespace: the document's and its base's
                if name in self.by_name:
                    continue  # the document's own template shadows the base's
                item = data.get(name) or template.data()
                self.by_name[name] = template
                self.out.append(item)
                self.queue.append((template, item))

    def place(self, template: Template) -> str:
        key = (id(template.document), template.name)
        found = self.names.get(key)
        if found is not None:
            return found
        name, n = template.name, 2
        while name in self.by_name:
            name, n = f"{template.name}-{n}", n + 1
        self.names[key] = name
        item = template.data()
        item["name"] = name
        self.by_name[name] = template
        self.out.append(item)
        self.queue.append((template, item))
        return name

    def run(self) -> None:
        while self.queue:
            template, item = self.queue.pop(0)
            self.rewrite(template, item)

    def rewrite(self, template: Template, item: dict[str, Any]) -> None:
        calls = template.calls.tasks if template.calls is not None else []
        tasks = {t.name: t for t in calls if isinstance(t, ArgoTask)}
        for call in _calls(item):
            task = tasks.get(str(call.get("name")))
            if task is None:
                continue
            if "templateRef" in call or ("template" in call and task.target is not None):
                target = task.target
                if target is None:
                    where = f"{task.span.path}:{task.span.line}"
                    raise EngineError(f"{where}: {task.name}: {task.called} is not resolved")
                if target.document is not None and target is target.document.templates.get(target.name):
                    call.pop("templateRef", None)
                    call["template"] = self.place(target)
            hook = call.get("onExit")
            owner = template.document
            if isinstance(hook, str) and owner is not None and owner is not self.doc and owner is not self.doc.base:
                handler = owner.templates.get(hook)
                if handler is not None:
                    call["onExit"] = self.place(handler)


def _calls(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps items / DAG tasks of a template's data (the dicts themselves, to change)."""
    if isinstance(template.get("dag"), dict):
        return [t for t in as_list(template["dag"].get("tasks")) if isinstance(t, dict)]
    out: list[dict[str, Any]] = []
    for group in as_list(template.get("steps")):
        for item in group if isinstance(group, list) else [group]:
            if isinstance(item, dict):
                out.append(item)
    return out


def leaf_containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The containers of a container, script or containerSet template's data."""
    for key in ("container", "script"):
        if isinstance(template.get(key), dict):
            return [template[key]]
    return [c for c in as_list(as_dict(template.get("containerSet")).get("containers")) if isinstance(c, dict)]


def set_env(container: dict[str, Any], name: str, value: str) -> None:
    env = container.get("env")
    if not isinstance(env, list):
        env = container["env"] = []
    env[:] = [e for e in env if not (isinstance(e, dict) and e.get("name") == name)]
    env.append({"name": name, "value": value})


def add_debug_env(templates: list[dict[str, Any]]) -> None:
    """Pause before and after every leaf container (inline templates included)."""
    for template in templates:
        inline = [c["inline"] for c in _calls(template) if isinstance(c.get("inline"), dict)]
        for each in [template, *inline]:
            for container in leaf_containers(each):
                set_env(container, BEFORE_ENV, "true")
                set_env(container, AFTER_ENV, "true")


def workflow_body(doc: ArgoDocument, options: RunOptions, namespace: str) -> Body:
    """The Workflow to create for `doc` (see the module docstring). EngineError: what is missing."""
    if doc.kind not in RUNNABLE:
        raise EngineError(f"{doc.key}: the argo engine runs Argo Workflows, not {doc.kind}")
    if doc.workflow_template_ref is not None and doc.base is None:
        ref = doc.workflow_template_ref
        raise EngineError(f"{doc.path}:{ref.span.line}: workflowTemplateRef: {ref.kind} {ref.name} is not resolved")
    spec = doc.spec_data()
    if doc.base is not None:
        base = doc.base.spec_data()
        merged = {**base, **spec}
        base_args = as_list(as_dict(base.get("arguments")).get("parameters"))
        own_args = as_list(as_dict(spec.get("arguments")).get("parameters"))
        names = {str(p.get("name")) for p in own_args if isinstance(p, dict)}
        args = [p for p in base_args if isinstance(p, dict) and str(p.get("name")) not in names] + own_args
        if args:
            merged["arguments"] = {**as_dict(merged.get("arguments")), "parameters": args}
        spec = merged
    spec.pop("workflowTemplateRef", None)
    entry = doc.run_entrypoint()
    if entry is None or doc.template(entry) is None:
        raise EngineError(f"{doc.key}: no entrypoint template to run ({doc.path}:{doc.span.line})")
    spec["entrypoint"] = entry
    assembler = _Assembler(doc)
    assembler.own()
    assembler.run()
    spec["templates"] = assembler.out
    params = [dict(p) for p in as_list(as_dict(spec.get("arguments")).get("parameters")) if isinstance(p, dict)]
    given = dict(options.params)
    for param in params:
        name = str(param.get("name"))
        if name in given:
            param.pop("valueFrom", None)
            param["value"] = text_of(given.pop(name))
    params += [{"name": k, "value": text_of(v)} for k, v in given.items()]
    missing = [p["name"] for p in params if "value" not in p and "default" not in p and "valueFrom" not in p]
    if missing:
        line = _param_line(doc, str(missing[0]))
        raise EngineError(
            f'{doc.path}:{line}: workflow parameter "{missing[0]}" of {doc.key} has no value: give it in the '
            'launch configuration ("params")'
        )
    if params:
        spec["arguments"] = {**as_dict(spec.get("arguments")), "parameters": params}
    if options.timeout:
        spec["activeDeadlineSeconds"] = max(1, int(options.timeout))
    if options.debug:
        add_debug_env(spec["templates"])
    metadata = as_dict(doc.data().get("metadata"))
    if doc.kind == "CronWorkflow":
        metadata = {**metadata, **as_dict(as_dict(as_dict(doc.data().get("spec")).get("workflowMetadata")))}
    prefix = str(metadata.get("name") or metadata.get("generateName") or doc.name or "workflow").rstrip("-")
    labels = {str(k): str(v) for k, v in as_dict(metadata.get("labels")).items()}
    labels.update(MANAGED_BY)
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Workflow",
        "metadata": {
            "generateName": f"{prefix[:40]}-debug-",
            "namespace": namespace,
            "labels": labels,
            "annotations": {str(k): str(v) for k, v in as_dict(metadata.get("annotations")).items()},
        },
        "spec": spec,
    }
    return Body(body, assembler.by_name)


def _param_line(doc: ArgoDocument, name: str) -> int:
    """The line of workflow parameter `name` in the document (its spec line when not found)."""
    spec = doc.spec_node
    if spec is None:
        return doc.span.line
    for key, value in spec.value:
        if getattr(key, "value", None) != "arguments" or not isinstance(value, yaml.MappingNode):
            continue
        for key2, params in value.value:
            if getattr(key2, "value", None) != "parameters" or not isinstance(params, yaml.SequenceNode):
                continue
            for item in params.value:
                if isinstance(item, yaml.MappingNode) and any(
                    getattr(k, "value", None) == "name" and getattr(v, "value", None) == name for k, v in item.value
                ):
                    return int(item.start_mark.line) + 1
    return int(spec.start_mark.line) + 1


# ---- node names back to the source ----------------------------------------------------------------

_TOKEN = re.compile(r"\[(\d+)\]|\.([^.\[\]()]+)|\((\d+)\)|\((\d+):([^)]*)\)")


def node_tokens(workflow: str, node_name: str) -> list[tuple[str, str]] | None:
    """`wf[0].build(1:x)(0)` -> [("group", "0"), ("name", "build"), ("item", "1"), ("retry", "0")];
    None when the name is not a node name of that workflow."""
    if node_name == workflow:
        return []
    if not node_name.startswith(workflow):
        return None
    rest = node_name[len(workflow) :]
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(rest):
        match = _TOKEN.match(rest, pos)
        if match is None:
            return None
        group, name, retry, item = match.group(1), match.group(2), match.group(3), match.group(4)
        if group is not None:
            out.append(("group", group))
        elif name is not None:
            out.append(("name", name))
        elif retry is not None:
            out.append(("retry", retry))
        else:
            out.append(("item", item))
        pos = match.end()
    return out


@dataclass
class NodeSource:
    template: Template  # the leaf template the pod runs
    task: ArgoTask | None  # the DAG task / steps item that called it (None: the entrypoint, onExit)
    instance: int | None  # fan-out index
    frames: Frames  # (DAG task / steps item, enclosing template) pairs, innermost first


def locate(doc: ArgoDocument, workflow: str, node_name: str, entry: str | None = None) -> NodeSource | None:
    """The source of a pod node, by walking its name from the entrypoint template: `[i].name`
    into a steps template, `.name` into a DAG, `(i:desc)` a fan-out item, `(n)` a retry,
    `.onExit` the workflow's (or a call's) exit handler. None when the walk fails."""
    tokens = node_tokens(workflow, node_name)
    start = doc.template(entry or doc.run_entrypoint() or "")
    if tokens is None or start is None:
        return None
    template: Template = start
    task: ArgoTask | None = None
    instance: int | None = None
    frames: Frames = ()
    group: int | None = None
    for n, (kind, value) in enumerate(tokens):
        if kind == "retry":
            continue
        if kind == "item":
            instance = int(value)
            continue
        if kind == "group":
            if template.type != "steps":
                return None
            group = int(value)
            continue
        # a name
        if value == "onExit":
            if n == 0:
                handler = doc.template(doc.on_exit or as_dict(doc.spec_data()).get("onExit") or "")
                if handler is None:
                    return None
                template, task, instance, frames = handler, None, None, ()
                continue
            if task is not None and group is None:
                hook = task.data().get("onExit")
                owner = task.owner.document if task.owner is not None else None
                handler = owner.template(hook) if isinstance(hook, str) and owner is not None else None
                if handler is not None:
                    template = handler
                    continue
        calls: list[ArgoTask]
        if template.type == "steps":
            if group is None or not 0 <= group < len(template.groups):
                return None
            calls = template.groups[group]
        elif template.type == "dag" and template.calls is not None:
            calls = [t for t in template.calls.tasks if isinstance(t, ArgoTask)]
        else:
            return None
        found = next((t for t in calls if t.name == value), None)
        if found is None or found.target is None:
            return None
        frames = ((found.name, found.span), (template.name, template.span), *frames)
        template, task, instance, group = found.target, found, None, None
    if not template.leaf or template.spec is None:
        return None
    return NodeSource(template, task, instance, frames)


# ---- the emissary's log ------------------------------------------------------------------------------

_EXITED = re.compile(r'msg="sub-process exited"')
_ERROR = re.compile(r'\berror=(?:"((?:[^"\\]|\\.)*)"|(\S+))')
_STATUS = re.compile(r"exit status (\d+)")


def is_emissary_line(line: str) -> bool:
    """A line the emissary logged itself (`argo=true`), not the user's command."""
    return " argo=true" in line and line.startswith("time=")


def exited_code(line: str) -> int | None:
    """The command's exit code from a v4 `sub-process exited` line (`error="<nil>"` is 0,
    `error="exit status N"` is N); None for any other line. Another error (the command could
    not start, a signal) counts as 1 unless it names a status."""
    if not _EXITED.search(line) or not is_emissary_line(line):
        return None
    match = _ERROR.search(line)
    error = (match.group(1) if match.group(1) is not None else match.group(2)) if match else "<nil>"
    if error in ("<nil>", ""):
        return 0
    status = _STATUS.search(error)
    return int(status.group(1)) if status else 1
