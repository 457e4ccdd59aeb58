// Starts `pipeline-dap serve` (DAP over stdio) for each debug session.
import * as path from 'path';
import * as vscode from 'vscode';
import { expandVariables, Probes, realProbes, resolveServerCommand } from './serverCommand';

export class PipelineAdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(private readonly probes: Probes = realProbes()) {}

  createDebugAdapterDescriptor(session: vscode.DebugSession): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    const cfg = vscode.workspace.getConfiguration('pipelineDap', session.workspaceFolder);
    const folder = session.workspaceFolder?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const res = resolveServerCommand(
      { serverCommand: cfg.get<string | string[]>('serverCommand'), pythonPath: cfg.get<string>('pythonPath') },
      this.probes,
      (s) => expandVariables(s, folder),
    );
    if (!res.ok) {
      // VS Code shows the thrown message (modal); the notification adds the actions that fix it
      void showFix(res.installCommand);
      throw new Error(res.message);
    }
    const program: unknown = session.configuration.program;
    const cwd = folder ?? (typeof program === 'string' && program ? path.dirname(program) : undefined);
    return new vscode.DebugAdapterExecutable(res.server.command, res.server.args, {
      cwd,
      env: { PYTHONUNBUFFERED: '1' },
    });
  }
}

async function showFix(installCommand: string): Promise<void> {
  const openSettings = 'Open Settings';
  const copy = 'Copy Install Command';
  const choice = await vscode.window.showErrorMessage(
    `Pipeline Debugger: the pipeline-dap debug adapter could not be started. Install it (${installCommand}) or set pipelineDap.pythonPath / pipelineDap.serverCommand.`,
    openSettings,
    copy,
  );
  if (choice === openSettings) await vscode.commands.executeCommand('workbench.action.openSettings', 'pipelineDap');
  if (choice === copy) await vscode.env.clipboard.writeText(installCommand);
}
