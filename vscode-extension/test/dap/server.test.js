// Drives the real Python server (`python -m dap_server serve`; interpreter from PIPELINE_DAP_PYTHON,
// default <repo>/.venv/bin/python) with VS Code's DebugClient, as VS Code would. Every message seen,
// both directions, must validate against the official DAP schema.
'use strict';
const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const paths = require('../lib/paths');
const { DapSession, checkServerInstalled } = require('../lib/dapSession');
const { invalidMessages } = require('../lib/schema');
const fixtures = require('../lib/fixtures');

const BUILD_DIR = path.join(paths.tektonFixtures, 'build-pipeline');
const PIPELINE = path.join(BUILD_DIR, 'pipeline.yaml');
const BUILD_TASK = path.join(BUILD_DIR, 'tasks', 'build.yaml');
const pkg = JSON.parse(fs.readFileSync(path.join(paths.extensionRoot, 'package.json'), 'utf8'));

let sessions = [];
let scratch;

before(() => {
  checkServerInstalled();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-dap-ext-test-'));
  fs.mkdirSync(path.join(scratch, 'tmp'));
  // cluster configurations must not find a real cluster: a kubeconfig whose API server refuses connections
  fs.writeFileSync(
    path.join(scratch, 'kubeconfig'),
    `apiVersion: v1
kind: Config
clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: nobody, user: {token: none}}]
contexts: [{name: nowhere, context: {cluster: nowhere, user: nobody, namespace: default}}]
current-context: nowhere
`,
  );
});

