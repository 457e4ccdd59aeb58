// F5 on an open Tekton / Argo file with no launch.json: build a local launch configuration for it.
import * as vscode from 'vscode';
import { defaultDocument, PipelineDocument, runnableDocuments } from './yamlDocs';

export const DEBUG_TYPE = 'pipeline';

export class PipelineConfigurationProvider implements vscode.DebugConfigurationProvider {
  async resolveDebugConfiguration(
    _folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
    _token?: vscode.CancellationToken,
  ): Promise<vscode.DebugConfiguration | undefined | null> {
    const empty = !config.type && !config.request && !config.name;
    if (empty) return this.configForActiveEditor();
    if (config.request === 'launch' && !config.program) {
      // a launch configuration without a program: run the open file
      const fromEditor = await this.configForActiveEditor();
      if (!fromEditor) return undefined;
      return { ...fromEditor, ...config, program: fromEditor.program, object: config.object ?? fromEditor.object };
    }
    return config;
  }

  /** A launch configuration for the active editor's file, asking which document when it holds several. */
  async configForActiveEditor(): Promise<vscode.DebugConfiguration | undefined> {
    const editor = vscode.window.activeTextEditor;
    const doc = editor?.document;
    const docs = doc ? runnableDocuments(doc.getText()) : [];
    if (!doc || docs.length === 0) {
      await vscode.window.showErrorMessage(
        'Pipeline Debugger: open a Tekton (apiVersion: tekton.dev/…) or Argo (apiVersion: argoproj.io/…) YAML file with a Task, Pipeline, TaskRun, PipelineRun, Workflow or WorkflowTemplate to debug it, or add a "pipeline" configuration to launch.json.',
      );
      return undefined;
    }
    if (doc.uri.scheme !== 'file') {
      await vscode.window.showErrorMessage('Pipeline Debugger: save the file to disk first; the debug adapter runs files, not unsaved editors.');
      return undefined;
    }
    let chosen: PipelineDocument | undefined = docs[0];
    if (docs.length > 1) {
      chosen = await pickDocument(docs, doc.uri);
      if (!chosen) return undefined; // QuickPick dismissed: do not start
    }
    const config: vscode.DebugConfiguration = {
      type: DEBUG_TYPE,
      request: 'launch',
      name: `Debug ${chosen.object}`,
      program: doc.uri.fsPath,
      engine: 'local',
    };
    if (docs.length > 1) config.object = chosen.object;
    return config;
  }
}

interface DocItem extends vscode.QuickPickItem {
  doc: PipelineDocument;
}

async function pickDocument(docs: PipelineDocument[], uri: vscode.Uri): Promise<PipelineDocument | undefined> {
  const def = defaultDocument(docs);
  const ordered = def ? [def, ...docs.filter((d) => d !== def)] : docs;
  const items: DocItem[] = ordered.map((d) => ({
    label: d.object,
    description: `${d.engine === 'tekton' ? 'Tekton' : 'Argo'} ${d.kind}${d === def ? ' (default)' : ''}`,
    detail: `${vscode.workspace.asRelativePath(uri)}:${d.line}`,
    doc: d,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    title: 'Pipeline Debugger: which document to run?',
    placeHolder: 'The file holds several runnable documents (sets "object": "Kind/name")',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  return picked?.doc;
}
