// Starts `pipeline-dap lsp` (the language server: outline, code lenses, diagnostics, hover, definition,
// references, completion) with vscode-languageclient for YAML documents. The server answers only for
// documents that hold Tekton / Argo objects, so other YAML gets nothing and the YAML extension keeps
// doing its part. The command comes from the same settings as the debug adapter's (serverCommand.ts).
import * as vscode from 'vscode';
import type * as lc from 'vscode-languageclient/node';
import { expandVariables, Probes, realProbes, resolveServerCommand, Resolution, ServerCommand } from './serverCommand';
import { pipelineDocuments } from './yamlDocs';

/** Also the prefix of the client's trace setting: `pipelineDap.languageServer.trace.server`. */
export const CLIENT_ID = 'pipelineDap.languageServer';
export const CLIENT_NAME = 'Pipeline Language Server';
export const ENABLED_SETTING = 'pipelineDap.languageServer.enabled';
export const DOCUMENT_SELECTOR: lc.DocumentSelector = [
  { language: 'yaml', scheme: 'file' },
  { language: 'yaml', scheme: 'untitled' },
];
/** Restarts after a crash of a running server, within RESTART_WINDOW_MS; one more crash and it stays down. */
export const MAX_RESTARTS = 3;
export const RESTART_WINDOW_MS = 3 * 60 * 1000;
const STDERR_SETTLE_MS = 300;

/** The part of vscode-languageclient/node used here (the unit tests pass a stand-in). */
export type ClientLib = Pick<typeof lc, 'LanguageClient' | 'CloseAction' | 'ErrorAction' | 'State' | 'RevealOutputChannelOn'>;

export function languageServerEnabled(): boolean {
  return vscode.workspace.getConfiguration('pipelineDap').get<boolean>('languageServer.enabled') !== false;
}

