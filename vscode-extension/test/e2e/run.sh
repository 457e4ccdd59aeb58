#!/usr/bin/env bash
# End-to-end test of the extension in a real VS Code (code-server 4.100.3) driven by headless Debian
# Chromium through playwright-core. Works on a fresh Debian 12 machine (root, node 20, package
# registries only): installs what is missing, caches code-server under test/e2e/.work/ so the next run
# is fast, builds and packages the .vsix, installs it into a fresh profile and debugs the project's
# Tekton fixture. Screenshots: test/e2e/artifacts/. Exits non-zero on any failure.
#
# Env: PIPELINE_DAP_PYTHON (default <repo>/.venv/bin/python), E2E_WORK (default test/e2e/.work),
#      E2E_PORT (default: a free port), E2E_KEEP=1 (leave code-server running for a look).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EXT="$(cd "$HERE/../.." && pwd)"
ROOT="$(cd "$EXT/.." && pwd)"
WORK="${E2E_WORK:-$HERE/.work}"
ART="$HERE/artifacts"
CS_VERSION=4.100.3
CS_DIR="$WORK/code-server-$CS_VERSION"
CS="$CS_DIR/node_modules/.bin/code-server"
PY="${PIPELINE_DAP_PYTHON:-$ROOT/.venv/bin/python}"
FIXTURE_DIR="$ROOT/fixtures/tekton/build-pipeline"
PIPELINE_FILE="$FIXTURE_DIR/pipeline.yaml"
TASK_FILE="$FIXTURE_DIR/tasks/build.yaml"

