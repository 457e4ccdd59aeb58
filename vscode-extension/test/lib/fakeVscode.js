// A small stand-in for the `vscode` module, enough to unit-test the extension's providers under node.
'use strict';
const Module = require('module');

class DebugStackFrame {
  constructor(session, threadId, frameId) {
    Object.assign(this, { session, threadId, frameId });
  }
}
class DebugThread {
  constructor(session, threadId) {
    Object.assign(this, { session, threadId });
  }
}
class DebugAdapterExecutable {
  constructor(command, args, options) {
    Object.assign(this, { command, args, options });
  }
}
class Uri {
  constructor(scheme, fsPath) {
    Object.assign(this, { scheme, fsPath, path: fsPath });
  }
  static file(p) {
    return new Uri('file', require('path').resolve(p));
  }
  toString() {
    return `${this.scheme}://${this.fsPath}`;
  }
}
class Position {
  constructor(line, character) {
    Object.assign(this, { line, character });
  }
}
class Range {
  constructor(start, end) {
    Object.assign(this, { start, end });
  }
}
class Location {
  constructor(uri, rangeOrPosition) {
    this.uri = uri;
    this.range = rangeOrPosition instanceof Position ? new Range(rangeOrPosition, rangeOrPosition) : rangeOrPosition;
  }
}
class Breakpoint {
  constructor(enabled = true) {
    this.enabled = enabled;
  }
}
class SourceBreakpoint extends Breakpoint {
  constructor(location, enabled) {
    super(enabled);
    this.location = location;
  }
}
class FunctionBreakpoint extends Breakpoint {
  constructor(functionName) {
    super();
    this.functionName = functionName;
  }
}

/** A minimal vscode.EventEmitter-like event: `event(listener)` returns a disposable; `fire(x)` calls listeners. */
function emitter() {
  const listeners = new Set();
  const event = (l) => {
    listeners.add(l);
    return { dispose: () => listeners.delete(l) };
  };
  event.fire = (x) => [...listeners].forEach((l) => l(x));
  event.count = () => listeners.size;
  return event;
}

function createFake() {
  const calls = { errors: [], quickPicks: [], output: [], commands: [], startDebugging: [], addedBreakpoints: [] };
  const fake = {
    calls,
    settings: {},
    quickPickAnswer: (items) => items[0],
    errorAnswer: () => undefined,
    DebugStackFrame,
    DebugThread,
    DebugAdapterExecutable,
    Uri,
    Position,
    Range,
    Location,
    Breakpoint,
    SourceBreakpoint,
    FunctionBreakpoint,
    window: {
      activeTextEditor: undefined,
      async showErrorMessage(msg, ...actions) {
        calls.errors.push({ msg, actions });
        return fake.errorAnswer(msg, actions);
      },
      async showQuickPick(items, options) {
        calls.quickPicks.push({ items, options });
        return fake.quickPickAnswer(items);
      },
      createOutputChannel(name) {
        return {
          name,
          append: (t) => calls.output.push(t),
          appendLine: (l) => calls.output.push(l),
          replace() {},
          clear() {},
          show: () => calls.commands.push(['(output.show)', name]),
          hide() {},
          dispose() {},
        };
      },
    },
    workspace: {
      workspaceFolders: undefined,
      textDocuments: [],
      asRelativePath: (uri) => uri.fsPath,
      getConfiguration: (section) => ({ get: (k) => fake.settings[`${section}.${k}`] }),
      getWorkspaceFolder: (uri) =>
        (fake.workspace.workspaceFolders || []).find((f) => uri.fsPath === f.uri.fsPath || uri.fsPath.startsWith(f.uri.fsPath + '/')),
      onDidOpenTextDocument: emitter(),
      onDidChangeConfiguration: emitter(),
    },
    debug: {
      activeDebugSession: undefined,
      activeStackItem: undefined,
      breakpoints: [],
      addBreakpoints(bps) {
        calls.addedBreakpoints.push(...bps);
        fake.debug.breakpoints = [...fake.debug.breakpoints, ...bps];
      },
      async startDebugging(folder, config) {
        calls.startDebugging.push({ folder, config });
        return true;
      },
      registerDebugConfigurationProvider: () => ({ dispose() {} }),
      registerDebugAdapterDescriptorFactory: () => ({ dispose() {} }),
      registerDebugAdapterTrackerFactory: () => ({ dispose() {} }),
    },
    commands: {
      executeCommand: async (...a) => calls.commands.push(a),
      registerCommand: (id, fn) => {
        fake.registeredCommands[id] = fn;
        return { dispose: () => delete fake.registeredCommands[id] };
      },
    },
    registeredCommands: {},
    env: { clipboard: { writeText: async () => {} } },
  };
  return fake;
}

/** Installs a fresh fake as `require('vscode')` and returns it; modules under out/ are reloaded. */
function installFakeVscode() {
  const fake = createFake();
  const origResolve = Module._resolveFilename;
  if (!Module.__fakeVscodeHooked) {
    Module._resolveFilename = function (request, ...rest) {
      if (request === 'vscode') return 'vscode';
      return origResolve.call(this, request, ...rest);
    };
    Module.__fakeVscodeHooked = true;
  }
  require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: fake };
  for (const k of Object.keys(require.cache)) if (/[\\/]out[\\/]/.test(k)) delete require.cache[k];
  return fake;
}

/** A TextEditor-like object for a file with `text`. */
function editorFor(fsPath, text, scheme = 'file') {
  return { document: documentFor(fsPath, text, scheme) };
}

/** A TextDocument-like object. */
function documentFor(fsPath, text, scheme = 'file', languageId = 'yaml') {
  return { uri: { fsPath, scheme }, languageId, getText: () => text };
}

module.exports = { installFakeVscode, editorFor, documentFor };
