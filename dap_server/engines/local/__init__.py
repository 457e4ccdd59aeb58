"""The embedded local engine: Tekton runs on this machine, each step a host process under the
step supervisor (`supervisor.py`, Tekton's entrypoint protocol).

`LocalEngine` and `create_local_engine` are loaded on first use: the supervisor lives in this
package, and a step's start-up must not pay for the engine's imports (asyncio, yaml, pydantic).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (supervisor start-up)
if TYPE_CHECKING:
    from dap_server.engines.local.engine import LocalEngine, create_local_engine

__all__ = ["LocalEngine", "create_local_engine"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from dap_server.engines.local import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
