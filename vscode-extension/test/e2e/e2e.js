// The end-to-end check in a real VS Code (code-server) driven through headless Debian Chromium:
// open the fixture pipeline's folder (no launch.json), open a Task file, click the gutter of a step
// line, open the Pipeline file, F5, see the paused call stack (step + pipeline task) and a variable,
// F10 to the next step, F5 to the end. Then the language server (`pipeline-dap lsp`): the "Debug"
// code lens above the Pipeline document, the Outline, and a "Debug from here" lens that sets a
// breakpoint on a pipeline task and starts a session that stops there. Screenshots go to OUT_DIR.
// Env: CS_URL (with ?folder=), OUT_DIR, TASK_FILE, PIPELINE_FILE, BP_LINE, STEP, NEXT_STEP, TASK,
// ENV_NAME, ENV_VALUE, LENS_TASK, LENS_STEP, CHROME_DIR, CHROMIUM (default /usr/bin/chromium).
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');
const { pipelineDocuments } = require('../../out/yamlDocs');
const fixtures = require('../lib/fixtures');

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`set ${k}`);
  return v;
};
const CS_URL = env('CS_URL');
const OUT = env('OUT_DIR');
const TASK_FILE = env('TASK_FILE');
const PIPELINE_FILE = env('PIPELINE_FILE');
const BP_LINE = Number(env('BP_LINE'));
const STEP = env('STEP');
const NEXT_STEP = env('NEXT_STEP');
const TASK = env('TASK');
const ENV_NAME = env('ENV_NAME');
const ENV_VALUE = env('ENV_VALUE');
const LENS_TASK = env('LENS_TASK');
const LENS_STEP = env('LENS_STEP');
const CHROME_DIR = env('CHROME_DIR');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const log = (...a) => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

