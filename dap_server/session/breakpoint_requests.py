"""Breakpoint requests: setBreakpoints, breakpointLocations, setExceptionBreakpoints."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from dap_server.protocol import models as m
from dap_server.protocol.connection import RequestError
from dap_server.sources import breakpoint_locations
from dap_server.sources.model import Span

from .breakpoints import SourceBreakpoint
from .capabilities import ON_FAILURE

if TYPE_CHECKING:
    from .session import Session


class BreakpointRequests:
    """Validates breakpoints against the source map and reports them in DAP terms."""

    def __init__(self, session: Session) -> None:
        self.session = session

    async def set_breakpoints(self, args: m.SetBreakpointsArguments) -> m.SetBreakpointsResponseBody:
        path = args.source.path
        if not path:
            raise RequestError("setBreakpoints needs source.path (pipeline files are on disk)")
        requested: list[dict[str, object]] = []
        for sb in args.breakpoints or []:
            requested.append(
                {
                    "line": self.session.server_line(sb.line),
                    "mode": sb.mode,
                    "condition": sb.condition,
                    "hit_condition": sb.hit_condition,
                    "log_message": sb.log_message,
                }
            )
        if not args.breakpoints and args.lines:
            requested = [{"line": self.session.server_line(line)} for line in args.lines]
        bps = await asyncio.to_thread(self.session.breakpoints.set, path, requested)
        if self.session.document is not None:
            self.check_files(bps)
        return m.SetBreakpointsResponseBody(breakpoints=[self.to_dap(bp) for bp in bps])

    def to_dap(self, bp: SourceBreakpoint) -> m.Breakpoint:
        span = bp.span
        unreachable = self._unreachable(bp)
        if not bp.verified or span is None or unreachable:
            return m.Breakpoint(
                id=bp.id,
                verified=False,
                message=bp.message or unreachable,
                reason="failed",
                source=self.session.source_of(bp.path),
                line=self.session.client_line(bp.line),
            )
        return m.Breakpoint(
            id=bp.id,
            verified=True,
            message=bp.note,
            source=self.session.source_of(span.path),
            line=self.session.client_line(span.line),
            end_line=self.session.client_line(span.end_line),
            column=span.column,
        )

    def _unreachable(self, bp: SourceBreakpoint) -> str | None:
        """Why the launched engine can never stop at this (source-verified) breakpoint."""
        engine = self.session.engine
        if bp.verified and bp.mode == "after" and engine is not None and not engine.after_pauses:
            name = self.session.config.engine if self.session.config else "this"
            return (
                f"the {name} engine cannot pause after a step (Tekton has before-step and on-failure "
                "breakpoints only): set a breakpoint on the next step instead"
            )
        return None

    def check_files(self, bps: list[SourceBreakpoint] | None = None) -> None:
        """Late binding: once the run is known, say which breakpoints it can never reach."""
        if self.session.sources is None or self.session.document is None:
            return
        files = self.session.sources.files_of(self.session.document)
        for bp in bps if bps is not None else self.session.breakpoints.all():
            note = self._unreachable(bp)
            if note is None and bp.verified and bp.path not in files:
                note = (
                    f"{os.path.basename(bp.path)} is not used by {self.session.document.key}: "
                    "this breakpoint will not be hit in this run"
                )
            if note != bp.note:
                bp.note = note
                if bps is None:
                    self.session.emit("breakpoint", m.BreakpointEventBody(reason="changed", breakpoint=self.to_dap(bp)))

    async def breakpoint_locations(self, args: m.BreakpointLocationsArguments) -> m.BreakpointLocationsResponseBody:
        path = args.source.path
        if not path or not os.path.isfile(path):
            return m.BreakpointLocationsResponseBody(breakpoints=[])
        end = self.session.server_line(args.end_line) if args.end_line is not None else None
        spans: list[Span] = await asyncio.to_thread(
            breakpoint_locations, path, self.session.server_line(args.line), end
        )
        return m.BreakpointLocationsResponseBody(
            breakpoints=[
                m.BreakpointLocation(
                    line=self.session.client_line(s.line), end_line=self.session.client_line(s.end_line)
                )
                for s in spans
            ]
        )

    async def set_exception_breakpoints(
        self, args: m.SetExceptionBreakpointsArguments
    ) -> m.SetExceptionBreakpointsResponseBody:
        filters = set(args.filters or [])
        filters |= {o.filter_id for o in args.filter_options or []}
        unknown = filters - {ON_FAILURE}
        self.session.exception_filters = filters & {ON_FAILURE}
        return m.SetExceptionBreakpointsResponseBody(
            breakpoints=[
                m.Breakpoint(
                    verified=f not in unknown,
                    message=f'unknown exception filter "{f}"' if f in unknown else None,
                )
                for f in [*(args.filters or []), *(o.filter_id for o in args.filter_options or [])]
            ]
        )
