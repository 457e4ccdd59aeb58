import * as vscode from 'vscode';
import { PipelineAdapterFactory } from './adapterFactory';
import { DEBUG_TYPE, PipelineConfigurationProvider } from './configProvider';
import { openShellInPausedStep } from './shell';
import { TraceTrackerFactory } from './trace';

export function activate(context: vscode.ExtensionContext): void {
  const tracker = new TraceTrackerFactory();
  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new PipelineConfigurationProvider()),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new PipelineAdapterFactory()),
    vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, tracker),
    tracker,
    vscode.commands.registerCommand('pipelineDap.openShell', openShellInPausedStep),
  );
  // Room for the language client of `pipeline-dap lsp` (a later issue): it will be started here.
}

export function deactivate(): void {
  // nothing to stop: debug adapters are owned by VS Code's debug sessions
}
