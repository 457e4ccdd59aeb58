"""Canonical and end lines of steps, pipeline tasks and documents on inline YAML."""

from __future__ import annotations

from dap_server.sources import parse_text

from .helpers import TASK_HEAD, one, parse, pipeline_of, step_lines, task_of, task_steps


def test_block_steps_include_script_body_but_not_trailing_blanks_or_comments() -> None:
    assert task_steps(
        """\
          steps:
            - name: build
              image: alpine
              script: |
                #!/bin/sh
                echo building

            # a comment about the next step

            - name: test
              image: alpine
              script: |
                echo testing
            # trailing comment, not part of the step

        """
    ) == [("build", 7, 11, 5), ("test", 15, 18, 5)]


def test_comment_like_lines_inside_a_script_are_content() -> None:
    # The last script line starts with `#`: it is part of the script, not a YAML comment.
    assert task_steps(
        """\
          steps:
            - name: a
              image: alpine
              script: |
                echo a
                # done
            # yaml comment
            - name: b
              image: alpine
              script: "echo b
                # still inside the quotes"
        """
    ) == [("a", 7, 11, 5), ("b", 13, 16, 5)]


def test_dash_on_its_own_line_is_the_canonical_line() -> None:
    assert task_steps(
        """\
          steps:
            -
              name: a
              image: alpine
            -   # a comment after the dash
              name: b
              image: alpine
            - name: c
              image: alpine
        """
    ) == [("a", 7, 9, 5), ("b", 10, 12, 5), ("c", 13, 14, 5)]


def test_indentless_sequence_and_nested_lists() -> None:
    assert task_steps(
        """\
          steps:
          - name: a
            image: alpine
            args:
              - one
              - two
          - name: b
            image: alpine
            command: [echo,
              hello]
        """
    ) == [("a", 7, 11, 3), ("b", 12, 15, 3)]


def test_flow_style_steps_use_the_brace_line_and_column() -> None:
    assert task_steps(
        """\
          steps: [{name: a, image: alpine, script: echo a},
            {name: b,
             image: alpine}]
        """
    ) == [("a", 6, 6, 11), ("b", 7, 8, 5)]


def test_block_item_in_flow_style_uses_the_dash() -> None:
    assert task_steps(
        """\
          steps:
            - {name: a, image: alpine}
            - {name: b,
               image: alpine}
        """
    ) == [("a", 7, 7, 5), ("b", 8, 9, 5)]


def test_anchor_alias_and_merge_key() -> None:
    assert task_steps(
        """\
          steps:
            - &base
              name: a
              image: &img alpine
            - name: b
              image: *img
            - <<: *base
              name: c
            -
              <<: *base
              name: d
              script: echo d
        """
    ) == [("a", 7, 9, 5), ("b", 10, 11, 5), ("c", 12, 13, 5), ("d", 14, 17, 5)]


def test_merge_key_supplies_the_image() -> None:
    steps = task_of(
        one(
            TASK_HEAD
            + """\
  steps:
    - &base {name: a, image: alpine}
    - <<: *base
      name: b
"""
        )
    ).steps
    assert [s.name for s in steps] == ["a", "b"]
    assert steps[1].data()["image"] == "alpine"


def test_alias_items_are_placed_where_the_alias_is_written() -> None:
    doc = one(
        """\
        apiVersion: tekton.dev/v1
        kind: Pipeline
        metadata:
          name: p
        spec:
          tasks:
            - &shared
              name: one
              taskRef: {name: x}
          finally:
            # the same mapping again, by alias (names clash: see test_errors)
            - name: two
              taskRef: *ref
        """.replace("taskRef: {name: x}", "taskRef: &ref {name: x}")
    )
    tasks = pipeline_of(doc).all_tasks()
    assert [(t.name, t.span.line, t.span.end_line, t.is_finally) for t in tasks] == [
        ("one", 7, 9, False),
        ("two", 12, 13, True),
    ]
    ref = tasks[1].task_ref
    assert ref is not None and ref.name == "x"


def test_a_sequence_item_that_is_an_alias() -> None:
    doc = one(
        """\
        apiVersion: tekton.dev/v1
        kind: Task
        metadata:
          name: t
        spec:
          stepTemplate: {image: alpine}
          sidecars:
            - &helper
              name: helper
              script: echo help
          steps:
            - name: first
              script: echo first

            - *helper
            - name: last
              script: echo last
        """
    )
    assert step_lines(task_of(doc).steps) == [
        ("first", 12, 13, 5),
        ("helper", 15, 15, 5),
        ("last", 16, 17, 5),
    ]


def test_end_of_file_without_newline() -> None:
    text = TASK_HEAD + "  steps:\n    - name: a\n      image: x\n      script: |\n        echo a"
    doc = parse_text("t.yaml", text)[0]
    assert step_lines(task_of(doc).steps) == [("a", 7, 10, 5)]
    assert (doc.span.line, doc.span.end_line) == (1, 10)


def test_crlf_line_endings() -> None:
    text = (
        TASK_HEAD + "  steps:\n    - name: a\n      image: x\n      script: |\n        echo a\n\n"
        "    - name: b\n      image: x\n"
    ).replace("\n", "\r\n")
    assert step_lines(task_of(parse_text("t.yaml", text)[0]).steps) == [("a", 7, 10, 5), ("b", 12, 13, 5)]


def test_folded_strip_scalar_and_trailing_blank_lines() -> None:
    assert task_steps(
        """\
          steps:
            - name: a
              image: alpine
              script: >-
                echo folded
                text


            # c
        """
    ) == [("a", 7, 11, 5)]