function firstFolder(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** `pipeline-dap lsp`, from pipelineDap.serverCommand / pipelineDap.pythonPath / PATH like the debug adapter. */
export function resolveLanguageServer(probes: Probes): Resolution {
  const cfg = vscode.workspace.getConfiguration('pipelineDap');
  const folder = firstFolder();
  return resolveServerCommand(
    { serverCommand: cfg.get<string | string[]>('serverCommand'), pythonPath: cfg.get<string>('pythonPath') },
    probes,
    (s) => expandVariables(s, folder),
    'lsp',
  );
}

/** No `transport`: the client would add `--stdio`, which `pipeline-dap lsp` does not take (it is stdio by default). */
export function serverOptions(server: ServerCommand): lc.Executable {
  return { command: server.command, args: server.args, options: { cwd: firstFolder(), env: { PYTHONUNBUFFERED: '1' } } };
}

export function clientOptions(lib: ClientLib, outputChannel: vscode.OutputChannel, errorHandler: lc.ErrorHandler): lc.LanguageClientOptions {
  return {
    documentSelector: DOCUMENT_SELECTOR,
    outputChannel,
    // failures are reported once, by LanguageServer.report, with what to do about them
    revealOutputChannelOn: lib.RevealOutputChannelOn.Never,
    errorHandler,
    initializationFailedHandler: (error) => {
      outputChannel.appendLine(`initialize failed: ${error instanceof Error ? error.message : String(error)}`);
      return false; // no retry: the client stops and start() rejects
    },
  };
}

export function commandLine(server: ServerCommand): string {
  return [server.command, ...server.args].map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

/** Owns the language client: starts it, restarts it on setting changes, reports failures once. */
export class LanguageServer implements vscode.Disposable {
  readonly output: vscode.OutputChannel;
  private client: lc.LanguageClient | undefined;
  /** the client whose first start() is awaited: its failure is reported by start() itself */
  private starting: lc.LanguageClient | undefined;
  private reported = false;
  private waitForPipeline: vscode.Disposable | undefined;
  private restarts: number[] = [];
  private stderrTail = '';
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly probes: Probes = realProbes(),
    private readonly loadLib: () => ClientLib = () => require('vscode-languageclient/node') as ClientLib,
  ) {
    this.output = vscode.window.createOutputChannel(CLIENT_NAME);
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (['pipelineDap.languageServer.enabled', 'pipelineDap.serverCommand', 'pipelineDap.pythonPath'].some((k) => e.affectsConfiguration(k))) {
          void this.restart();
        }
      }),
    );
  }

  get running(): lc.LanguageClient | undefined {
    return this.client;
  }

  async start(): Promise<void> {
    if (this.client) return;
    if (!languageServerEnabled()) {
      this.output.appendLine(`Not started: "${ENABLED_SETTING}" is false.`);
      return;
    }
    const res = resolveLanguageServer(this.probes);
    if (!res.ok) {
      this.output.appendLine(res.message);
      // no popup for a YAML file that is not a pipeline: wait until a Tekton / Argo document is open
      this.whenPipelineOpen(() => this.report(res.message, res.installCommand));
      return;
    }
    const lib = this.loadLib();
    this.output.appendLine(`Starting ${commandLine(res.server)} (from ${res.server.source})`);
    this.stderrTail = '';
    const client = this.createClient(lib, res.server);
    this.client = client;
    this.starting = client;
    try {
      await client.start();
      this.output.appendLine('The language server is running.');
    } catch (e) {
      if (this.client !== client) return; // stopped or replaced meanwhile
      this.client = undefined;
      // the failed write to a process that exited at once can come before its stderr has been read:
      // give that a moment, its last line is the most useful part of the message
      await new Promise((r) => setTimeout(r, STDERR_SETTLE_MS));
      this.report(this.startFailure(res.server, e), upgradeCommand(res.server));
      void client.dispose().catch(() => undefined);
    } finally {
      if (this.starting === client) this.starting = undefined;
    }
  }

  async stop(): Promise<void> {
    this.waitForPipeline?.dispose();
    this.waitForPipeline = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.dispose();
      } catch {
        // it may have died already
      }
    }
  }

  /** After a setting change: stop, forget what was reported, start again (or not, when disabled). */
  async restart(): Promise<void> {
    await this.stop();
    this.reported = false;
    this.restarts = [];
    await this.start();
  }

  dispose(): void {
    void this.stop();
    for (const d of this.disposables) d.dispose();
    this.output.dispose();
  }

  private createClient(lib: ClientLib, server: ServerCommand): lc.LanguageClient {
    const self = this;
    // eslint-disable-next-line prefer-const
    let client: lc.LanguageClient;
    const errorHandler: lc.ErrorHandler = {
      error: (_error, _message, count) => {
        // writes to a server that died during start-up fail (EPIPE): its exit rejects start(), which reports it
        if (self.starting === client) return { action: lib.ErrorAction.Continue, handled: true };
        if (count !== undefined && count <= 3) return { action: lib.ErrorAction.Continue, handled: true };
        self.report(`${CLIENT_NAME}: the connection to "${commandLine(server)}" keeps failing; the language server was stopped. ${seeOutput()}`);
        return { action: lib.ErrorAction.Shutdown, handled: true };
      },
      closed: () => {
        // exited during start-up (start() rejects, and that is reported), or already given up on
        if (self.starting === client || self.client !== client || client.state === lib.State.Starting) {
          return { action: lib.CloseAction.DoNotRestart, handled: true };
        }
        const now = Date.now();
        self.restarts = self.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
        self.restarts.push(now);
        if (self.restarts.length <= MAX_RESTARTS) {
          self.output.appendLine(`The language server exited; restarting it (${self.restarts.length} of ${MAX_RESTARTS}).`);
          return { action: lib.CloseAction.Restart, handled: true };
        }
        self.client = undefined;
        self.report(
          `${CLIENT_NAME}: "${commandLine(server)}" exited ${MAX_RESTARTS + 1} times in ${RESTART_WINDOW_MS / 60000} minutes and is not restarted` +
            `${self.lastStderrLine() ? ` (last words: ${self.lastStderrLine()})` : ''}. ` +
            `Please report it with the output of "${CLIENT_NAME}"; change a pipelineDap setting or reload the window to start it again, ` +
            `or set "${ENABLED_SETTING}" to false.`,
        );
        return { action: lib.CloseAction.DoNotRestart, handled: true };
      },
    };
    const output = teeOutput(this.output, (text) => {
      this.stderrTail = (this.stderrTail + text).slice(-4000);
    });
    class PipelineLanguageClient extends lib.LanguageClient {
      // the client's own forced pop-ups ("couldn't create connection to server") go to the output
      // only: LanguageServer.report says what failed and how to fix it, once
      override error(message: string, data?: unknown, showNotification: boolean | 'force' = true): void {
        super.error(message, data, showNotification === 'force' ? false : showNotification);
        if (showNotification === 'force' && self.client === client && self.starting !== client) {
          self.report(`${CLIENT_NAME}: ${message} ${seeOutput()}`);
        }
      }
    }
    client = new PipelineLanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions(server), clientOptions(lib, output, errorHandler));
    return client;
  }

  private startFailure(server: ServerCommand, error: unknown): string {
    const why = this.lastStderrLine() || (error instanceof Error ? error.message : String(error));
    return (
      `${CLIENT_NAME}: "${commandLine(server)}" (from ${server.source}) did not start the language server: ${why}. ` +
      `Update pipeline-dap to a version with "pipeline-dap lsp" (${upgradeCommand(server)}), ` +
      `or turn the language features off with "${ENABLED_SETTING}": false. ${seeOutput()}`
    );
  }

  private lastStderrLine(): string {
    const lines = this.stderrTail.split('\n').map((l) => l.trim()).filter(Boolean);
    return lines.length ? lines[lines.length - 1].slice(0, 300) : '';
  }

  private whenPipelineOpen(action: () => void): void {
    if (vscode.workspace.textDocuments.some(isPipelineYaml)) {
      action();
      return;
    }
    this.waitForPipeline?.dispose();
    this.waitForPipeline = vscode.workspace.onDidOpenTextDocument((doc) => {
      if (!isPipelineYaml(doc)) return;
      this.waitForPipeline?.dispose();
      this.waitForPipeline = undefined;
      action();
    });
  }

  /** One error message per start (until a setting changes), with the actions that fix it. */
  private report(message: string, installCommand?: string): void {
    this.output.appendLine(message);
    if (this.reported) return;
    this.reported = true;
    void showFix(message, installCommand, this.output);
  }
}

