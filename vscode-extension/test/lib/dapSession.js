// A DebugClient (@vscode/debugadapter-testsupport) around `python -m dap_server serve`, with the
// traps of testing-notes §2 handled: a one-argument wrapper script, every request under a timeout,
// events buffered from the start (no missed `initialized`), reverse requests answered, stderr kept,
// and every message in both directions recorded for schema validation.
'use strict';
const cp = require('child_process');
const path = require('path');
const { DebugClient } = require('@vscode/debugadapter-testsupport');
const paths = require('./paths');

const WRAPPER = path.join(__dirname, 'serve.sh');

function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/** Throws a clear error when the interpreter cannot import dap_server. */
function checkServerInstalled(python = paths.python) {
  const r = cp.spawnSync(python, ['-c', 'import dap_server'], { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) {
    throw new Error(
      `cannot run the server with ${python}: ${(r.error && r.error.message) || (r.stderr || '').trim().split('\n').pop()}\n` +
        `set PIPELINE_DAP_PYTHON, or create the repo's venv: python3 -m venv ${paths.repoRoot}/.venv && ${paths.repoRoot}/.venv/bin/pip install -e ${paths.repoRoot}`,
    );
  }
}

class DapSession {
  /**
   * @param {object} [opts]
   * @param {NodeJS.ProcessEnv} [opts.env] extra environment for the server
   * @param {(req: any) => any} [opts.onReverseRequest] body of the answer to a reverse request
   * @param {string} [opts.cwd]
   */
  constructor(opts = {}) {
    this.records = []; // {dir: 'in'|'out', msg}: 'in' = to the adapter, 'out' = from the adapter
    this.events = []; // not yet consumed events
    this.waiters = [];
    this.stderr = '';
    this.reverseRequests = [];
    this.onReverseRequest = opts.onReverseRequest || (() => ({}));
    this.exit = undefined;
    const env = { ...process.env, PIPELINE_DAP_PYTHON: paths.python, PYTHONUNBUFFERED: '1', ...(opts.env || {}) };
    this.dc = new DebugClient('/bin/sh', WRAPPER, 'pipeline', { env, cwd: opts.cwd || paths.repoRoot }, false);
  }

  async start() {
    await this.dc.start();
    const proc = this.dc._adapterProcess;
    proc.stderr.on('data', (d) => {
      this.stderr += d.toString();
    });
    proc.on('exit', (code, signal) => {
      this.exit = { code, signal };
      this._wake();
    });
    const out = this.dc.outputStream;
    const write = out.write.bind(out);
    out.write = (data, ...rest) => {
      const s = data.toString();
      const i = s.indexOf('\r\n\r\n');
      if (i >= 0) this.records.push({ dir: 'in', msg: JSON.parse(s.slice(i + 4)) });
      return write(data, ...rest);
    };
    const dispatch = this.dc.dispatch.bind(this.dc);
    this.dc.dispatch = (body) => {
      const msg = JSON.parse(body);
      this.records.push({ dir: 'out', msg });
      if (msg.type === 'request') return this._answerReverse(msg);
      if (msg.type === 'event') {
        this.events.push(msg);
        this._wake();
      }
      return dispatch(body);
    };
  }

  _answerReverse(req) {
    this.reverseRequests.push(req);
    let body;
    let ok = true;
    let message;
    try {
      body = this.onReverseRequest(req) || {};
    } catch (e) {
      ok = false;
      message = e.message;
    }
    const resp = { type: 'response', seq: this.dc.sequence++, request_seq: req.seq, command: req.command, success: ok };
    if (ok) resp.body = body;
    else resp.message = message;
    const json = JSON.stringify(resp);
    this.dc.outputStream.write(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
  }

  _wake() {
    for (const w of [...this.waiters]) w();
  }

  /** Sends a request; resolves with the raw response (success or not). */
  request(command, args, timeout = 15000) {
    const p = new Promise((resolve) => this.dc.doSend(command, args, resolve));
    return withTimeout(p, timeout, `${command} request`);
  }

  /** Sends a request; resolves with the response, rejects with the server's message on failure. */
  async ok(command, args, timeout) {
    const r = await this.request(command, args, timeout);
    if (!r.success) throw new Error(`${command} failed: ${r.message} ${JSON.stringify(r.body || {})}`);
    return r;
  }

  /**
   * The first not yet consumed event `name` (matching `pred`), waiting up to `timeout` ms.
   * Events are buffered from the start, so an event that came before the call is found.
   */
  waitEvent(name, pred = () => true, timeout = 20000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.events.findIndex((e) => e.event === name && pred(e));
        if (i >= 0) {
          const [e] = this.events.splice(i, 1);
          done();
          resolve(e);
          return true;
        }
        if (this.exit) {
          done();
          reject(new Error(`adapter exited (${JSON.stringify(this.exit)}) before event '${name}'; stderr:\n${this.stderr.slice(-3000)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        const seen = this.records.filter((r) => r.dir === 'out').map((r) => r.msg.event || r.msg.command).join(', ');
        reject(new Error(`no '${name}' event within ${timeout} ms; seen from adapter: ${seen}; stderr:\n${this.stderr.slice(-3000)}`));
      }, timeout);
      const waiter = () => check();
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      if (!check()) this.waiters.push(waiter);
    });
  }

  hasEvent(name) {
    return this.records.some((r) => r.dir === 'out' && r.msg.type === 'event' && r.msg.event === name);
  }

  async initialize(extra = {}) {
    return this.ok('initialize', {
      clientID: 'pipeline-dap-tests',
      clientName: 'pipeline-dap node tests',
      adapterID: 'pipeline',
      linesStartAt1: true,
      columnsStartAt1: true,
      pathFormat: 'path',
      supportsRunInTerminalRequest: true,
      supportsVariableType: true,
      ...extra,
    });
  }

  /**
   * VS Code's start sequence: initialize, launch (not awaited), on `initialized`: setBreakpoints per
   * file, setExceptionBreakpoints, configurationDone; then the launch response.
   * @param {object} args launch arguments
   * @param {Record<string, Array<object>>} [breakpoints] file -> SourceBreakpoint[]
   * @returns {{launch: any, breakpoints: Record<string, any>}}
   */
  async launch(args, breakpoints = {}, { request = 'launch', filters = [] } = {}) {
    await this.initialize();
    const launched = this.request(request, args, 60000);
    let failedEarly;
    const initialized = this.waitEvent('initialized', undefined, 30000);
    // a launch that fails comes back without `initialized`: do not wait for it then
    const first = await Promise.race([initialized.then(() => 'initialized'), launched.then((r) => (r.success ? 'launched' : ((failedEarly = r), 'failed')))]);
    if (first === 'failed') {
      initialized.catch(() => {});
      return { launch: failedEarly, breakpoints: {} };
    }
    if (first === 'launched') await initialized;
    const bps = {};
    for (const [file, list] of Object.entries(breakpoints)) {
      bps[file] = await this.ok('setBreakpoints', { source: { path: file, name: path.basename(file) }, breakpoints: list, lines: list.map((b) => b.line) });
    }
    await this.ok('setExceptionBreakpoints', { filters });
    await this.ok('configurationDone', {});
    return { launch: await launched, breakpoints: bps };
  }

  /** The stopped thread's frames. */
  async stack(threadId) {
    const r = await this.ok('stackTrace', { threadId, startFrame: 0, levels: 20 });
    return r.body.stackFrames;
  }

  async variables(frameId, scopeName) {
    const scopes = (await this.ok('scopes', { frameId })).body.scopes;
    const scope = scopes.find((s) => s.name === scopeName);
    if (!scope) throw new Error(`no scope '${scopeName}' in ${JSON.stringify(scopes.map((s) => s.name))}`);
    return (await this.ok('variables', { variablesReference: scope.variablesReference })).body.variables;
  }

  /** Disconnects (with a timeout) and makes sure the process is gone. */
  async stop() {
    try {
      if (!this.exit) await this.request('disconnect', { terminateDebuggee: true }, 10000);
    } catch {
      // ignore: killed below
    }
    const proc = this.dc._adapterProcess;
    if (proc && !this.exit) {
      // like VS Code: after the disconnect answer, close the adapter's stdin; kill it if it lingers
      proc.stdin.end();
      await new Promise((resolve) => {
        const t = setTimeout(() => {
          proc.kill('SIGKILL');
          resolve();
        }, 5000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        if (this.exit) {
          clearTimeout(t);
          resolve();
        }
      });
    }
    this.dc.stopAdapter();
  }
}

module.exports = { DapSession, withTimeout, checkServerInstalled };
