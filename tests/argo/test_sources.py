"""The Argo source map: templates, leaf containers (steps), DAG tasks and steps items, with lines."""

from __future__ import annotations

import json
import textwrap

import pytest

from dap_server.sources import (
    Miss,
    SourceError,
    SourceSet,
    Span,
    StepTarget,
    TaskTarget,
    breakpoint_locations,
    load_file,
    locate,
    parse_text,
    render_map,
)
from dap_server.sources.argo import ArgoDocument, ArgoTask

from .helpers import FIXTURES, fixture


def argo(path: str) -> ArgoDocument:
    docs = load_file(path)
    assert len(docs) == 1
    doc = docs[0]
    assert isinstance(doc, ArgoDocument)
    return doc


def calls(doc: ArgoDocument) -> list[tuple[str, int, int, int, int | None]]:
    return [(t.name, t.span.line, t.span.end_line, t.span.column, t.group) for t in doc.tasks()]


def test_dag_diamond_tasks_and_container_step() -> None:
    doc = argo(fixture("dag-diamond.yaml"))
    assert (doc.kind, doc.name, doc.entrypoint, doc.span.line, doc.span.end_line) == (
        "Workflow",
        "diamond-",
        "diamond",
        2,
        46,
    )
    assert list(doc.templates) == ["diamond", "echo"]
    assert calls(doc) == [
        ("a", 16, 19, 11, None),
        ("b", 20, 24, 11, None),
        ("c", 25, 29, 11, None),
        ("d", 30, 34, 11, None),
    ]
    (step,) = doc.steps()
    assert (step.name, step.span) == ("main", Span(step.span.path, 40, 46, 7))
    assert all(t.target is doc.templates["echo"] for t in doc.tasks())
    assert doc.runnable


def test_nested_steps_groups_use_the_inner_dash() -> None:
    doc = argo(fixture("nested-steps.yaml"))
    assert calls(doc) == [
        ("prepare", 11, 14, 11, 0),
        ("left", 15, 18, 11, 1),
        ("right", 19, 20, 11, 1),
        ("finish", 21, 24, 11, 2),
        ("one", 28, 31, 11, 0),
        ("two", 32, 35, 11, 1),
    ]
    main = doc.templates["main"]
    assert [[t.name for t in g] for g in main.groups] == [["prepare"], ["left", "right"], ["finish"]]
    right = next(t for t in doc.tasks() if t.name == "right")
    assert right.target is doc.templates["inner"] and right.task is None  # calls a steps template


def test_script_step_spans_the_source() -> None:
    doc = argo(fixture("script.yaml"))
    (step,) = doc.steps()
    assert (step.span.line, step.span.end_line) == (18, 27)
    assert isinstance(locate(fixture("script.yaml"), 27), StepTarget)
    assert isinstance(locate(fixture("script.yaml"), 14), Miss)


def test_container_set_containers_are_steps() -> None:
    doc = argo(fixture("container-set.yaml"))
    spec = doc.templates["pod"].spec
    assert spec is not None
    assert [(s.name, s.index, s.span.line, s.span.end_line) for s in spec.steps] == [
        ("fetch", 0, 15, 17),
        ("build", 1, 18, 21),
        ("test", 2, 22, 25),
    ]


def test_locate_template_step_vs_dag_task() -> None:
    path = fixture("dag-diamond.yaml")
    found = locate(path, 42)
    assert isinstance(found, StepTarget) and found.step.name == "main" and found.span.line == 40
    task = locate(path, 22)
    assert isinstance(task, TaskTarget) and task.task.name == "b" and isinstance(task.task, ArgoTask)
    miss = locate(path, 38)
    assert isinstance(miss, Miss)
    assert miss.message == (
        'line 38 is not inside a step or pipeline task: the nearest step is "main" at line 40 '
        "(a breakpoint there stops before it)"
    )
    miss = locate(path, 14)
    assert isinstance(miss, Miss) and 'DAG task is "a" at line 16' in miss.message
    nested = locate(fixture("nested-steps.yaml"), 12)
    assert isinstance(nested, Miss) is False and isinstance(nested, TaskTarget) and nested.task.name == "prepare"


def test_breakpoint_locations() -> None:
    path = fixture("dag-diamond.yaml")
    assert [(s.line, s.end_line) for s in breakpoint_locations(path, 15, 46)] == [
        (16, 19),
        (20, 24),
        (25, 29),
        (30, 34),
        (40, 46),
    ]


def test_template_ref_resolves_across_files() -> None:
    workflow = fixture("template-ref/workflow.yaml")
    sources = SourceSet([str(FIXTURES / "template-ref")])
    doc = sources.select(workflow)
    sources.resolve(doc)
    assert isinstance(doc, ArgoDocument)
    by_name = {t.name: t for t in doc.tasks()}
    hello, both, stamp = by_name["hello"], by_name["both"], by_name["stamp"]
    assert hello.target is not None and hello.target.name == "greet"
    assert hello.target.span.path.endswith("templates.yaml") and hello.target.span.line == 8
    assert hello.task is not None and hello.task.steps[0].span.line == 13
    assert both.target is not None and both.target.type == "steps" and both.task is None
    assert stamp.task_ref is not None and stamp.task_ref.kind == "ClusterWorkflowTemplate"
    assert stamp.target is not None and stamp.target.name == "stamp"
    assert sources.files_of(doc) == {workflow, fixture("template-ref/templates.yaml")}
    # the cached document is untouched: resolution works on the set's copies
    (cached,) = load_file(workflow)
    assert isinstance(cached, ArgoDocument)
    assert all(t.target is None for t in cached.tasks())