T0=$(date +%s)
stage() { echo "== [e2e $(( $(date +%s) - T0 ))s] $*"; }
mkdir -p "$WORK" "$ART"
rm -f "$ART"/*.png "$ART"/*.log "$ART"/*.jsonl
# code-server, Chromium, npm and pip write outside their folders: keep all of it under $WORK
mkdir -p "$WORK/xdg/config" "$WORK/xdg/data" "$WORK/xdg/cache" "$WORK/tmp"
export XDG_CONFIG_HOME="$WORK/xdg/config" XDG_DATA_HOME="$WORK/xdg/data" XDG_CACHE_HOME="$WORK/xdg/cache" TMPDIR="$WORK/tmp"

# ---- 1. Debian packages (skipped when present) -------------------------------------------------
# chromium: the browser; ripgrep: seeds @vscode/ripgrep (its postinstall would download rg);
# build headers for code-server's and vsce's native modules; python3-venv for the repo's venv.
PKGS=(chromium ripgrep fonts-dejavu-core build-essential pkg-config python3 python3-venv libkrb5-dev libxkbfile-dev libx11-dev libsecret-1-dev curl)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  stage "apt-get install ${missing[*]}"
  [ "$(id -u)" = 0 ] || { echo "need root to install: ${missing[*]}" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- 2. the repo's Python venv with pipeline-dap ------------------------------------------------
if ! "$PY" -c 'import dap_server' 2>/dev/null; then
  stage "Python: installing pipeline-dap (editable) for $PY"
  if [ ! -x "$PY" ]; then
    [ -z "${PIPELINE_DAP_PYTHON:-}" ] || { echo "PIPELINE_DAP_PYTHON=$PY does not exist" >&2; exit 1; }
    python3 -m venv "$ROOT/.venv"
  fi
  "$PY" -m pip install --quiet --disable-pip-version-check -e "$ROOT"
fi

# ---- 3. the extension: npm ci (when the lock changed), build, package --------------------------
cd "$EXT"
# skipped when node_modules already matches (e.g. CI ran npm ci just before)
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
   || ! npm ls --all >/dev/null 2>&1; then
  stage "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
stage "build + vsce package"
VSIX="$WORK/pipeline-dap.vsix"
rm -f "$VSIX"
npm run --silent build
npx --no-install vsce package --allow-missing-repository --no-rewrite-relative-links -o "$VSIX" >"$WORK/vsce.log" 2>&1 || { cat "$WORK/vsce.log"; exit 1; }
ls -la "$VSIX"

# ---- 4. code-server 4.100.3 from npm, cached (testing-notes §3 for the traps) -----------------
if ! "$CS" --version 2>/dev/null | grep -q "^$CS_VERSION "; then
  stage "installing code-server@$CS_VERSION into $CS_DIR (about a minute)"
  mkdir -p "$CS_DIR/tmp"
  (
    export TMPDIR="$CS_DIR/tmp" XDG_CONFIG_HOME="$CS_DIR/xdg-config" XDG_DATA_HOME="$CS_DIR/xdg-data" XDG_CACHE_HOME="$CS_DIR/xdg-cache"
    # @vscode/ripgrep's postinstall downloads rg from GitHub; it first looks in this cache: seed it with Debian's rg
    cache="$TMPDIR/vscode-ripgrep-cache-1.15.11"
    mkdir -p "$cache"
    tarball="$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
    if [ ! -f "$tarball" ]; then
      d="$(mktemp -d -p "$TMPDIR")"; cp /usr/bin/rg "$d/rg"; tar czf "$tarball" -C "$d" rg; rm -rf "$d"
    fi
    cd "$CS_DIR"
    [ -f package.json ] || echo '{"name":"code-server-cache","private":true}' > package.json
    # --unsafe-perm: code-server's postinstall refuses root otherwise; npm_config_yes: node-pty runs `npx node-gyp`
    npm_config_yes=true npm install "code-server@$CS_VERSION" --unsafe-perm --no-audit --no-fund --loglevel=error >"$CS_DIR/install.log" 2>&1 \
      || { tail -40 "$CS_DIR/install.log"; exit 1; }
  )
  "$CS" --version
fi

# ---- 5. a fresh profile: settings, the .vsix ---------------------------------------------------
RUN="$WORK/run"
rm -rf "$RUN"
mkdir -p "$RUN/ud/User" "$RUN/exts" "$RUN/xdg-config" "$RUN/xdg-data" "$RUN/xdg-cache"
# TMPDIR must be short: Chromium and code-server put UNIX sockets there (108-byte path limit),
# and a checkout can live deep in the file system.
RUN_TMP="$(mktemp -d /tmp/pdap-e2e.XXXXXX)"
export XDG_CONFIG_HOME="$RUN/xdg-config" XDG_DATA_HOME="$RUN/xdg-data" XDG_CACHE_HOME="$RUN/xdg-cache" TMPDIR="$RUN_TMP"
TRACE="$RUN/dap-trace.jsonl"
cat > "$RUN/ud/User/settings.json" <<JSON
{
  "pipelineDap.pythonPath": "$PY",
  "pipelineDap.trace": true,
  "pipelineDap.traceFile": "$TRACE",
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "workbench.welcomePage.walkthroughs.openOnInstall": false,
  "workbench.colorTheme": "Default Dark Modern",
  "chat.disableAIFeatures": true,
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "extensions.ignoreRecommendations": true,
  "git.enabled": false,
  "editor.minimap.enabled": false,
  "window.commandCenter": false,
  "debug.toolBarLocation": "floating"
}
JSON
stage "installing the .vsix into a fresh profile"
timeout 120 "$CS" --user-data-dir "$RUN/ud" --extensions-dir "$RUN/exts" --install-extension "$VSIX" >"$RUN/install-extension.log" 2>&1 \
  || { cat "$RUN/install-extension.log"; exit 1; }

# ---- 6. code-server on loopback ------------------------------------------------------------------
PORT="${E2E_PORT:-$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")}"
stage "starting code-server on 127.0.0.1:$PORT"
setsid "$CS" --auth none --bind-addr "127.0.0.1:$PORT" --disable-telemetry --disable-update-check \
  --disable-workspace-trust --disable-getting-started-override \
  --user-data-dir "$RUN/ud" --extensions-dir "$RUN/exts" "$FIXTURE_DIR" >"$RUN/code-server.log" 2>&1 &
CS_PID=$!
cleanup() {
  local rc=$?
  cp "$RUN/code-server.log" "$ART/code-server.log" 2>/dev/null || true
  cp "$TRACE" "$ART/dap-trace.jsonl" 2>/dev/null || true
  if [ "${E2E_KEEP:-0}" = 1 ]; then echo "code-server left running: http://127.0.0.1:$PORT (pid $CS_PID)"; else kill -- -"$CS_PID" 2>/dev/null || true; fi
  rm -rf "$RUN_TMP"
  echo "== [e2e $(( $(date +%s) - T0 ))s] done, exit $rc; artifacts: $ART"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
  kill -0 "$CS_PID" 2>/dev/null || { cat "$RUN/code-server.log"; exit 1; }
  sleep 0.25
done

# ---- 7. drive it -----------------------------------------------------------------------------------
read -r BP_LINE < <(node -e "console.log(require('$EXT/test/lib/fixtures').step(process.argv[1], 'compile').line)" "$TASK_FILE")
stage "playwright: breakpoint at tasks/build.yaml:$BP_LINE, F5, F10, F5; code lens, outline, Debug from here"
RUN_T0=$(date +%s)
CS_URL="http://127.0.0.1:$PORT/?folder=$FIXTURE_DIR" OUT_DIR="$ART" CHROME_DIR="$RUN/chrome" \
  PIPELINE_FILE="$PIPELINE_FILE" TASK_FILE="$TASK_FILE" BP_LINE="$BP_LINE" \
  STEP=compile NEXT_STEP=package TASK=build ENV_NAME=FLAVOUR ENV_VALUE=turbo \
  LENS_TASK=test LENS_STEP=check-digest \
  timeout 240 node "$HERE/e2e.js"
stage "UI part took $(( $(date +%s) - RUN_T0 ))s; checking the traced DAP traffic"
node "$HERE/check-trace.js" "$TRACE" "$PIPELINE_FILE" "$TASK_FILE"
left="$(find "$RUN_TMP" -maxdepth 1 -name 'pipeline-dap-*' 2>/dev/null | wc -l)"
[ "$left" = 0 ] || echo "(note) the server left $left run folder(s) in its TMPDIR: $(ls -d "$RUN_TMP"/pipeline-dap-* | tr '\n' ' ')"
stage "e2e passed"
