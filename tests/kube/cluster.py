"""The test Kubernetes API with Tekton and Argo Workflows, on loopback.

    python tests/kube/cluster.py --kubeconfig PATH [--api-fields alpha] [--port N]

serves until stopped (Ctrl-C / SIGTERM) and writes a kubeconfig for it to PATH (context
`pipeline-dap-test`, namespace `default`). Tests use `running_cluster()` instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass

if __package__ in (None, ""):  # run as a script: import the checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import kmock
import yaml

from tests.kube.argo import Argo
from tests.kube.kubeapi import KubeAPI
from tests.kube.tekton import Tekton

CONTEXT = "pipeline-dap-test"


@dataclass
class Cluster:
    api: KubeAPI
    tekton: Tekton
    url: str
    kubeconfig: str
    argo: Argo


def write_kubeconfig(path: str, url: str, namespace: str = "default") -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": url}}],
        "users": [{"name": CONTEXT, "user": {"token": "test-token"}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace}}],
        "current-context": CONTEXT,
    }
    with open(path, "w") as f:
        yaml.safe_dump(config, f)


@contextlib.asynccontextmanager
async def running_cluster(folder: str, api_fields: str = "alpha", port: int | None = None) -> AsyncIterator[Cluster]:
    """The API on 127.0.0.1 (a free port unless given), Tekton and Argo installed, a kubeconfig
    in `folder`; every step / container process is gone when the block ends."""
    async with KubeAPI() as api, kmock.Server(api, host="127.0.0.1", port=port) as _server:
        tekton = Tekton(api, os.path.join(folder, "pods"))
        await tekton.install(api_fields)
        argo = Argo(api, os.path.join(folder, "argo"))
        url = str(api.url).rstrip("/")
        kubeconfig = os.path.join(folder, "kubeconfig")
        write_kubeconfig(kubeconfig, url)
        try:
            yield Cluster(api, tekton, url, kubeconfig, argo)
        finally:
            await argo.close()
            await tekton.close()


async def serve(kubeconfig: str, api_fields: str, port: int | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with tempfile.TemporaryDirectory(prefix="pipeline-dap-kube-") as folder:
        async with running_cluster(folder, api_fields, port) as cluster:
            write_kubeconfig(kubeconfig, cluster.url)
            print(f"test Kubernetes API at {cluster.url}; kubeconfig {kubeconfig}", flush=True)
            await stop.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", required=True, help="where to write the kubeconfig")
    parser.add_argument("--api-fields", default="alpha", help="enable-api-fields in feature-flags")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args()
    asyncio.run(serve(args.kubeconfig, args.api_fields, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