def test_cron_workflow_through_workflow_template_ref() -> None:
    path = fixture("template-ref/cron.yaml")
    sources = SourceSet([str(FIXTURES / "template-ref")])
    doc = sources.select(path)
    sources.resolve(doc)
    assert isinstance(doc, ArgoDocument)
    assert doc.kind == "CronWorkflow" and doc.run_entrypoint() == "twice"
    assert doc.base is not None and doc.base.name == "toolbox"
    twice = doc.template("twice")
    assert twice is not None and [t.name for t in twice.groups[0]] == ["first"]


def test_workflow_template_without_entrypoint_cannot_be_selected() -> None:
    sources = SourceSet([str(FIXTURES / "template-ref")])
    with pytest.raises(SourceError) as info:
        sources.select(fixture("template-ref/templates.yaml"), "WorkflowTemplate/toolbox")
    assert info.value.cause == "WorkflowTemplate/toolbox has no entrypoint: set spec.entrypoint to run it"


@pytest.mark.parametrize(
    ("name", "line", "column", "cause"),
    [
        (
            "unknown-template.yaml",
            11,
            23,
            'a: unknown template "ecko" (templates: main, echo); did you mean "echo"?',
        ),
        (
            "duplicate-template.yaml",
            11,
            5,
            'duplicate template name "echo" in Workflow/bad (first at line 8)',
        ),
        (
            "no-entrypoint.yaml",
            6,
            3,
            "Workflow/bad has no entrypoint (spec.entrypoint names the template to run)",
        ),
    ],
)
def test_parse_errors(name: str, line: int, column: int, cause: str) -> None:
    with pytest.raises(SourceError) as info:
        load_file(fixture(f"bad/{name}"))
    assert (info.value.line, info.value.column, info.value.cause) == (line, column, cause)


def test_unresolved_template_refs_name_the_line() -> None:
    path = fixture("bad/unresolved-ref.yaml")
    sources = SourceSet([str(FIXTURES / "bad"), str(FIXTURES / "template-ref" / "templates.yaml")])
    doc = sources.select(path)
    with pytest.raises(SourceError) as info:
        sources.resolve(doc)
    assert (info.value.line, info.value.column) == (13, 21)
    assert info.value.cause == 'templateRef: WorkflowTemplate "no-such-template" not found in the search paths'
    doc = sources.resolve(doc, strict=False)
    assert isinstance(doc, ArgoDocument)
    b = next(t for t in doc.tasks() if t.name == "b")
    assert b.task_ref is not None and b.task_ref.error is not None
    assert b.task_ref.error.startswith('templateRef: template "no-such" not found in WorkflowTemplate/toolbox')


def test_multi_document_file_with_tekton_and_argo() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: tekton.dev/v1
        kind: Task
        metadata: {name: t}
        spec:
          steps:
            - name: s
              image: alpine
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: WorkflowEventBinding
        metadata: {name: ignored}
        spec: {event: {selector: "true"}}
        ---
        # the workflow
        apiVersion: argoproj.io/v1alpha1
        kind: WorkflowTemplate
        metadata: {name: wt}
        spec:
          entrypoint: hi
          templates:
            - name: hi
              script: {image: alpine, command: [sh], source: "echo hi"}
        """
    )
    docs = parse_text("mixed.yaml", text)
    assert [(d.key, d.index, d.span.line, d.span.end_line) for d in docs] == [
        ("Task/t", 0, 1, 7),
        ("WorkflowTemplate/wt", 2, 15, 22),
    ]
    wt = docs[1]
    assert isinstance(wt, ArgoDocument)
    assert [(s.name, s.span.line, s.span.end_line) for s in wt.steps()] == [("main", 22, 22)]


def test_render_map_text_and_json() -> None:
    docs = load_file(fixture("nested-steps.yaml"))
    text = render_map(docs, as_json=False)
    assert text.splitlines()[:4] == [
        "Workflow/nested  nested-steps.yaml:2-43  entrypoint main",
        "  template main (steps)  nested-steps.yaml:9-24",
        "    step [0] prepare  nested-steps.yaml:11-14 -> say",
        "    step [1] left  nested-steps.yaml:15-18 -> say",
    ]
    data = json.loads(render_map(docs, as_json=True))
    (doc,) = data["documents"]
    assert doc["entrypoint"] == "main"
    assert [t["name"] for t in doc["templates"]] == ["main", "inner", "say"]
    assert [(t["name"], t["group"], t["calls"]) for t in doc["tasks"]][:2] == [
        ("prepare", 0, "say"),
        ("left", 1, "say"),
    ]
    assert doc["steps"] == [
        {
            "name": "main",
            "index": 0,
            "path": fixture("nested-steps.yaml"),
            "line": 41,
            "endLine": 43,
            "column": 7,
        }
    ]
