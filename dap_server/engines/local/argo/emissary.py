"""Argo's emissary (`argoexec emissary -- command...`), as a host process.

    python -I -S -c BOOTSTRAP --ctr-root DIR [--deps a,b] [--timeout SECONDS] -- command args...

One emissary runs one container, in the order engine-protocols.md B1 gives:

1. create `DIR/ctr/<name>` (the name is `ARGO_CONTAINER_NAME`);
2. containerSet: wait for each dependency's `ctr/<dep>/exitcode`; a dependency that failed
   means this container does not run (exit code 1, no pauses);
3. `ARGO_DEBUG_PAUSE_BEFORE` exactly `"true"`: wait for `ctr/<name>/before`;
4. run the command in its own process group, output inherited (`--timeout`: the pod's
   activeDeadlineSeconds, killed when it passes);
5. log `sub-process exited` (Argo's text log format, `argo=true`, the result in `error` as v4 does);
6. `ARGO_DEBUG_PAUSE_AFTER` exactly `"true"`: wait for `ctr/<name>/after`;
7. write `ctr/<name>/exitcode` last, exit with the command's code.

Only a marker's existence matters to Argo. Our one addition: an `after` marker whose content is
`0` makes a failed command count as passed (the DAP's "continue" on a failure); Argo ignores the
content, so on a cluster this cannot be expressed and the failure stands.

Argo announces no pause in its log. The local engine needs to know, so the emissary writes one
line to stderr at each pause and at the command's end, starting with `PROTOCOL_PREFIX`; the
engine swallows those lines (they never reach the user).

SIGTERM at any time: the command's group is killed, `exitcode` is 143, exit 143.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

from dap_server.engines import markers
from dap_server.engines.local.supervisor import PARENT_PID_ENV, Libc, kill_group, wait_for_any

PROTOCOL_PREFIX = "\x1e@pipeline-dap-emissary "
PAUSE_BEFORE_ENV = "ARGO_DEBUG_PAUSE_BEFORE"
PAUSE_AFTER_ENV = "ARGO_DEBUG_PAUSE_AFTER"
CONTAINER_ENV = "ARGO_CONTAINER_NAME"
SIGTERM_EXIT = 143

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))
_BOOTSTRAP = (
    f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); "
    "from dap_server.engines.local.argo.emissary import main; sys.exit(main())"
)


def command_line(flags: list[str], command: list[str], python: str = sys.executable) -> list[str]:
    return [python, "-I", "-S", "-c", _BOOTSTRAP, *flags, "--", *command]


def protocol(event: str, *fields: str) -> None:
    sys.stderr.write(PROTOCOL_PREFIX + " ".join([event, *fields]) + "\n")
    sys.stderr.flush()


def argo_log(message: str, **fields: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"
    extra = "".join(f" {k}={v}" for k, v in fields.items())
    sys.stderr.write(f'time="{stamp}" level=info msg="{message}"{extra}\n')
    sys.stderr.flush()


class _Emissary:
    def __init__(self, root: str, name: str) -> None:
        self.root = root
        self.name = name
        self.child = 0
        self.libc = Libc()

    def path(self, rel: str) -> str:
        return os.path.join(self.root, *rel.split("/"))

    def write_exit_code(self, code: int) -> None:
        markers.write_file_atomic(self.path(markers.argo_exit_code_file(self.name)), str(code))

    def on_sigterm(self, _signum: int, _frame: object) -> None:
        if self.child:
            kill_group(self.child)
        self.write_exit_code(SIGTERM_EXIT)
        os._exit(SIGTERM_EXIT)

    def run(self, deps: list[str], timeout: float | None, command: list[str]) -> int:
        os.makedirs(self.path(markers.argo_container_dir(self.name)), mode=0o777, exist_ok=True)
        for dep in deps:
            done = wait_for_any([self.path(markers.argo_exit_code_file(dep))], libc=self.libc)
            with open(done) as f:
                if f.read().strip() != "0":
                    protocol("skipped", dep)
                    self.write_exit_code(1)
                    return 1
        if os.environ.get(PAUSE_BEFORE_ENV) == "true":
            protocol("paused-before")
            wait_for_any([self.path(markers.argo_before_file(self.name))], libc=self.libc)
            protocol("released-before")
        env = dict(os.environ)
        for key in (PAUSE_BEFORE_ENV, PAUSE_AFTER_ENV):
            env.pop(key, None)
        code = self.spawn_and_wait(command, env, timeout)
        argo_log("sub-process exited", argo="true", error="<nil>" if code == 0 else f'"exit status {code}"')
        protocol("exited", str(code))
        if os.environ.get(PAUSE_AFTER_ENV) == "true":
            protocol("paused-after", str(code))
            marker = wait_for_any([self.path(markers.argo_after_file(self.name))], libc=self.libc)
            with open(marker) as f:
                if code != 0 and f.read().strip() == "0":
                    code = 0  # ours: "continue" on a failure counts the container as passed
            protocol("released-after", str(code))
        self.write_exit_code(code)
        return code

    def spawn_and_wait(self, command: list[str], env: dict[str, str], timeout: float | None) -> int:
        try:
            pid = os.fork()
        except OSError as exc:
            sys.stderr.write(f"failed to start: {exc}\n")
            return 1
        if pid == 0:
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGPIPE, signal.SIG_DFL)
                os.setpgid(0, 0)
                self.libc.die_with_parent(None)
                os.execvpe(command[0], command, env)
            except OSError as exc:
                sys.stderr.write(f'exec: "{command[0]}": {exc.strerror}\n')
                sys.stderr.flush()
            os._exit(127)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        self.child = pid
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            done, status = os.waitpid(pid, 0 if deadline is None else os.WNOHANG)
            if done:
                self.child = 0
                kill_group(pid)
                return os.waitstatus_to_exitcode(status) if status >= 0 else 1
            assert deadline is not None
            if time.monotonic() >= deadline:
                kill_group(pid)
                os.waitpid(pid, 0)
                self.child = 0
                sys.stderr.write("Pod was active on the node longer than the specified deadline\n")
                return 1
            time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "--" not in args:
        sys.stderr.write("usage: emissary --ctr-root DIR [--deps a,b] [--timeout S] -- command...\n")
        return 2
    split = args.index("--")
    flags, command = args[:split], args[split + 1 :]
    options = dict(zip(flags[::2], flags[1::2], strict=False))
    root = options.get("--ctr-root", ".")
    deps = [d for d in options.get("--deps", "").split(",") if d]
    timeout = float(options["--timeout"]) if "--timeout" in options else None
    name = os.environ.get(CONTAINER_ENV, "main")
    if not command:
        sys.stderr.write("emissary: no command\n")
        return 2
    emissary = _Emissary(root, name)
    signal.signal(signal.SIGTERM, emissary.on_sigterm)
    parent = os.environ.pop(PARENT_PID_ENV, "")
    emissary.libc.die_with_parent(int(parent) if parent.isdigit() else None, signal.SIGTERM)
    code = emissary.run(deps, timeout, command)
    return code if 0 <= code < 256 else 1
