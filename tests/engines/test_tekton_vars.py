"""Tekton variable substitution: a table of forms, array expansion, what is left alone."""

from __future__ import annotations

import pytest

from dap_server.sources.tekton_vars import (
    Reference,
    find_references,
    lookup,
    reference_at,
    substitute,
    substitute_args,
    substitute_value,
)

VALUES = {
    "params.x": "ex",
    "params.dotted.name": "dot",
    "params.arr": ["a", "b c"],
    "params.empty": [],
    "params.obj": {"key": "kv", "other": "ov"},
    "results.r.path": "/t/results/r",
    "workspaces.w.path": "/ws/w",
    "workspaces.w.bound": "true",
    "workspaces.w.claim": "",
    "workspaces.w.volume": "ws-w",
    "context.taskRun.name": "run-1",
    "context.taskRun.namespace": "default",
    "context.pipelineRun.name": "pr-1",
    "context.pipeline.name": "pipe",
    "context.task.name": "task",
    "context.task.retry-count": "0",
    "tasks.build.results.digest": "sha",
    "tasks.build.results.list": ["l0", "l1"],
    "tasks.build.results.obj": {"k": "ok"},
    "tasks.status": "Succeeded",
    "tasks.build.status": "Failed",
    "steps.step-x.exitCode.path": "/t/steps/step-x/exitCode",
    "step.results.sr.path": "/t/steps/step-me/results/sr",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(params.x)", "ex"),
        ("$(params['x'])", "ex"),
        ('$(params["x"])', "ex"),
        ("$(params['dotted.name'])", "dot"),
        ("$(params.arr[0])-$(params.arr[1])", "a-b c"),
        ("$(params.obj.key)", "kv"),
        ("$(params.obj['other'])", "ov"),
        ("cat $(results.r.path)", "cat /t/results/r"),
        ("$(workspaces.w.path)/src", "/ws/w/src"),
        ("$(workspaces.w.bound) $(workspaces.w.claim)| $(workspaces.w.volume)", "true | ws-w"),
        ("$(context.taskRun.name)/$(context.taskRun.namespace)", "run-1/default"),
        ("$(context.pipelineRun.name) $(context.pipeline.name) $(context.task.name)", "pr-1 pipe task"),
        ("retry $(context.task.retry-count)", "retry 0"),
        ("$(tasks.build.results.digest)", "sha"),
        ("$(tasks.build.results.list[1]) $(tasks.build.results.obj.k)", "l1 ok"),
        ("$(tasks.status) $(tasks.build.status)", "Succeeded Failed"),
        ("echo $? > $(steps.step-x.exitCode.path)", "echo $? > /t/steps/step-x/exitCode"),
        ("$(step.results.sr.path)", "/t/steps/step-me/results/sr"),
        ("no references", "no references"),
        ("$(params.x)$(params.x)", "exex"),
    ],
)
def test_substitution_table(text: str, expected: str) -> None:
    assert substitute(text, VALUES) == (expected, [])


@pytest.mark.parametrize(
    "text",
    [
        "$(params.unknown)",
        "$(params.arr)",  # a whole array in a string
        "$(params.arr[*])",  # [*] only expands as a whole argument
        "$(params.arr[7])",  # out of range
        "$(params.obj)",
        "$(params.obj.missing)",
        "$(params.x[0])",  # index into a string
        "$(tasks.other.results.r)",
        "$(context.pipelineRun.uid)",
    ],
)
def test_unresolvable_references_stay_as_written_and_are_reported(text: str) -> None:
    result, unresolved = substitute(f"a {text} b", VALUES)
    assert result == f"a {text} b"
    assert [r.text for r in unresolved] == [text]


@pytest.mark.parametrize(
    "text",
    ["$(date +%s)", "$(cat $FILE)", "$((1 + 2))", "$(params)", "$(paramsx.y)", "$(env.HOME)", "${params.x}"],
)
def test_shell_and_other_text_is_not_a_reference(text: str) -> None:
    assert find_references(text) == []
    assert substitute(text, VALUES) == (text, [])


def test_references_carry_positions_and_parsed_parts() -> None:
    text = "x $(params['a.b'][2]) y $(tasks.t.results.r[*])"
    refs = find_references(text)
    assert refs == [
        Reference(2, 21, "params['a.b'][2]", ("params", "a.b", 2)),
        Reference(24, 47, "tasks.t.results.r[*]", ("tasks", "t", "results", "r", "*")),
    ]
    assert [text[r.start : r.end] for r in refs] == ["$(params['a.b'][2])", "$(tasks.t.results.r[*])"]
    assert reference_at(text, 5) == refs[0]
    assert reference_at(text, 22) is None


def test_whole_array_args_expand_into_separate_args() -> None:
    args, unresolved = substitute_args(
        [
            "run",
            "$(params.arr[*])",
            "--x=$(params.x)",
            "$(tasks.build.results.list[*])",
            "$(params.empty[*])",
        ],
        VALUES,
    )
    assert args == ["run", "a", "b c", "--x=ex", "l0", "l1"]
    assert unresolved == []


def test_array_inside_a_longer_arg_is_not_expanded() -> None:
    args, unresolved = substitute_args(["--items=$(params.arr[*])", "$(params.nope[*])"], VALUES)
    assert args == ["--items=$(params.arr[*])", "$(params.nope[*])"]
    assert [r.expr for r in unresolved] == ["params.arr[*]", "params.nope[*]"]


def test_param_values_as_written_in_runs_and_pipeline_tasks() -> None:
    assert substitute_value("$(params.x)-v", VALUES) == ("ex-v", [])
    assert substitute_value("$(params.arr[*])", VALUES) == (["a", "b c"], [])
    assert substitute_value("$(params.obj[*])", VALUES) == ({"key": "kv", "other": "ov"}, [])
    assert substitute_value(["$(params.arr[*])", "z", 3, True], VALUES) == (
        ["a", "b c", "z", "3", "true"],
        [],
    )
    assert substitute_value({"k": "$(params.x)", "n": 1}, VALUES) == ({"k": "ex", "n": "1"}, [])
    assert substitute_value(False, VALUES) == ("false", [])


def test_lookup_for_hover() -> None:
    assert lookup("params.arr", VALUES) == ["a", "b c"]
    assert lookup("params.arr[*]", VALUES) == ["a", "b c"]
    assert lookup("params.obj.key", VALUES) == "kv"
    assert lookup("tasks.build.results.digest", VALUES) == "sha"
    assert lookup("params.nope", VALUES) is None
    assert lookup("not a reference", VALUES) is None