function seeOutput(): string {
  return `Details: the "${CLIENT_NAME}" output.`;
}

function upgradeCommand(server: ServerCommand): string {
  return server.source === 'pipelineDap.pythonPath' ? `${server.command} -m pip install -U pipeline-dap` : 'python3 -m pip install -U pipeline-dap';
}

function isPipelineYaml(doc: vscode.TextDocument): boolean {
  if (doc.languageId !== 'yaml' || (doc.uri.scheme !== 'file' && doc.uri.scheme !== 'untitled')) return false;
  const text = doc.getText();
  return /(tekton\.dev|argoproj\.io)\//.test(text) && pipelineDocuments(text).length > 0;
}

async function showFix(message: string, installCommand: string | undefined, output: vscode.OutputChannel): Promise<void> {
  const openSettings = 'Open Settings';
  const copy = 'Copy Install Command';
  const showOutput = 'Show Output';
  const actions = installCommand ? [openSettings, copy, showOutput] : [openSettings, showOutput];
  const choice = await vscode.window.showErrorMessage(message, ...actions);
  if (choice === openSettings) await vscode.commands.executeCommand('workbench.action.openSettings', 'pipelineDap');
  if (choice === copy && installCommand) await vscode.env.clipboard.writeText(installCommand);
  if (choice === showOutput) output.show(true);
}

/** The output channel, also passing what the client appends (the server's stderr) to `onAppend`. */
function teeOutput(channel: vscode.OutputChannel, onAppend: (text: string) => void): vscode.OutputChannel {
  return {
    name: channel.name,
    append: (value: string) => {
      onAppend(value);
      channel.append(value);
    },
    appendLine: (value: string) => channel.appendLine(value),
    replace: (value: string) => channel.replace(value),
    clear: () => channel.clear(),
    show: (a?: boolean | vscode.ViewColumn, b?: boolean) => (typeof a === 'boolean' ? channel.show(a) : channel.show(a, b)),
    hide: () => channel.hide(),
    dispose: () => undefined, // the LanguageServer owns the channel
  };
}
