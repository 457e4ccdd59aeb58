"""Pydantic v2 models of the Debug Adapter Protocol messages this server uses.

Class names are exactly the schema's definition names (`Source`, `StackFrame`,
`SetBreakpointsArguments`...). Response and event bodies, which the schema defines
inline, are named `XxxResponseBody` / `XxxEventBody`. Python fields are snake_case
with camelCase aliases; serialise with `to_dict()` (by alias, `None` dropped).

The classes were first generated from `debugAdapterProtocol.json` (DAP 1.71) and are
kept in step with it by `tests/protocol/test_models_schema.py`, which checks every
field's name, type and requiredness against the schema.

- Argument models (`XxxArguments`) keep unknown keys (`model_extra`): clients send
  extras, and the launch/attach configuration is ours.
- Every other model ignores unknown keys when parsing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "AttachRequestArguments",
    "Breakpoint",
    "BreakpointEventBody",
    "BreakpointLocation",
    "BreakpointLocationsArguments",
    "BreakpointLocationsResponseBody",
    "BreakpointMode",
    "BreakpointModeApplicability",
    "CancelArguments",
    "Capabilities",
    "CapabilitiesEventBody",
    "Checksum",
    "ChecksumAlgorithm",
    "ColumnDescriptor",
    "CompletionItem",
    "CompletionItemType",
    "CompletionsArguments",
    "CompletionsResponseBody",
    "ConfigurationDoneArguments",
    "ContinueArguments",
    "ContinueResponseBody",
    "ContinuedEventBody",
    "DapArguments",
    "DapModel",
    "DisconnectArguments",
    "ErrorResponseBody",
    "EvaluateArguments",
    "EvaluateResponseBody",
    "Event",
    "ExceptionBreakMode",
    "ExceptionBreakpointsFilter",
    "ExceptionDetails",
    "ExceptionFilterOptions",
    "ExceptionInfoArguments",
    "ExceptionInfoResponseBody",
    "ExceptionOptions",
    "ExceptionPathSegment",
    "ExitedEventBody",
    "InitializeRequestArguments",
    "InvalidatedAreas",
    "InvalidatedEventBody",
    "LaunchRequestArguments",
    "LoadedSourceEventBody",
    "LoadedSourcesArguments",
    "LoadedSourcesResponseBody",
    "Message",
    "Module",
    "NextArguments",
    "OutputEventBody",
    "PauseArguments",
    "ProcessEventBody",
    "ProgressEndEventBody",
    "ProgressStartEventBody",
    "ProgressUpdateEventBody",
    "ProtocolMessage",
    "Request",
    "Response",
    "RestartArguments",
    "RunInTerminalRequestArguments",
    "RunInTerminalResponseBody",
    "Scope",
    "ScopesArguments",
    "ScopesResponseBody",
    "SetBreakpointsArguments",
    "SetBreakpointsResponseBody",
    "SetExceptionBreakpointsArguments",
    "SetExceptionBreakpointsResponseBody",
    "SetExpressionArguments",
    "SetExpressionResponseBody",
    "SetVariableArguments",
    "SetVariableResponseBody",
    "Source",
    "SourceArguments",
    "SourceBreakpoint",
    "SourceResponseBody",
    "StackFrame",
    "StackFrameFormat",
    "StackTraceArguments",
    "StackTraceResponseBody",
    "StartDebuggingRequestArguments",
    "StepInArguments",
    "StepInTarget",
    "StepInTargetsArguments",
    "StepInTargetsResponseBody",
    "StepOutArguments",
    "SteppingGranularity",
    "StoppedEventBody",
    "TerminateArguments",
    "TerminateThreadsArguments",
    "TerminatedEventBody",
    "Thread",
    "ThreadEventBody",
    "ThreadsResponseBody",
    "ValueFormat",
    "Variable",
    "VariablePresentationHint",
    "VariablesArguments",
    "VariablesResponseBody",
]


class DapModel(BaseModel):
    """Base of every DAP model: snake_case fields, camelCase on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_dict(self) -> dict[str, Any]:
        """The wire form: camelCase keys, `None` fields left out, JSON-compatible values."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class DapArguments(DapModel):
    """Base of request argument models: unknown keys are kept (see `model_extra`)."""

    model_config = ConfigDict(extra="allow")


ChecksumAlgorithm = Literal["MD5", "SHA1", "SHA256", "timestamp"]
BreakpointModeApplicability = str  # open enumeration: source, exception, data, instruction
SteppingGranularity = Literal["statement", "line", "instruction"]
ExceptionBreakMode = Literal["never", "always", "unhandled", "userUnhandled"]
CompletionItemType = Literal[
    "method",
    "function",
    "constructor",
    "field",
    "variable",
    "class",
    "interface",
    "module",
    "property",
    "unit",
    "value",
    "enum",
    "keyword",
    "snippet",
    "text",
    "color",
    "file",
    "reference",
    "customcolor",
]
InvalidatedAreas = str  # open enumeration: all, stacks, threads, variables


class ProtocolMessage(DapModel):
    """Base class of requests, responses, and events."""

    seq: int = Field(..., ge=1)
    type: str


class Request(ProtocolMessage):
    """A client or debug adapter initiated request."""

    type: Literal["request"]
    command: str
    arguments: Any = None


class Response(ProtocolMessage):
    """Response for a request."""

    type: Literal["response"]
    request_seq: int = Field(..., validation_alias="request_seq", serialization_alias="request_seq", ge=1)
    success: bool
    command: str
    message: str | None = None
    body: Any = None


class Event(ProtocolMessage):
    """A debug adapter initiated event."""

    type: Literal["event"]
    event: str
    body: Any = None


class Checksum(DapModel):
    """The checksum of an item calculated by the specified algorithm."""

    algorithm: ChecksumAlgorithm
    checksum: str


class Source(DapModel):
    """A `Source` is a descriptor for source code."""

    name: str | None = None
    path: str | None = None
    source_reference: int | None = Field(default=None, ge=0)
    presentation_hint: Literal["normal", "emphasize", "deemphasize"] | None = None
    origin: str | None = None
    sources: list[Source] | None = None
    adapter_data: Any = None
    checksums: list[Checksum] | None = None


class SourceBreakpoint(DapModel):
    """Properties of a breakpoint or logpoint passed to the `setBreakpoints` request."""

    line: int
    column: int | None = None
    condition: str | None = None
    hit_condition: str | None = None
    log_message: str | None = None
    mode: str | None = None


class Breakpoint(DapModel):
    """Information about a breakpoint created in `setBreakpoints` (and the other set*Breakpoints)."""

    id: int | None = None
    verified: bool
    message: str | None = None
    source: Source | None = None
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    instruction_reference: str | None = None
    offset: int | None = Field(default=None, ge=-9007199254740991)
    reason: Literal["pending", "failed"] | None = None


class BreakpointLocation(DapModel):
    """Properties of a breakpoint location returned from the `breakpointLocations` request."""

    line: int
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None


class BreakpointMode(DapModel):
    """A `BreakpointMode` is provided as a option when setting breakpoints on sources or instructions."""

    mode: str
    label: str
    description: str | None = None
    applies_to: list[BreakpointModeApplicability]


class ColumnDescriptor(DapModel):
    """What module attribute to show in a column of the modules view, and how."""

    attribute_name: str
    label: str
    format: str | None = None
    type: Literal["string", "number", "boolean", "unixTimestampUTC"] | None = None
    width: int | None = None


class ExceptionBreakpointsFilter(DapModel):
    """A filter option shown in the UI for configuring how exceptions are dealt with."""

    filter: str
    label: str
    description: str | None = None
    default: bool | None = None
    supports_condition: bool | None = None
    condition_description: str | None = None


class Capabilities(DapModel):
    """Information about the capabilities of a debug adapter."""

    supports_configuration_done_request: bool | None = None
    supports_function_breakpoints: bool | None = None
    supports_conditional_breakpoints: bool | None = None
    supports_hit_conditional_breakpoints: bool | None = None
    supports_evaluate_for_hovers: bool | None = None
    exception_breakpoint_filters: list[ExceptionBreakpointsFilter] | None = None
    supports_step_back: bool | None = None
    supports_set_variable: bool | None = None
    supports_restart_frame: bool | None = None
    supports_goto_targets_request: bool | None = None
    supports_step_in_targets_request: bool | None = None
    supports_completions_request: bool | None = None
    completion_trigger_characters: list[str] | None = None
    supports_modules_request: bool | None = None
    additional_module_columns: list[ColumnDescriptor] | None = None
    supported_checksum_algorithms: list[ChecksumAlgorithm] | None = None
    supports_restart_request: bool | None = None
    supports_exception_options: bool | None = None
    supports_value_formatting_options: bool | None = None
    supports_exception_info_request: bool | None = None
    support_terminate_debuggee: bool | None = None
    support_suspend_debuggee: bool | None = None
    supports_delayed_stack_trace_loading: bool | None = None
    supports_loaded_sources_request: bool | None = None
    supports_log_points: bool | None = None
    supports_terminate_threads_request: bool | None = None
    supports_set_expression: bool | None = None
    supports_terminate_request: bool | None = None
    supports_data_breakpoints: bool | None = None
    supports_read_memory_request: bool | None = None
    supports_write_memory_request: bool | None = None
    supports_disassemble_request: bool | None = None
    supports_cancel_request: bool | None = None
    supports_breakpoint_locations_request: bool | None = None
    supports_clipboard_context: bool | None = None
    supports_stepping_granularity: bool | None = None
    supports_instruction_breakpoints: bool | None = None
    supports_exception_filter_options: bool | None = None
    supports_single_thread_execution_requests: bool | None = None
    supports_data_breakpoint_bytes: bool | None = None
    breakpoint_modes: list[BreakpointMode] | None = None
    supports_ansi_styling: bool | None = Field(
        default=None, validation_alias="supportsANSIStyling", serialization_alias="supportsANSIStyling"
    )


class Message(DapModel):
    """A structured message object. Used to return errors from requests."""

    id: int
    format: str
    variables: dict[str, str] | None = None
    send_telemetry: bool | None = None
    show_user: bool | None = None
    url: str | None = None
    url_label: str | None = None


class Thread(DapModel):
    """A Thread"""

    id: int
    name: str


class StackFrame(DapModel):
    """A Stackframe contains the source location."""

    id: int
    name: str
    source: Source | None = None
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None
    can_restart: bool | None = None
    instruction_pointer_reference: str | None = None
    module_id: int | str | None = None
    presentation_hint: Literal["normal", "label", "subtle"] | None = None


class VariablePresentationHint(DapModel):
    """Properties of a variable that can be used to determine how to render the variable in the UI."""

    kind: str | None = None
    attributes: list[str] | None = None
    visibility: str | None = None
    lazy: bool | None = None


class Scope(DapModel):
    """A named container for variables, optionally mapped to a source range."""

    name: str
    presentation_hint: str | None = None
    variables_reference: int = Field(..., ge=0)
    named_variables: int | None = Field(default=None, ge=0)
    indexed_variables: int | None = Field(default=None, ge=0)
    expensive: bool
    source: Source | None = None
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None


class Variable(DapModel):
    """A Variable is a name/value pair."""

    name: str
    value: str
    type: str | None = None
    presentation_hint: VariablePresentationHint | None = None
    evaluate_name: str | None = None
    variables_reference: int = Field(..., ge=0)
    named_variables: int | None = Field(default=None, ge=0)
    indexed_variables: int | None = Field(default=None, ge=0)
    memory_reference: str | None = None
    declaration_location_reference: int | None = None
    value_location_reference: int | None = None


class ValueFormat(DapModel):
    """Provides formatting information for a value."""

    hex: bool | None = None


class StackFrameFormat(ValueFormat):
    """Provides formatting information for a stack frame."""

    parameters: bool | None = None
    parameter_types: bool | None = None
    parameter_names: bool | None = None
    parameter_values: bool | None = None
    line: bool | None = None
    module: bool | None = None
    include_all: bool | None = None


class ExceptionPathSegment(DapModel):
    """A segment of a path matching leafs or nodes in a tree of exceptions."""

    negate: bool | None = None
    names: list[str]


class ExceptionOptions(DapModel):
    """An `ExceptionOptions` assigns configuration options to a set of exceptions."""

    path: list[ExceptionPathSegment] | None = None
    break_mode: ExceptionBreakMode


class ExceptionFilterOptions(DapModel):
    """An exception filter with a condition, for the `setExceptionBreakpoints` request."""

    filter_id: str
    condition: str | None = None
    mode: str | None = None


class ExceptionDetails(DapModel):
    """Detailed information about an exception that has occurred."""

    message: str | None = None
    type_name: str | None = None
    full_type_name: str | None = None
    evaluate_name: str | None = None
    stack_trace: str | None = None
    inner_exception: list[ExceptionDetails] | None = None


class StepInTarget(DapModel):
    """A target the `stepIn` request can step into."""

    id: int
    label: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None


class CompletionItem(DapModel):
    """`CompletionItems` are the suggestions returned from the `completions` request."""

    label: str
    text: str | None = None
    sort_text: str | None = None
    detail: str | None = None
    type: CompletionItemType | None = None
    start: int | None = None
    length: int | None = None
    selection_start: int | None = None
    selection_length: int | None = None


class Module(DapModel):
    """A Module object represents a row in the modules view."""

    id: int | str
    name: str
    path: str | None = None
    is_optimized: bool | None = None
    is_user_code: bool | None = None
    version: str | None = None
    symbol_status: str | None = None
    symbol_file_path: str | None = None
    date_time_stamp: str | None = None
    address_range: str | None = None


class CancelArguments(DapArguments):
    """Arguments for `cancel` request."""

    request_id: int | None = Field(default=None, ge=1)
    progress_id: str | None = None


class RunInTerminalRequestArguments(DapArguments):
    """Arguments for `runInTerminal` request."""

    kind: Literal["integrated", "external"] | None = None
    title: str | None = None
    cwd: str
    args: list[str]
    env: dict[str, str | None] | None = None
    args_can_be_interpreted_by_shell: bool | None = None


class StartDebuggingRequestArguments(DapArguments):
    """Arguments for `startDebugging` request."""

    configuration: dict[str, Any]
    output_presentation: Literal["separate", "mergeWithParent"] | None = None
    request: Literal["launch", "attach"]


class InitializeRequestArguments(DapArguments):
    """Arguments for `initialize` request."""

    client_id: str | None = Field(default=None, validation_alias="clientID", serialization_alias="clientID")
    client_name: str | None = None
    adapter_id: str = Field(..., validation_alias="adapterID", serialization_alias="adapterID")
    locale: str | None = None
    lines_start_at1: bool | None = None
    columns_start_at1: bool | None = None
    path_format: str | None = None
    supports_variable_type: bool | None = None
    supports_variable_paging: bool | None = None
    supports_run_in_terminal_request: bool | None = None
    supports_memory_references: bool | None = None
    supports_progress_reporting: bool | None = None
    supports_invalidated_event: bool | None = None
    supports_memory_event: bool | None = None
    supports_args_can_be_interpreted_by_shell: bool | None = None
    supports_start_debugging_request: bool | None = None
    supports_ansi_styling: bool | None = Field(
        default=None, validation_alias="supportsANSIStyling", serialization_alias="supportsANSIStyling"
    )


class ConfigurationDoneArguments(DapArguments):
    """Arguments for `configurationDone` request."""


class LaunchRequestArguments(DapArguments):
    """Arguments for `launch` request. Additional attributes are implementation specific."""

    no_debug: bool | None = None
    restart_data: Any = Field(default=None, validation_alias="__restart", serialization_alias="__restart")


class AttachRequestArguments(DapArguments):
    """Arguments for `attach` request. Additional attributes are implementation specific."""

    restart_data: Any = Field(default=None, validation_alias="__restart", serialization_alias="__restart")


class RestartArguments(DapArguments):
    """Arguments for `restart` request."""

    arguments: LaunchRequestArguments | AttachRequestArguments | None = None


class DisconnectArguments(DapArguments):
    """Arguments for `disconnect` request."""

    restart: bool | None = None
    terminate_debuggee: bool | None = None
    suspend_debuggee: bool | None = None


class TerminateArguments(DapArguments):
    """Arguments for `terminate` request."""

    restart: bool | None = None


class BreakpointLocationsArguments(DapArguments):
    """Arguments for `breakpointLocations` request."""

    source: Source
    line: int
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None


class SetBreakpointsArguments(DapArguments):
    """Arguments for `setBreakpoints` request."""

    source: Source
    breakpoints: list[SourceBreakpoint] | None = None
    lines: list[int] | None = None
    source_modified: bool | None = None


class SetExceptionBreakpointsArguments(DapArguments):
    """Arguments for `setExceptionBreakpoints` request."""

    filters: list[str]
    filter_options: list[ExceptionFilterOptions] | None = None
    exception_options: list[ExceptionOptions] | None = None


class ContinueArguments(DapArguments):
    """Arguments for `continue` request."""

    thread_id: int
    single_thread: bool | None = None


class NextArguments(DapArguments):
    """Arguments for `next` request."""

    thread_id: int
    single_thread: bool | None = None
    granularity: SteppingGranularity | None = None


class StepInArguments(DapArguments):
    """Arguments for `stepIn` request."""

    thread_id: int
    single_thread: bool | None = None
    target_id: int | None = None
    granularity: SteppingGranularity | None = None


class StepOutArguments(DapArguments):
    """Arguments for `stepOut` request."""

    thread_id: int
    single_thread: bool | None = None
    granularity: SteppingGranularity | None = None


class PauseArguments(DapArguments):
    """Arguments for `pause` request."""

    thread_id: int


class StackTraceArguments(DapArguments):
    """Arguments for `stackTrace` request."""

    thread_id: int
    start_frame: int | None = None
    levels: int | None = None
    format: StackFrameFormat | None = None


class ScopesArguments(DapArguments):
    """Arguments for `scopes` request."""

    frame_id: int


class VariablesArguments(DapArguments):
    """Arguments for `variables` request."""

    variables_reference: int = Field(..., ge=0)
    filter: Literal["indexed", "named"] | None = None
    start: int | None = None
    count: int | None = None
    format: ValueFormat | None = None


class SetVariableArguments(DapArguments):
    """Arguments for `setVariable` request."""

    variables_reference: int = Field(..., ge=0)
    name: str
    value: str
    format: ValueFormat | None = None


class SourceArguments(DapArguments):
    """Arguments for `source` request."""

    source: Source | None = None
    source_reference: int = Field(..., ge=0)


class TerminateThreadsArguments(DapArguments):
    """Arguments for `terminateThreads` request."""

    thread_ids: list[int] | None = None


class LoadedSourcesArguments(DapArguments):
    """Arguments for `loadedSources` request."""


class EvaluateArguments(DapArguments):
    """Arguments for `evaluate` request."""

    expression: str
    frame_id: int | None = None
    line: int | None = None
    column: int | None = None
    source: Source | None = None
    context: str | None = None
    format: ValueFormat | None = None


class SetExpressionArguments(DapArguments):
    """Arguments for `setExpression` request."""

    expression: str
    value: str
    frame_id: int | None = None
    format: ValueFormat | None = None


class StepInTargetsArguments(DapArguments):
    """Arguments for `stepInTargets` request."""

    frame_id: int


class CompletionsArguments(DapArguments):
    """Arguments for `completions` request."""

    frame_id: int | None = None
    text: str
    column: int
    line: int | None = None


class ExceptionInfoArguments(DapArguments):
    """Arguments for `exceptionInfo` request."""

    thread_id: int


class ErrorResponseBody(DapModel):
    """Body of an error response (`success: false`): the schema requires it."""

    error: Message | None = None


class RunInTerminalResponseBody(DapModel):
    """Body of the `runInTerminal` response."""

    process_id: int | None = None
    shell_process_id: int | None = None


class BreakpointLocationsResponseBody(DapModel):
    """Body of the `breakpointLocations` response."""

    breakpoints: list[BreakpointLocation]


class SetBreakpointsResponseBody(DapModel):
    """Body of the `setBreakpoints` response."""

    breakpoints: list[Breakpoint]


class SetExceptionBreakpointsResponseBody(DapModel):
    """Body of the `setExceptionBreakpoints` response."""

    breakpoints: list[Breakpoint] | None = None


class ContinueResponseBody(DapModel):
    """Body of the `continue` response."""

    all_threads_continued: bool | None = None


class StackTraceResponseBody(DapModel):
    """Body of the `stackTrace` response."""

    stack_frames: list[StackFrame]
    total_frames: int | None = None


class ScopesResponseBody(DapModel):
    """Body of the `scopes` response."""

    scopes: list[Scope]


class VariablesResponseBody(DapModel):
    """Body of the `variables` response."""

    variables: list[Variable]


class SetVariableResponseBody(DapModel):
    """Body of the `setVariable` response."""

    value: str
    type: str | None = None
    variables_reference: int | None = Field(default=None, ge=0)
    named_variables: int | None = Field(default=None, ge=0)
    indexed_variables: int | None = Field(default=None, ge=0)
    memory_reference: str | None = None
    value_location_reference: int | None = None


class SourceResponseBody(DapModel):
    """Body of the `source` response."""

    content: str
    mime_type: str | None = None


class ThreadsResponseBody(DapModel):
    """Body of the `threads` response."""

    threads: list[Thread]


class LoadedSourcesResponseBody(DapModel):
    """Body of the `loadedSources` response."""

    sources: list[Source]


class EvaluateResponseBody(DapModel):
    """Body of the `evaluate` response."""

    result: str
    type: str | None = None
    presentation_hint: VariablePresentationHint | None = None
    variables_reference: int = Field(..., ge=0)
    named_variables: int | None = Field(default=None, ge=0)
    indexed_variables: int | None = Field(default=None, ge=0)
    memory_reference: str | None = None
    value_location_reference: int | None = None


class SetExpressionResponseBody(DapModel):
    """Body of the `setExpression` response."""

    value: str
    type: str | None = None
    presentation_hint: VariablePresentationHint | None = None
    variables_reference: int | None = Field(default=None, ge=0)
    named_variables: int | None = Field(default=None, ge=0)
    indexed_variables: int | None = Field(default=None, ge=0)
    memory_reference: str | None = None
    value_location_reference: int | None = None


class StepInTargetsResponseBody(DapModel):
    """Body of the `stepInTargets` response."""

    targets: list[StepInTarget]


class CompletionsResponseBody(DapModel):
    """Body of the `completions` response."""

    targets: list[CompletionItem]


class ExceptionInfoResponseBody(DapModel):
    """Body of the `exceptionInfo` response."""

    exception_id: str
    description: str | None = None
    break_mode: ExceptionBreakMode
    details: ExceptionDetails | None = None


class StoppedEventBody(DapModel):
    """Body of the `stopped` event."""

    reason: str
    description: str | None = None
    thread_id: int | None = None
    preserve_focus_hint: bool | None = None
    text: str | None = None
    all_threads_stopped: bool | None = None
    hit_breakpoint_ids: list[int] | None = None


class ContinuedEventBody(DapModel):
    """Body of the `continued` event."""

    thread_id: int
    all_threads_continued: bool | None = None


class ExitedEventBody(DapModel):
    """Body of the `exited` event."""

    exit_code: int


class TerminatedEventBody(DapModel):
    """Body of the `terminated` event."""

    restart: Any = None


class ThreadEventBody(DapModel):
    """Body of the `thread` event."""

    reason: str
    thread_id: int


class OutputEventBody(DapModel):
    """Body of the `output` event."""

    category: str | None = None
    output: str
    group: Literal["start", "startCollapsed", "end"] | None = None
    variables_reference: int | None = Field(default=None, ge=0)
    source: Source | None = None
    line: int | None = None
    column: int | None = None
    data: Any = None
    location_reference: int | None = None


class BreakpointEventBody(DapModel):
    """Body of the `breakpoint` event."""

    reason: str
    breakpoint: Breakpoint


class LoadedSourceEventBody(DapModel):
    """Body of the `loadedSource` event."""

    reason: Literal["new", "changed", "removed"]
    source: Source


class ProcessEventBody(DapModel):
    """Body of the `process` event."""

    name: str
    system_process_id: int | None = None
    is_local_process: bool | None = None
    start_method: Literal["launch", "attach", "attachForSuspendedLaunch"] | None = None
    pointer_size: int | None = None


class CapabilitiesEventBody(DapModel):
    """Body of the `capabilities` event."""

    capabilities: Capabilities


class ProgressStartEventBody(DapModel):
    """Body of the `progressStart` event."""

    progress_id: str
    title: str
    request_id: int | None = Field(default=None, ge=1)
    cancellable: bool | None = None
    message: str | None = None
    percentage: float | None = Field(default=None, ge=0)


class ProgressUpdateEventBody(DapModel):
    """Body of the `progressUpdate` event."""

    progress_id: str
    message: str | None = None
    percentage: float | None = Field(default=None, ge=0)


class ProgressEndEventBody(DapModel):
    """Body of the `progressEnd` event."""

    progress_id: str
    message: str | None = None


class InvalidatedEventBody(DapModel):
    """Body of the `invalidated` event."""

    areas: list[InvalidatedAreas] | None = None
    thread_id: int | None = None
    stack_frame_id: int | None = None