let page;
let shot = 0;
async function screenshot(name, number) {
  if (number !== undefined) shot = number - 1;
  const file = path.join(OUT, `${String(++shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  log('screenshot', path.relative(process.cwd(), file));
  return file;
}

/** Open a file of the workspace with Quick Open (Ctrl+P). */
async function openFile(rel) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await input.fill(rel);
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: path.basename(rel) }).first();
  await row.waitFor({ timeout: 15000 });
  await page.keyboard.press('Enter');
  await page.locator(`.tab.active[aria-label*="${path.basename(rel)}"], .tab.active:has-text("${path.basename(rel)}")`).first().waitFor({ timeout: 10000 });
  await sleep(500);
}

/** Reveal a line (Ctrl+G) and return the bounding box of its line number in the active editor. */
async function lineNumberBox(line) {
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await input.fill(`:${line}`);
  await page.keyboard.press('Enter');
  await sleep(400);
  const editor = page.locator('.editor-group-container.active .monaco-editor').first();
  const num = editor.locator('.margin-view-overlays .line-numbers', { hasText: new RegExp(`^\\s*${line}\\s*$`) }).first();
  await num.waitFor({ timeout: 5000 });
  return { editor, box: await num.boundingBox() };
}

/** Run a command from the Command Palette by its label. */
async function runCommand(label) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await input.fill(`>${label}`);
  // the row whose text starts with the label (the top row may be a "similar command")
  const esc = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: new RegExp(`^\\s*${esc}`) }).first();
  await row.waitFor({ timeout: 10000 });
  await row.click();
  await sleep(500);
}

/** The bounding box of line `line`'s number in `editor` (the line must be on screen). */
async function visibleLineBox(editor, line) {
  const num = editor.locator('.margin-view-overlays .line-numbers', { hasText: new RegExp(`^\\s*${line}\\s*$`) }).first();
  await num.waitFor({ timeout: 5000 });
  return num.boundingBox();
}

/** The code lens titled `title` drawn in the gap right above line `line` of `editor`. */
async function lensAbove(editor, title, line) {
  const lineBox = await visibleLineBox(editor, line);
  const lenses = editor.locator('.codelens-decoration a', { hasText: new RegExp(`^${title}$`) });
  const deadline = Date.now() + 5000;
  for (;;) {
    for (const lens of await lenses.all()) {
      const b = await lens.boundingBox();
      // in the view zone above the line: ends at (or just above) the line's top, within two line heights of it
      if (b && b.y + b.height <= lineBox.y + 3 && b.y >= lineBox.y - 2 * lineBox.height) return { lens, box: b, lineBox };
    }
    if (Date.now() > deadline) throw new Error(`no "${title}" code lens right above line ${line}`);
    await sleep(250);
  }
}

/** A CALL STACK row whose aria-label starts with `prefix` (e.g. 'Stack Frame compile,'). */
function stackRow(prefix) {
  return page.locator(`.debug-call-stack .monaco-list-row[aria-label^="${prefix}"]`).first();
}

async function main() {
  for (const d of ['config', 'cache', 'udd']) fs.mkdirSync(path.join(CHROME_DIR, d), { recursive: true });
  // Chromium's TMPDIR holds its singleton socket: keep the path short (run.sh makes TMPDIR short)
  const chromeTmp = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'chrome-'));
  fs.mkdirSync(OUT, { recursive: true });
  const ctx = await chromium.launchPersistentContext(path.join(CHROME_DIR, 'udd'), {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    env: { ...process.env, XDG_CONFIG_HOME: path.join(CHROME_DIR, 'config'), XDG_CACHE_HOME: path.join(CHROME_DIR, 'cache'), TMPDIR: chromeTmp },
    viewport: { width: 1400, height: 850 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  try {
    page = ctx.pages()[0] || (await ctx.newPage());
    const consoleErrors = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text().slice(0, 300));
    });
    await page.goto(CS_URL, { waitUntil: 'domcontentloaded', timeout: 30000 });
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    await page.waitForSelector('.statusbar', { timeout: 60000 });
    // the explorer shows the fixture folder once the workspace is loaded
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'pipeline.yaml' }).first().waitFor({ timeout: 30000 });
    log('workbench loaded');
    await sleep(1500);

    // 1. the Task file: click the gutter (glyph margin) of the step's line -> a breakpoint
    const taskRel = path.relative(path.dirname(PIPELINE_FILE), TASK_FILE);
    await openFile(taskRel);
    const { editor, box } = await lineNumberBox(BP_LINE);
    const margin = await editor.locator('.margin').first().boundingBox();
    await page.mouse.click(margin.x + 9, box.y + box.height / 2);
    const glyph = editor.locator('.margin [class*="codicon-debug-breakpoint"]').first();
    await glyph.waitFor({ timeout: 5000 });
    log(`breakpoint set by a click in the gutter of ${taskRel}:${BP_LINE}`);
    await screenshot('breakpoint-in-gutter');

    // 2. the Pipeline file, then F5 with no launch.json: the extension's configuration provider runs it
    await openFile(path.basename(PIPELINE_FILE));
    await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
    await page.keyboard.press('F5');
    const picker = page.locator('.quick-input-widget');
    await sleep(1500);
    if (await picker.isVisible()) {
      // a "select debugger" picker: choose ours
      const txt = await picker.innerText();
      log('quick pick after F5:', JSON.stringify(txt.slice(0, 200)));
      await screenshot('picker-after-f5');
      const ours = picker.locator('.monaco-list-row', { hasText: 'Pipeline' }).first();
      if (await ours.count()) await ours.click();
      else await page.keyboard.press('Enter');
    }

    // 3. paused: CALL STACK shows the step frame and the pipeline task frame under it
    // the session starts (debug toolbar), or VS Code shows the launch error in a dialog: fail fast with its text
    const dialog = page.locator('.monaco-dialog-box');
    await Promise.race([page.waitForSelector('.debug-toolbar', { timeout: 30000 }), dialog.waitFor({ timeout: 30000 })]);
    if (await dialog.isVisible()) {
      await screenshot('launch-error');
      throw new Error(`launch failed, VS Code says: ${(await dialog.innerText()).replace(/\s+/g, ' ')}`);
    }
    log('debug session started');
    const stepFrame = stackRow(`Stack Frame ${STEP},`);
    await stepFrame.waitFor({ timeout: 90000 });
    const taskFrame = stackRow(`Stack Frame ${TASK},`);
    await taskFrame.waitFor({ timeout: 10000 });
    const stepLabel = await stepFrame.getAttribute('aria-label');
    const taskLabel = await taskFrame.getAttribute('aria-label');
    log('call stack:', JSON.stringify(stepLabel), JSON.stringify(taskLabel));
    if (!stepLabel.includes(path.basename(TASK_FILE))) throw new Error(`step frame not in ${path.basename(TASK_FILE)}: ${stepLabel}`);
    if (!taskLabel.includes(path.basename(PIPELINE_FILE))) throw new Error(`task frame not in ${path.basename(PIPELINE_FILE)}: ${taskLabel}`);
    // the step frame is directly above the task frame
    const stepIdx = Number(await stepFrame.getAttribute('data-index'));
    const taskIdx = Number(await taskFrame.getAttribute('data-index'));
    if (taskIdx !== stepIdx + 1) throw new Error(`expected the task frame right below the step frame (rows ${stepIdx}, ${taskIdx})`);
    // the editor shows the paused line of the Task file
    await page.locator('.tab.active', { hasText: path.basename(TASK_FILE) }).first().waitFor({ timeout: 10000 });
    await screenshot('paused-call-stack');

    // 4. VARIABLES: expand Environment and read the variable
    const envScope = page.locator('.debug-variables .monaco-list-row', { hasText: 'Environment' }).first();
    await envScope.waitFor({ timeout: 10000 });
    if ((await envScope.getAttribute('aria-expanded')) === 'false') await envScope.click();
    const varRow = page.locator('.debug-variables .monaco-list-row', { hasText: ENV_NAME }).first();
    await varRow.waitFor({ timeout: 10000 });
    const varText = (await varRow.innerText()).replace(/\s+/g, ' ').trim();
    log('variable row:', JSON.stringify(varText));
    if (!varText.includes(ENV_VALUE)) throw new Error(`${ENV_NAME} should show ${ENV_VALUE}, got: ${varText}`);
    await screenshot('variables-environment');

    // bonus: the server's breakpointModes make VS Code offer "Edit Mode..." on the breakpoint (BREAKPOINTS view)
    try {
      const bpRow = page.locator('.debug-breakpoints .monaco-list-row', { hasText: path.basename(TASK_FILE) }).first();
      await bpRow.click({ button: 'right' });
      const editMode = page.getByRole('menuitem', { name: /Edit Mode/ }).first();
      await editMode.waitFor({ timeout: 3000 });
      await screenshot('breakpoint-edit-mode');
      log('breakpoint context menu offers "Edit Mode..."');
    } catch (e) {
      log('(bonus) no "Edit Mode..." in the breakpoint context menu:', e.message.split('\n')[0]);
    } finally {
      await page.keyboard.press('Escape');
      await sleep(300);
    }

    // 5. "Pipeline: Open Shell in Paused Step" from the debug toolbar: the server answers with
    //    runInTerminal, which VS Code runs in a new integrated terminal
    const terminalsBefore = await page.locator('.terminal-tabs-entry, .single-terminal-tab').count();
    const shellButton = page.locator('.debug-toolbar .action-label[aria-label*="Open Shell in Paused Step"]').first();
    await shellButton.waitFor({ timeout: 5000 });
    await shellButton.click();
    await page.locator('.terminal-wrapper, .xterm').first().waitFor({ timeout: 15000 });
    await sleep(1500);
    log(`open shell: a terminal is open (tabs before: ${terminalsBefore})`);
    await screenshot('open-shell-terminal');

    // 6. F10 (step over): the next step is on top of the call stack
    await stepFrame.click(); // focus the paused thread's frame (and the debug view) before F10
    await page.keyboard.press('F10');
    const nextFrame = stackRow(`Stack Frame ${NEXT_STEP},`);
    await nextFrame.waitFor({ timeout: 60000 });
    await stackRow(`Stack Frame ${STEP},`).waitFor({ state: 'detached', timeout: 10000 });
    const nextIdx = Number(await nextFrame.getAttribute('data-index'));
    const belowNext = stackRow(`Stack Frame ${TASK},`);
    if (Number(await belowNext.getAttribute('data-index')) !== nextIdx + 1) throw new Error(`${NEXT_STEP} is not the top frame above ${TASK}`);
    log('after F10:', JSON.stringify(await nextFrame.getAttribute('aria-label')));
    await screenshot('after-step-over');

    // 7. F5 (continue): the run finishes and the session ends
    await page.keyboard.press('F5');
    await page.waitForSelector('.debug-toolbar', { state: 'hidden', timeout: 90000 });
    log('debug session ended');
    await sleep(1000);
    await screenshot('session-ended');
    const repl = await page.locator('.repl').innerText({ timeout: 2000 }).catch(() => '(debug console not visible)');
    log('debug console (tail):', JSON.stringify(repl.replace(/\s+/g, ' ').slice(-300)));

    // 8. the language server (pipeline-dap lsp, started by the extension for YAML): the "Debug" code
    //    lens above the Pipeline document, and the Outline
    const pipelineText = fs.readFileSync(PIPELINE_FILE, 'utf8');
    const docLine = pipelineDocuments(pipelineText).find((d) => d.kind === 'Pipeline').line;
    // still open in a tab since step 2
    await page.locator('.tab', { hasText: path.basename(PIPELINE_FILE) }).first().click();
    await page.locator(`.tab.active:has-text("${path.basename(PIPELINE_FILE)}")`).first().waitFor({ timeout: 10000 });
    const pipeEditor = page.locator('.editor-group-container.active .monaco-editor').first();
    await pipeEditor.locator('.view-lines').first().click();
    if (await page.locator('.part.panel').isVisible()) {
      // hide the panel (the open-shell terminal): more lines on screen
      await page.keyboard.press('Control+J');
      await page.locator('.part.panel').waitFor({ state: 'hidden', timeout: 5000 }).catch(() => log('(the panel stays open)'));
      await pipeEditor.locator('.view-lines').first().click();
    }
    await page.keyboard.press('Control+Home');
    await pipeEditor.locator('.codelens-decoration a', { hasText: /^Debug$/ }).first().waitFor({ timeout: 30000 });
    const { box: lensBox, lineBox } = await lensAbove(pipeEditor, 'Debug', docLine);
    log(`code lens "Debug" above line ${docLine} (lens y=${Math.round(lensBox.y)}, line y=${Math.round(lineBox.y)})`);
    await runCommand('Explorer: Focus on Outline View');
    const outlineRoot = page.locator('.outline-pane .monaco-list-row, .pane-body .monaco-list-row[aria-label*="Pipeline/"]', { hasText: 'Pipeline/build-and-test' }).first();
    await outlineRoot.waitFor({ timeout: 15000 });
    log('outline shows', JSON.stringify((await outlineRoot.innerText()).replace(/\s+/g, ' ').trim()));
    await screenshot('code-lens', 8);

    // 9. "Debug from here" above the LENS_TASK pipeline task (every other breakpoint removed): the
    //    pipelineDap.debug command adds a breakpoint on that line and starts a session that stops there
    await runCommand('Remove All Breakpoints');
    const taskLine = fixtures.task(PIPELINE_FILE, LENS_TASK).line; // its `- name:` line, where the server puts the lens
    await lineNumberBox(taskLine);
    const { lens: hereLens } = await lensAbove(pipeEditor, 'Debug from here', taskLine);
    await hereLens.click();
    await Promise.race([page.waitForSelector('.debug-toolbar', { timeout: 30000 }), dialog.waitFor({ timeout: 30000 })]);
    if (await dialog.isVisible()) {
      await screenshot('lens-launch-error');
      throw new Error(`"Debug from here" failed, VS Code says: ${(await dialog.innerText()).replace(/\s+/g, ' ')}`);
    }
    const lensStep = stackRow(`Stack Frame ${LENS_STEP},`);
    await lensStep.waitFor({ timeout: 90000 });
    const lensTask = stackRow(`Stack Frame ${LENS_TASK},`);
    await lensTask.waitFor({ timeout: 10000 });
    if (Number(await lensTask.getAttribute('data-index')) !== Number(await lensStep.getAttribute('data-index')) + 1) {
      throw new Error(`expected ${LENS_TASK} right below ${LENS_STEP} in the call stack`);
    }
    const bpRows = page.locator('.debug-breakpoints .monaco-list-row', { hasText: path.basename(PIPELINE_FILE) });
    const bpText = (await bpRows.first().innerText({ timeout: 5000 })).replace(/\s+/g, ' ');
    if ((await bpRows.count()) !== 1 || !bpText.includes(String(taskLine))) throw new Error(`expected one breakpoint at ${path.basename(PIPELINE_FILE)}:${taskLine}, BREAKPOINTS shows: ${bpText}`);
    log(`"Debug from here" on ${LENS_TASK}: breakpoint ${JSON.stringify(bpText)}, paused at`, JSON.stringify(await lensStep.getAttribute('aria-label')));
    await screenshot('debug-from-here');
    await page.keyboard.press('Shift+F5');
    await page.waitForSelector('.debug-toolbar', { state: 'hidden', timeout: 30000 });
    log('second session stopped');

    if (consoleErrors.length) log(`browser console errors (${consoleErrors.length}):`, consoleErrors.slice(0, 5));
    log('UI checks passed');
  } catch (e) {
    await page?.screenshot({ path: path.join(OUT, 'failure.png') }).catch(() => {});
    throw e;
  } finally {
    await ctx.close();
  }
}

main().catch((e) => {
  console.error('E2E FAIL:', e.stack || e.message);
  process.exit(1);
});
