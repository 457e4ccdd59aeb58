"""Small steps every session test takes: wait for a stop, read frames and scopes, run to the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.dap_harness import HarnessClient


async def stopped(dap: HarnessClient, reason: str, timeout: float = 30) -> dict[str, Any]:
    """The next `stopped` event; it must have `reason`."""
    event = await dap.wait_event("stopped", timeout=timeout)
    assert event["body"]["reason"] == reason, event["body"]
    return event


async def frames_of(dap: HarnessClient, thread_id: int) -> list[dict[str, Any]]:
    response = await dap.request_ok("stackTrace", {"threadId": thread_id})
    frames: list[dict[str, Any]] = response["body"]["stackFrames"]
    assert response["body"]["totalFrames"] == len(frames)
    return frames


async def scope_values(dap: HarnessClient, frame_id: int, scope: str) -> dict[str, str]:
    scopes = (await dap.request_ok("scopes", {"frameId": frame_id}))["body"]["scopes"]
    ref = next(s["variablesReference"] for s in scopes if s["name"] == scope)
    variables = (await dap.request_ok("variables", {"variablesReference": ref}))["body"]["variables"]
    return {v["name"]: v["value"] for v in variables}


async def run_to_end(dap: HarnessClient, timeout: float = 60) -> int:
    """Continue every stop until the run ends; the `exited` code. `terminated` comes first."""
    waited = 0.0
    while True:
        threads = (await dap.request_ok("threads"))["body"]["threads"]
        for thread in threads:
            await dap.request("continue", {"threadId": thread["id"]})
        try:
            exited = await dap.wait_event("exited", timeout=0.5)
        except TimeoutError:
            waited += 0.5
            assert waited < timeout, "the run did not end"
            continue
        names = [e["event"] for e in dap.events() if e["event"] in ("terminated", "exited")]
        assert names[:2] == ["terminated", "exited"], names
        code: int = exited["body"]["exitCode"]
        return code


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