after(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

async function session(opts = {}) {
  // the server's run folders go to the scratch folder, removed after the suite
  const env = { KUBECONFIG: path.join(scratch, 'kubeconfig'), TMPDIR: path.join(scratch, 'tmp'), ...(opts.env || {}) };
  const s = new DapSession({ ...opts, env });
  sessions.push(s);
  await s.start();
  return s;
}

afterEach(async () => {
  const done = sessions;
  sessions = [];
  for (const s of done) await s.stop();
  for (const s of done) {
    const bad = invalidMessages(s.records);
    assert.deepEqual(bad, [], `messages that do not validate against debugAdapterProtocol.json:\n${JSON.stringify(bad, null, 1)}`);
    assert.doesNotMatch(s.stderr, /Traceback \(most recent call last\)/, `the server crashed:\n${s.stderr.slice(-3000)}`);
  }
});

test('initialize: configurationDone, breakpoint modes before/after, exception filter onFailure', async () => {
  const s = await session();
  const initialized = s.waitEvent('initialized', undefined, 30000);
  const caps = (await s.initialize()).body;
  assert.ok(caps, 'initialize response has no body (capabilities)');
  assert.equal(caps.supportsConfigurationDoneRequest, true);
  const modes = caps.breakpointModes || [];
  for (const m of ['before', 'after']) {
    const mode = modes.find((x) => x.mode === m);
    assert.ok(mode, `breakpointModes lacks '${m}': ${JSON.stringify(modes)}`);
    assert.ok(mode.label, `breakpoint mode ${m} has no label`);
    assert.deepEqual(mode.appliesTo, ['source']);
  }
  const filter = (caps.exceptionBreakpointFilters || []).find((f) => f.filter === 'onFailure');
  assert.ok(filter, `no exception filter onFailure: ${JSON.stringify(caps.exceptionBreakpointFilters)}`);
  assert.equal(filter.label, 'Step failed');
  assert.ok(!filter.default, 'onFailure must be off by default');
  // `initialized` may come now or after launch (both are valid DAP); it must not be lost if it came already
  await Promise.race([initialized, new Promise((r) => setTimeout(r, 300))]);
  initialized.catch(() => {});
});

test('initialize: the other capabilities dap-mapping.md promises', async () => {
  const s = await session();
  const caps = (await s.initialize()).body;
  for (const c of ['supportsConditionalBreakpoints', 'supportsHitConditionalBreakpoints', 'supportsLogPoints', 'supportsExceptionInfoRequest', 'supportsSetVariable', 'supportsBreakpointLocationsRequest']) {
    assert.equal(caps[c], true, `capability ${c} should be true (dap-mapping.md)`);
  }
});

test('breakpoints: a step line is verified at the step `-` line, another line is not', async () => {
  const s = await session();
  const compile = fixtures.step(BUILD_TASK, 'compile');
  const inScript = compile.line + 4; // a line of the step's script body
  const notAStep = fixtures.outline(BUILD_TASK)[0].steps[0].line - 20; // in the Task's params/metadata
  assert.ok(notAStep > 0);
  const { launch, breakpoints } = await s.launch({ program: PIPELINE, engine: 'local', stopOnEntry: false }, { [BUILD_TASK]: [{ line: inScript }, { line: notAStep }] });
  assert.equal(launch.success, true, `launch failed: ${launch.message}`);
  const [onStep, offStep] = breakpoints[BUILD_TASK].body.breakpoints;
  assert.equal(onStep.verified, true, JSON.stringify(onStep));
  assert.equal(onStep.line, compile.line, 'verified line = the step canonical line');
  assert.equal(onStep.endLine, compile.endLine, 'endLine = the step end line');
  assert.equal(offStep.verified, false, JSON.stringify(offStep));
  assert.equal(offStep.reason, 'failed');
  assert.ok(offStep.message, 'an unverified breakpoint says why');
});

test('run: stops at the breakpoint (step frame + pipeline task frame), Environment value, next, continue to terminated', async () => {
  const s = await session();
  const compile = fixtures.step(BUILD_TASK, 'compile');
  const pkgStep = fixtures.step(BUILD_TASK, 'package');
  const buildTask = fixtures.task(PIPELINE, 'build');
  const { launch, breakpoints } = await s.launch({ program: PIPELINE, engine: 'local' }, { [BUILD_TASK]: [{ line: compile.line }] });
  assert.equal(launch.success, true, `launch failed: ${launch.message}`);
  const bp = breakpoints[BUILD_TASK].body.breakpoints[0];
  assert.equal(bp.verified, true);

  const stopped = await s.waitEvent('stopped', undefined, 90000);
  assert.equal(stopped.body.reason, 'breakpoint', JSON.stringify(stopped.body));
  const threadId = stopped.body.threadId;
  assert.equal(typeof threadId, 'number', 'stopped event names the thread');
  if (bp.id !== undefined && stopped.body.hitBreakpointIds) assert.ok(stopped.body.hitBreakpointIds.includes(bp.id));
  const threads = (await s.ok('threads')).body.threads;
  assert.ok(threads.some((t) => t.id === threadId && t.name.startsWith('build')), `thread of the build task: ${JSON.stringify(threads)}`);

  const frames = await s.stack(threadId);
  assert.ok(frames.length >= 2, `at least step + task frames: ${JSON.stringify(frames)}`);
  assert.equal(frames[0].name, 'compile');
  assert.equal(frames[0].line, compile.line);
  assert.equal(path.resolve(frames[0].source.path), BUILD_TASK);
  assert.equal(frames[1].name, 'build');
  assert.equal(frames[1].line, buildTask.line);
  assert.equal(path.resolve(frames[1].source.path), PIPELINE);

  const env = await s.variables(frames[0].id, 'Environment');
  const flavour = env.find((v) => v.name === 'FLAVOUR');
  assert.ok(flavour, `FLAVOUR in Environment: ${JSON.stringify(env.map((v) => v.name))}`);
  assert.equal(flavour.value.replace(/^["']|["']$/g, ''), 'turbo', 'FLAVOUR = $(params.flavour) resolved to the pipeline default');

  await s.ok('next', { threadId });
  const stepped = await s.waitEvent('stopped', undefined, 60000);
  assert.equal(stepped.body.reason, 'step', JSON.stringify(stepped.body));
  const frames2 = await s.stack(stepped.body.threadId);
  assert.equal(frames2[0].name, 'package');
  assert.equal(frames2[0].line, pkgStep.line);

  await s.ok('continue', { threadId: stepped.body.threadId });
  await s.waitEvent('terminated', undefined, 90000);
  const exited = await s.waitEvent('exited', undefined, 5000);
  assert.equal(exited.body.exitCode, 0, 'the fixture pipeline succeeds');
});

// The project's core issue fixes the order: `terminated`, then `exited` with the run's exit code,
// both sent back to back when the run ends.
test('run end: terminated, then exited with the exit code', async () => {
  const s = await session();
  const { launch } = await s.launch({ program: PIPELINE, engine: 'local' });
  assert.equal(launch.success, true, `launch failed: ${launch.message}`);
  await s.waitEvent('terminated', undefined, 90000);
  await s.waitEvent('exited', undefined, 5000).catch(() => {});
  const order = s.records.filter((r) => r.msg.event === 'exited' || r.msg.event === 'terminated').map((r) => r.msg.event);
  assert.deepEqual(order, ['terminated', 'exited']);
});

test('open shell: evaluate ":shell" in a paused step makes the server send runInTerminal', async () => {
  const s = await session({ onReverseRequest: (req) => (req.command === 'runInTerminal' ? { processId: 4242, shellProcessId: 4241 } : {}) });
  const compile = fixtures.step(BUILD_TASK, 'compile');
  const { launch } = await s.launch({ program: PIPELINE, engine: 'local' }, { [BUILD_TASK]: [{ line: compile.line }] });
  assert.equal(launch.success, true, `launch failed: ${launch.message}`);
  const stopped = await s.waitEvent('stopped', undefined, 90000);
  const frames = await s.stack(stopped.body.threadId);
  const r = await s.request('evaluate', { expression: ':shell', context: 'repl', frameId: frames[0].id }, 30000);
  assert.equal(r.success, true, `evaluate :shell failed: ${r.message}`);
  const rit = s.reverseRequests.find((q) => q.command === 'runInTerminal');
  assert.ok(rit, 'a runInTerminal reverse request');
  assert.ok(Array.isArray(rit.arguments.args) && rit.arguments.args.length > 0, JSON.stringify(rit.arguments));
  assert.ok(rit.arguments.cwd !== undefined);
});

// ---- every launch configuration snippet of package.json is accepted by the server ----

// the project's Argo fixture: a Workflow with one script template
const ARGO_FILE = path.join(paths.argoFixtures, 'script.yaml');

/** A snippet body as VS Code would resolve it, for a given open file. */
function resolveSnippet(body, file) {
  const text = JSON.stringify(body)
    .replace(/\$\{\d+:([^}]*)\}/g, '$1') // snippet placeholders ${1:NAME}
    .replace(/\\\\\$\{/g, '${')
    .replace(/\$\{file\}/g, file)
    .replace(/\$\{fileDirname\}/g, path.dirname(file))
    .replace(/\$\{workspaceFolder\}/g, path.dirname(file));
  return JSON.parse(text);
}

const CLUSTER_ERROR = /cluster|kube|engine|context|connect|reach|refused|api ?server|namespace|unauthori[sz]ed|forbidden|timed? ?out/i;

for (const snippet of pkg.contributes.debuggers[0].configurationSnippets) {
  test(`snippet "${snippet.label}" is accepted by the server`, async () => {
    const isArgo = /argo/i.test(snippet.label);
    const file = isArgo ? ARGO_FILE : PIPELINE;
    const { type, request, name, ...args } = resolveSnippet(snippet.body, file);
    assert.equal(type, 'pipeline');
    assert.ok(name);
    const cluster = request === 'attach' || args.engine !== 'local';
    const s = await session();
    const { launch } = await s.launch(args, {}, { request });
    if (!cluster) {
      assert.equal(launch.success, true, `${request} of "${snippet.label}" (${JSON.stringify(args)}) failed: ${launch.message} ${JSON.stringify(launch.body)}`);
    } else if (!launch.success) {
      const text = `${launch.message} ${JSON.stringify(launch.body || {})}`;
      assert.match(text, CLUSTER_ERROR, `a cluster configuration may be refused without a cluster, but with a cluster-related message; got: ${text}`);
    }
    // the server is still alive and answers
    const r = await s.request('threads', undefined, 10000);
    assert.equal(r.command, 'threads');
    assert.equal(s.exit, undefined, `the server exited: ${s.stderr.slice(-2000)}`);
  });
}
