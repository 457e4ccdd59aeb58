"""What this adapter announces in its `initialize` response: only what it really does."""

from __future__ import annotations

from dap_server.protocol import models as m

ON_FAILURE = "onFailure"


def capabilities() -> m.Capabilities:
    return m.Capabilities(
        supports_configuration_done_request=True,
        supports_conditional_breakpoints=True,
        supports_hit_conditional_breakpoints=True,
        supports_log_points=True,
        supports_breakpoint_locations_request=True,
        supports_evaluate_for_hovers=True,
        supports_set_variable=True,
        supports_exception_info_request=True,
        supports_terminate_request=True,
        support_terminate_debuggee=True,
        supports_restart_request=True,
        supports_single_thread_execution_requests=True,
        exception_breakpoint_filters=[
            m.ExceptionBreakpointsFilter(
                filter=ON_FAILURE,
                label="Step failed",
                description="Stop when a step exits non-zero, before its failure is reported",
                default=False,
            )
        ],
        breakpoint_modes=[
            m.BreakpointMode(
                mode="before",
                label="Before step",
                description="Stop before the step runs",
                applies_to=["source"],
            ),
            m.BreakpointMode(
                mode="after",
                label="After step",
                description="Stop after the step ran, before the next one starts",
                applies_to=["source"],
            ),
        ],
    )
