// pipelineDap.trace: every DAP message of a `pipeline` session, both directions, to the output channel
// "Pipeline Debug Trace" and, with pipelineDap.traceFile, as JSON lines {"dir": "in"|"out", "msg": {...}}
// ("in" = VS Code to adapter, "out" = adapter to VS Code).
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { expandVariables } from './serverCommand';

export const TRACE_CHANNEL = 'Pipeline Debug Trace';

export class TraceTrackerFactory implements vscode.DebugAdapterTrackerFactory, vscode.Disposable {
  private channel: vscode.OutputChannel | undefined;

  createDebugAdapterTracker(session: vscode.DebugSession): vscode.ProviderResult<vscode.DebugAdapterTracker> {
    const cfg = vscode.workspace.getConfiguration('pipelineDap', session.workspaceFolder);
    if (!cfg.get<boolean>('trace')) return undefined;
    const folder = session.workspaceFolder?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const rawFile = (cfg.get<string>('traceFile') ?? '').trim();
    const file = rawFile ? path.resolve(folder ?? '', expandVariables(rawFile, folder)) : undefined;
    this.channel ??= vscode.window.createOutputChannel(TRACE_CHANNEL);
    const channel = this.channel;
    let fileOk = true;
    if (file) {
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
      } catch (e) {
        fileOk = false;
        channel.appendLine(`cannot create the folder of ${file}: ${String(e)}`);
      }
    }
    const record = (dir: 'in' | 'out', msg: unknown): void => {
      const json = JSON.stringify(msg);
      channel.appendLine(`${new Date().toISOString()} ${dir === 'in' ? '-> adapter' : '<- adapter'} ${json}`);
      if (file && fileOk) {
        try {
          fs.appendFileSync(file, JSON.stringify({ dir, msg }) + '\n');
        } catch (e) {
          fileOk = false;
          channel.appendLine(`cannot append to ${file}: ${String(e)}; file tracing stops`);
        }
      }
    };
    channel.appendLine(`--- session "${session.name}" (${session.id})${file ? `, tracing to ${file}` : ''}`);
    return {
      onWillReceiveMessage: (m: unknown) => record('in', m),
      onDidSendMessage: (m: unknown) => record('out', m),
      onError: (e: Error) => channel.appendLine(`adapter error: ${e.message}`),
      onExit: (code: number | undefined, signal: string | undefined) =>
        channel.appendLine(`--- adapter exited (code ${code ?? '-'}, signal ${signal ?? '-'})`),
    };
  }

  dispose(): void {
    this.channel?.dispose();
  }
}
