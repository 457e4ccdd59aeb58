"""`pipeline-dap map` output: the text tree and the JSON structure."""

from __future__ import annotations

import contextlib
import json

from dap_server.sources import SourceError, SourceSet, render_map

from .helpers import FIXTURES

BUILD = FIXTURES / "build-pipeline"


def test_text_of_a_resolved_pipeline_run() -> None:
    sources = SourceSet([str(BUILD)])
    run = sources.resolve(sources.select(str(BUILD / "run.yaml")))
    assert render_map([run], as_json=False) == (
        "PipelineRun/build-and-test-run-  run.yaml:2-18 -> Pipeline/build-and-test pipeline.yaml:4-84\n"
        "  task fetch  pipeline.yaml:30-38 -> Task/git-clone tasks/git-clone.yaml:3-42\n"
        "    step clone  tasks/git-clone.yaml:21-34\n"
        "    step commit  tasks/git-clone.yaml:35-42\n"
        "  task build  pipeline.yaml:40-50 -> Task/build tasks/build.yaml:2-48\n"
        "    step compile  tasks/build.yaml:26-34\n"
        "    step package  tasks/build.yaml:35-41\n"
        "    step digest  tasks/build.yaml:42-48\n"
        "  task lint  pipeline.yaml:52-62 -> Task/lint tasks/lint.yaml:1-22\n"
        "    step style  tasks/lint.yaml:9-22\n"
        "  task test  pipeline.yaml:64-75 -> Task/unit-test tasks/unit-test.yaml:2-28\n"
        "    step check-digest  tasks/unit-test.yaml:16-23\n"
        "    step run-tests  tasks/unit-test.yaml:24-28\n"
        "  finally report  pipeline.yaml:77-84 -> Task/report tasks/report.yaml:1-19\n"
        "    step summary  tasks/report.yaml:14-19\n"
    )


def test_text_of_a_multi_document_file_with_embedded_specs() -> None:
    sources = SourceSet([str(FIXTURES)])
    docs = sources.documents(str(FIXTURES / "multi-doc.yaml"))
    for doc in docs:
        sources.resolve(doc)
    text = render_map(docs, as_json=False)
    assert text.startswith(
        "Task/prepare  multi-doc.yaml:4-20\n"
        "  step hello  multi-doc.yaml:10-14\n"
        "  step stamp  multi-doc.yaml:16-20\n"
        "Task/check  multi-doc.yaml:24-30\n"
        "  step quick  multi-doc.yaml:30-30\n"
    )
    assert text.endswith(
        "  task inline  multi-doc.yaml:60-68\n"
        "    step inline-step  multi-doc.yaml:64-68\n"
        "  finally finish  multi-doc.yaml:70-70 -> Task/finish multi-doc.yaml:32-46\n"
        "    step first  multi-doc.yaml:38-42\n"
        "    step merged  multi-doc.yaml:43-46\n"
    )


def test_unresolved_refs_are_shown_not_raised() -> None:
    sources = SourceSet([str(FIXTURES / "bad")])
    (doc,) = sources.documents(str(FIXTURES / "bad" / "unknown-ref.yaml"))
    with contextlib.suppress(SourceError):  # what the CLI does: resolve strictly, report, render
        sources.resolve(doc)
    text = render_map([doc], as_json=False)
    assert text.startswith(
        "Pipeline/unknown-ref  unknown-ref.yaml:1-9\n"
        "  task clone  unknown-ref.yaml:7-9 -> Task/git-clonee "
        '(unresolved: taskRef: Task "git-clonee" not found in '
    )
    data = json.loads(render_map([doc], as_json=True))
    ref = data["documents"][0]["tasks"][0]["ref"]
    assert (ref["kind"], ref["name"], ref["resolved"], ref["target"], ref["line"]) == (
        "Task",
        "git-clonee",
        False,
        None,
        9,
    )
    assert ref["error"].startswith('taskRef: Task "git-clonee" not found')
    # never resolved at all
    (fresh,) = SourceSet([]).documents(str(FIXTURES / "bad" / "unknown-ref.yaml"))
    assert "-> Task/git-clonee (unresolved: not resolved)" in render_map([fresh], as_json=False)


def test_json_structure() -> None:
    sources = SourceSet([str(FIXTURES)])
    docs = sources.documents(str(FIXTURES / "multi-doc.yaml"))
    for doc in docs:
        sources.resolve(doc)
    docs += sources.documents(str(FIXTURES / "taskrun-embedded.yaml"))
    data = json.loads(render_map(docs, as_json=True))
    multi = str(FIXTURES / "multi-doc.yaml")
    assert [d["kind"] + "/" + d["name"] for d in data["documents"]] == [
        "Task/prepare",
        "Task/check",
        "Task/finish",
        "Pipeline/multi",
        "TaskRun/embedded-run",
    ]
    check = data["documents"][1]
    assert check == {
        "kind": "Task",
        "name": "check",
        "apiVersion": "tekton.dev/v1beta1",
        "path": multi,
        "line": 24,
        "endLine": 30,
        "ref": None,
        "spec": None,
        "tasks": [],
        "steps": [{"name": "quick", "index": 0, "path": multi, "line": 30, "endLine": 30, "column": 11}],
    }
    tasks = data["documents"][3]["tasks"]
    assert tasks[1] == {
        "name": "check",
        "finally": False,
        "path": multi,
        "line": 56,
        "endLine": 59,
        "column": 5,
        "ref": {
            "kind": "Task",
            "name": "check",
            "resolver": None,
            "path": multi,
            "line": 59,
            "endLine": 59,
            "resolved": True,
            "error": None,
            "target": {"kind": "Task", "name": "check", "path": multi, "line": 24, "endLine": 30},
        },
        "spec": None,
        "steps": [{"name": "quick", "index": 0, "path": multi, "line": 30, "endLine": 30, "column": 11}],
    }
    assert (tasks[2]["name"], tasks[2]["ref"], tasks[2]["spec"]) == (
        "inline",
        None,
        {"path": multi, "line": 63, "endLine": 68},
    )
    assert (tasks[3]["name"], tasks[3]["finally"]) == ("finish", True)
    taskrun = data["documents"][4]
    assert (taskrun["ref"], taskrun["spec"], taskrun["tasks"]) == (
        None,
        {"path": str(FIXTURES / "taskrun-embedded.yaml"), "line": 11, "endLine": 28},
        [],
    )
    assert [s["name"] for s in taskrun["steps"]] == ["hello", "measure"]
