"""A step container's environment for the Variables pane, for both cluster engines: from the pod
spec (values, fieldRefs, ConfigMap refs resolved, Secret values masked), topped up by one exec
while the step is paused that reads the real environment and the result files written so far."""

from __future__ import annotations

from typing import Any

SECRET_MASK = "******"
# One exec while a step is paused: the container's environment (NUL separated where the image
# allows: /proc/self/environ, else `env -0`, else `env` lines), then each result file written so
# far (Tekton results, Argo output parameters). Names and paths are arguments.
LIVE_READER = (
    "exec 2>/dev/null; "
    "if cat /proc/self/environ >/dev/null; then m=proc; elif env -0 >/dev/null; then m=nul; else m=lines; fi; "
    "printf 'pipeline-dap:env:%s\\0' \"$m\"; "
    "case $m in proc) cat /proc/self/environ;; nul) env -0;; *) env;; esac; "
    "printf '\\0pipeline-dap:results\\0'; "
    'while [ "$#" -ge 2 ]; do if [ -f "$2" ]; then printf \'%s\\0\' "$1"; cat "$2"; printf \'\\0\'; fi; shift 2; done'
)
LIVE_ENV_HEAD = "pipeline-dap:env:"
LIVE_RESULTS_MARK = "\0pipeline-dap:results\0"
SHELL_NOISE = ("_", "SHLVL", "PWD")  # set by the exec's own shell, not the step's environment


def live_argv(files: list[tuple[str, str]]) -> list[str]:
    """The exec argv of the live read for (result name, file path) pairs."""
    argv = ["sh", "-c", LIVE_READER, "pipeline-dap"]
    for name, path in files:
        argv += [name, path]
    return argv


def parse_live(output: str) -> tuple[dict[str, str], dict[str, str]] | None:
    """(environment, results) from the live read; None when it is not that output."""
    head, _, rest = output.partition("\0")
    if not head.startswith(LIVE_ENV_HEAD):
        return None
    mode = head[len(LIVE_ENV_HEAD) :]
    env_text, found, results_text = rest.partition(LIVE_RESULTS_MARK)
    if not found:
        return None
    env: dict[str, str] = {}
    if mode in ("proc", "nul"):
        for entry in env_text.split("\0"):
            name, eq, value = entry.partition("=")
            if eq and name:
                env[name] = value
    else:  # `env` lines: a line that does not start NAME= continues the previous value
        last: str | None = None
        for line in env_text.split("\n"):
            name, eq, value = line.partition("=")
            if eq and name.replace("_", "a").isalnum() and not name[0].isdigit():
                env[name], last = value, name
            elif last is not None:
                env[last] += "\n" + line
        if last is not None and env_text.endswith("\n"):
            env[last] = env[last].removesuffix("\n")
    tokens = results_text.split("\0")
    results = {tokens[i]: tokens[i + 1] for i in range(0, len(tokens) - 1, 2) if tokens[i]}
    return env, results


def configmap_names(pod: dict[str, Any]) -> list[str]:
    """The ConfigMaps the pod's containers take env from."""
    names: set[str] = set()
    for container in (pod.get("spec") or {}).get("containers") or []:
        for var in container.get("env") or []:
            ref = (var.get("valueFrom") or {}).get("configMapKeyRef")
            if ref:
                names.add(str(ref.get("name")))
        for source in container.get("envFrom") or []:
            if source.get("configMapRef"):
                names.add(str(source["configMapRef"].get("name")))
    return sorted(names)


def spec_env(pod: dict[str, Any], container: dict[str, Any], configmaps: dict[str, dict[str, str]]) -> dict[str, str]:
    """The container's env from the pod spec: values, fieldRefs and ConfigMap refs resolved,
    Secret values masked."""
    env: dict[str, str] = {}
    meta = pod.get("metadata") or {}
    for source in container.get("envFrom") or []:
        prefix = str(source.get("prefix") or "")
        if source.get("configMapRef"):
            for key, value in configmaps.get(str(source["configMapRef"].get("name")), {}).items():
                env[prefix + key] = value
        elif source.get("secretRef"):
            env[f"{prefix}<Secret {source['secretRef'].get('name')}>"] = SECRET_MASK
    for var in container.get("env") or []:
        name = str(var.get("name"))
        if "valueFrom" not in var:
            env[name] = str(var.get("value") or "")
            continue
        source = var.get("valueFrom") or {}
        if source.get("secretKeyRef"):
            env[name] = SECRET_MASK
        elif source.get("configMapKeyRef"):
            ref = source["configMapKeyRef"]
            found = configmaps.get(str(ref.get("name")), {}).get(str(ref.get("key")))
            env[name] = found if found is not None else f"<ConfigMap {ref.get('name')} key {ref.get('key')}>"
        elif source.get("fieldRef"):
            env[name] = field_value(pod, meta, str(source["fieldRef"].get("fieldPath")))
        else:
            env[name] = "<resource field>"
    return env


def secret_names(container: dict[str, Any], secret_keys: dict[str, set[str]]) -> tuple[set[str], bool]:
    """Env names whose values come from Secrets (`secret_keys`: the key names of the envFrom
    Secrets that could be read), and whether an envFrom Secret's keys are unknown (then every
    name the pod spec does not declare is masked)."""
    names = {
        str(var.get("name")) for var in container.get("env") or [] if (var.get("valueFrom") or {}).get("secretKeyRef")
    }
    unknown = False
    for source in container.get("envFrom") or []:
        ref = source.get("secretRef")
        if not ref:
            continue
        keys = secret_keys.get(str(ref.get("name")))
        if keys is None:
            unknown = True
        else:
            names |= {str(source.get("prefix") or "") + key for key in keys}
    return names, unknown


def live_env(
    real: dict[str, str],
    spec: dict[str, str],
    container: dict[str, Any],
    secret_keys: dict[str, set[str]],
    noise: tuple[str, ...] = SHELL_NOISE,
    hidden: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """The environment read from the container (`real`), merged with what the pod spec says
    (`spec`, from spec_env): the exec shell's own variables (`noise`) and `hidden` names left
    out unless the spec declares them, Secret-sourced values masked."""
    spec_names = {n for n in spec if not n.startswith("<")}
    secret, unknown = secret_names(container, secret_keys)
    env = {n: v for n, v in real.items() if (n not in noise or n in spec_names) and n not in hidden}
    for name in env:
        if name in secret or (unknown and name not in spec_names):
            env[name] = SECRET_MASK
    return env


def field_value(pod: dict[str, Any], meta: dict[str, Any], path: str) -> str:
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": (pod.get("spec") or {}).get("nodeName"),
        "spec.serviceAccountName": (pod.get("spec") or {}).get("serviceAccountName"),
        "status.podIP": (pod.get("status") or {}).get("podIP"),
        "status.hostIP": (pod.get("status") or {}).get("hostIP"),
    }
    if path in simple:
        return str(simple[path] or "")
    for prefix, key in (("metadata.labels['", "labels"), ("metadata.annotations['", "annotations")):
        if path.startswith(prefix) and path.endswith("']"):
            return str((meta.get(key) or {}).get(path[len(prefix) : -2], ""))
    return f"<{path}>"
