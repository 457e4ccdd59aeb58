"""The local Argo engine: Workflows on this machine, each container a host process under the
emissary (`emissary.py`, Argo's `ARGO_DEBUG_PAUSE_BEFORE/AFTER` protocol).

`create_argo_local_engine(document, options)` is loaded on first use: the emissary lives in
this package and a container's start-up must not pay for the engine's imports.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (emissary start-up)
if TYPE_CHECKING:
    from dap_server.engines.local.argo.engine import ArgoLocalEngine, create_argo_local_engine

__all__ = ["ArgoLocalEngine", "create_argo_local_engine"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from dap_server.engines.local.argo import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