def test_unnamed_steps_get_tekton_labels() -> None:
    steps = task_of(one(TASK_HEAD + "  steps:\n    - image: a\n    - image: b\n      name: named\n")).steps
    assert [(s.name, s.label, s.index) for s in steps] == [("", "unnamed-0", 0), ("named", "named", 1)]


def test_multi_document_spans_skip_separators_comments_and_other_documents() -> None:
    docs = parse(
        """\
        # header comment
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cm}
        data: {a: b}
        ---
        # leading comment of the Task
        apiVersion: tekton.dev/v1beta1
        kind: Task
        metadata:
          name: beta
        spec:
          steps:
            - name: s
              image: alpine
        # trailing comment of the Task

        ---
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: wf-}
        spec: {}
        ---
        apiVersion: tekton.dev/v1
        kind: Pipeline
        metadata: {name: p}
        spec:
          tasks:
            - name: use-beta
              taskRef:
                name: beta
        ...
        """
    )
    assert [(d.key, d.index, d.api_version, d.span.line, d.span.end_line) for d in docs] == [
        ("Task/beta", 1, "tekton.dev/v1beta1", 9, 16),
        ("Pipeline/p", 4, "tekton.dev/v1", 26, 33),
    ]
    assert step_lines(task_of(docs[0]).steps) == [("s", 15, 16, 5)]
    assert [(t.name, t.span.line, t.span.end_line) for t in pipeline_of(docs[1]).tasks] == [("use-beta", 31, 33)]


def test_pipeline_tasks_finally_and_embedded_task_spec() -> None:
    doc = one(
        """\
        apiVersion: tekton.dev/v1
        kind: Pipeline
        metadata:
          name: p
        spec:
          tasks:
            - name: inline
              params:
                - name: x
                  value: y
              taskSpec:
                steps:
                  - name: one
                    image: alpine
                    script: |
                      echo one

                  - name: two
                    image: alpine
                    script: echo two
              # comment after the task
            - name: by-ref
              runAfter: [inline]
              taskRef:
                name: other
                kind: ClusterTask
          finally:
            - name: cleanup
              taskRef: {name: other}
        """
    )
    pipeline = pipeline_of(doc)
    assert [(t.name, t.span.line, t.span.end_line, t.span.column, t.is_finally) for t in pipeline.all_tasks()] == [
        ("inline", 7, 20, 5, False),
        ("by-ref", 22, 26, 5, False),
        ("cleanup", 28, 29, 5, True),
    ]
    inline = pipeline.tasks[0]
    assert inline.task is not None and inline.task_ref is None
    assert (inline.task.name, inline.task.span.line, inline.task.span.end_line) == ("inline", 12, 20)
    assert step_lines(inline.task.steps) == [("one", 13, 16, 11), ("two", 18, 20, 11)]
    assert inline.task.document is doc
    assert all(s.spec is inline.task for s in inline.task.steps)
    assert all(t.pipeline is pipeline for t in pipeline.all_tasks())
    ref = pipeline.tasks[1].task_ref
    assert ref is not None and (ref.kind, ref.name, ref.span.line, ref.span.end_line) == (
        "ClusterTask",
        "other",
        25,
        26,
    )


def test_taskrun_and_pipelinerun_with_embedded_specs() -> None:
    docs = parse(
        """\
        apiVersion: tekton.dev/v1
        kind: TaskRun
        metadata:
          generateName: run-
        spec:
          taskSpec:
            steps:
              - name: s
                image: alpine
        ---
        apiVersion: tekton.dev/v1beta1
        kind: PipelineRun
        metadata:
          name: pr
        spec:
          pipelineSpec:
            tasks:
              - name: t
                taskSpec:
                  steps:
                    - {name: deep, image: alpine}
        """
    )
    taskrun, pipelinerun = docs
    assert taskrun.key == "TaskRun/run-" and taskrun.task_ref is None
    assert step_lines(task_of(taskrun).steps) == [("s", 8, 9, 7)]
    assert (task_of(taskrun).span.line, task_of(taskrun).span.end_line) == (7, 9)
    pipeline = pipeline_of(pipelinerun)
    assert pipeline.name == "pr" and pipeline.document is pipelinerun
    assert (pipeline.span.line, pipeline.span.end_line) == (17, 21)
    task = pipeline.tasks[0]
    assert task.task is not None and step_lines(task.task.steps) == [("deep", 21, 21, 13)]


def test_refs_of_runs() -> None:
    docs = parse(
        """\
        apiVersion: tekton.dev/v1
        kind: TaskRun
        metadata: {name: tr}
        spec:
          taskRef: {name: build}
        ---
        apiVersion: tekton.dev/v1
        kind: PipelineRun
        metadata: {name: pr}
        spec:
          pipelineRef:
            resolver: git
            params:
              - {name: url, value: https://example.com/x.git}
        """
    )
    assert docs[0].task_ref is not None and docs[0].task_ref.key == "Task/build"
    assert docs[0].task is None
    ref = docs[1].pipeline_ref
    assert ref is not None and (ref.kind, ref.name, ref.resolver) == ("Pipeline", "", "git")
    assert (ref.span.line, ref.span.end_line) == (12, 14)


def test_data_is_constructed_lazily_with_merges() -> None:
    doc = one(
        TASK_HEAD
        + """\
  params: [{name: p, default: "1"}]
  steps:
    - &s {name: a, image: alpine, env: [{name: X, value: "1"}]}
    - <<: *s
      name: b
"""
    )
    steps = task_of(doc).steps
    assert steps[1].data() == {"name": "b", "image": "alpine", "env": [{"name": "X", "value": "1"}]}
    assert doc.data()["metadata"] == {"name": "t"}
    assert task_of(doc).data()["params"] == [{"name": "p", "default": "1"}]
