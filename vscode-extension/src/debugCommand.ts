// The `pipelineDap.debug` command behind the language server's code lenses: "Debug" passes
// `[launchConfig]`, "Debug from here" passes `[launchConfig, {breakpoints: [{path, line}]}]`
// (line 1-based) so the run stops at that pipeline task.
import * as vscode from 'vscode';

export const DEBUG_COMMAND = 'pipelineDap.debug';

export interface BreakpointSpec {
  path: string;
  /** 1-based */
  line: number;
}

export interface DebugExtra {
  breakpoints?: BreakpointSpec[];
}

export async function debugCommand(config: vscode.DebugConfiguration, extra?: DebugExtra): Promise<boolean> {
  if (!config || typeof config !== 'object' || typeof config.type !== 'string') {
    await vscode.window.showErrorMessage('Pipeline Debugger: the pipelineDap.debug command needs a launch configuration as its argument.');
    return false;
  }
  const specs = (extra?.breakpoints ?? []).filter(
    (b): b is BreakpointSpec => !!b && typeof b.path === 'string' && Number.isInteger(b.line) && b.line >= 1,
  );
  const missing = specs.filter((b) => !hasBreakpointAt(b));
  if (missing.length > 0) {
    vscode.debug.addBreakpoints(
      missing.map((b) => new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(b.path), new vscode.Position(b.line - 1, 0)))),
    );
  }
  return vscode.debug.startDebugging(folderOf(config.program), config);
}

/** The workspace folder holding `program`, if any (startDebugging then resolves ${workspaceFolder} against it). */
export function folderOf(program: unknown): vscode.WorkspaceFolder | undefined {
  if (typeof program !== 'string' || !program) return undefined;
  return vscode.workspace.getWorkspaceFolder(vscode.Uri.file(program));
}

/** Whether a source breakpoint (enabled or not) is already on that line of that file. */
function hasBreakpointAt(spec: BreakpointSpec): boolean {
  const uri = vscode.Uri.file(spec.path).toString();
  return vscode.debug.breakpoints.some(
    (bp) => bp instanceof vscode.SourceBreakpoint && bp.location.uri.toString() === uri && bp.location.range.start.line === spec.line - 1,
  );
}
