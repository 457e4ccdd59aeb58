// "Pipeline: Open Shell in Paused Step": asks the server for a shell in the focused paused step.
// Contract: evaluate {expression: ":shell", context: "repl", frameId}; the server then sends a
// `runInTerminal` reverse request, which VS Code itself carries out.
import * as vscode from 'vscode';
import { DEBUG_TYPE } from './configProvider';

export const SHELL_EXPRESSION = ':shell';

export async function openShellInPausedStep(): Promise<void> {
  const session = vscode.debug.activeDebugSession;
  if (!session || session.type !== DEBUG_TYPE) {
    void vscode.window.showErrorMessage('Pipeline: no pipeline debug session is active.');
    return;
  }
  try {
    const frameId = await focusedFrameId(session);
    if (frameId === undefined) {
      void vscode.window.showErrorMessage('Pipeline: no paused step is selected; select a step in the CALL STACK view.');
      return;
    }
    await session.customRequest('evaluate', { expression: SHELL_EXPRESSION, context: 'repl', frameId });
  } catch (e) {
    void vscode.window.showErrorMessage(`Pipeline: could not open a shell in the paused step: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The DAP frame id of the focused stack frame; for a focused thread, its top frame. */
async function focusedFrameId(session: vscode.DebugSession): Promise<number | undefined> {
  const item = vscode.debug.activeStackItem;
  if (item && item.session.id !== session.id) return undefined;
  if (item instanceof vscode.DebugStackFrame) return item.frameId;
  if (item instanceof vscode.DebugThread) {
    const st = await session.customRequest('stackTrace', { threadId: item.threadId, startFrame: 0, levels: 1 });
    return st?.stackFrames?.[0]?.id;
  }
  return undefined;
}
