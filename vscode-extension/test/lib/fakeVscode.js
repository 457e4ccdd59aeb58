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

function createFake() {
  const calls = { errors: [], quickPicks: [], output: [], commands: [] };
  const fake = {
    calls,
    settings: {},
    quickPickAnswer: (items) => items[0],
    DebugStackFrame,
    DebugThread,
    DebugAdapterExecutable,
    window: {
      activeTextEditor: undefined,
      async showErrorMessage(msg, ...actions) {
        calls.errors.push({ msg, actions });
        return undefined;
      },
      async showQuickPick(items, options) {
        calls.quickPicks.push({ items, options });
        return fake.quickPickAnswer(items);
      },
      createOutputChannel(name) {
        return { name, appendLine: (l) => calls.output.push(l), dispose() {} };
      },
    },
    workspace: {
      workspaceFolders: undefined,
      asRelativePath: (uri) => uri.fsPath,
      getConfiguration: (section) => ({ get: (k) => fake.settings[`${section}.${k}`] }),
    },
    debug: { activeDebugSession: undefined, activeStackItem: undefined },
    commands: { executeCommand: async (...a) => calls.commands.push(a) },
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
  return { document: { uri: { fsPath, scheme }, getText: () => text } };
}

module.exports = { installFakeVscode, editorFor };
