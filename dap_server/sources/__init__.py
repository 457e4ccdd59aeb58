"""The source map: pipeline YAML documents to runs, tasks and steps with exact lines.

Public API (other layers use exactly these names):

- `parse_text(path, text)` / `load_file(path)`: one file's documents;
- `SourceSet(search_paths)`: documents across files, `find`, `resolve`, `select`, `files_of`;
- `locate(path, line)` / `breakpoint_locations(path, line, end_line)`: where a breakpoint binds;
- `render_map(docs, as_json)`: the output of `pipeline-dap map`.
"""

from .files import load_file, parse_text
from .locate import Miss, StepTarget, TaskTarget, breakpoint_locations, locate
from .model import (
    RUNNABLE_KINDS,
    Document,
    PipelineSpec,
    PipelineTask,
    Ref,
    SourceError,
    Span,
    Step,
    TaskSpec,
    construct,
)
from .render import render_map
from .sourceset import SourceSet

__all__ = [
    "RUNNABLE_KINDS",
    "Document",
    "Miss",
    "PipelineSpec",
    "PipelineTask",
    "Ref",
    "SourceError",
    "SourceSet",
    "Span",
    "Step",
    "StepTarget",
    "TaskSpec",
    "TaskTarget",
    "breakpoint_locations",
    "construct",
    "load_file",
    "locate",
    "parse_text",
    "render_map",
]
