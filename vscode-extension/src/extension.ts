import * as vscode from 'vscode';
import { PipelineAdapterFactory } from './adapterFactory';
import { DEBUG_TYPE, PipelineConfigurationProvider } from './configProvider';
import { DEBUG_COMMAND, debugCommand } from './debugCommand';
import { LanguageServer } from './languageClient';
import { openShellInPausedStep } from './shell';
import { TraceTrackerFactory } from './trace';

let languageServer: LanguageServer | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const tracker = new TraceTrackerFactory();
  languageServer = new LanguageServer();
  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new PipelineConfigurationProvider()),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new PipelineAdapterFactory()),
    vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, tracker),
    tracker,
    vscode.commands.registerCommand('pipelineDap.openShell', openShellInPausedStep),
    // the language server's "Debug" / "Debug from here" code lenses
    vscode.commands.registerCommand(DEBUG_COMMAND, debugCommand),
    languageServer,
  );
  // `pipeline-dap lsp` for YAML files; failures are reported by LanguageServer, never thrown here
  void languageServer.start();
}

export async function deactivate(): Promise<void> {
  // debug adapters are owned by VS Code's debug sessions; the language server is ours to stop
  const ls = languageServer;
  languageServer = undefined;
  await ls?.stop();
}
