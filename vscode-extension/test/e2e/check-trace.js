// Checks the DAP traffic the extension's tracker wrote during the e2e run (pipelineDap.traceFile):
// every message validates against the official schema, the session launched the Pipeline file,
// the server announced breakpoint modes, set a verified breakpoint, stopped (breakpoint, then step)
// and terminated at the end.
// Usage: node check-trace.js TRACE.jsonl PIPELINE_FILE TASK_FILE
'use strict';
const fs = require('fs');
const path = require('path');
const { schemaErrors } = require('../lib/schema');

const [trace, pipelineFile, taskFile] = process.argv.slice(2);
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

const records = fs
  .readFileSync(trace, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
const inMsgs = records.filter((r) => r.dir === 'in').map((r) => r.msg);
const outMsgs = records.filter((r) => r.dir === 'out').map((r) => r.msg);
console.log(`${records.length} DAP messages traced (${inMsgs.length} to the adapter, ${outMsgs.length} from it)`);
check(records.every((r) => (r.dir === 'in' || r.dir === 'out') && r.msg && typeof r.msg === 'object'), 'every line is {"dir": "in"|"out", "msg": {...}}');

let invalid = 0;
for (const r of records) {
  const errs = schemaErrors(r.msg);
  if (errs.length) {
    invalid++;
    console.log(`  invalid ${r.dir} ${r.msg.type} ${r.msg.command || r.msg.event} seq=${r.msg.seq}: ${errs.join('; ')}`);
  }
}
check(invalid === 0, `every message validates against debugAdapterProtocol.json (${invalid} invalid)`);

const reqs = (cmd) => inMsgs.filter((m) => m.type === 'request' && m.command === cmd);
const resp = (req) => outMsgs.find((m) => m.type === 'response' && m.request_seq === req.seq);
const events = (name) => outMsgs.filter((m) => m.type === 'event' && m.event === name);

const init = reqs('initialize')[0];
const caps = init && resp(init)?.body;
check(!!caps, 'initialize answered with capabilities');
check(!!caps && ['before', 'after'].every((m) => (caps.breakpointModes || []).some((b) => b.mode === m)), 'capabilities announce breakpointModes before/after');
check(!!caps && (caps.exceptionBreakpointFilters || []).some((f) => f.filter === 'onFailure'), 'capabilities announce the onFailure exception filter');

const launch = reqs('launch')[0];
check(!!launch && path.resolve(launch.arguments.program) === path.resolve(pipelineFile), `launch (from F5, no launch.json) runs ${path.basename(pipelineFile)}`);
check(!!launch && launch.arguments.engine === 'local', 'launch engine is local');
check(!!launch && resp(launch)?.success === true, 'launch succeeded');

const sb = reqs('setBreakpoints').filter((r) => path.resolve(r.arguments.source.path || '') === path.resolve(taskFile));
const sbResp = sb.map(resp).filter(Boolean);
check(sbResp.some((r) => r.success && (r.body.breakpoints || []).some((b) => b.verified)), `a verified breakpoint in ${path.basename(taskFile)}`);

const stopped = events('stopped');
check(stopped.some((e) => e.body.reason === 'breakpoint'), 'stopped: breakpoint');
check(stopped.some((e) => e.body.reason === 'step'), 'stopped: step (after F10)');
check(reqs('next').length >= 1, 'a next request (F10)');
check(reqs('continue').length >= 1, 'a continue request (F5)');
check(reqs('scopes').length >= 1 && reqs('variables').length >= 1, 'scopes and variables were read');
const shellEval = reqs('evaluate').find((r) => r.arguments.expression === ':shell');
check(!!shellEval && shellEval.arguments.context === 'repl' && typeof shellEval.arguments.frameId === 'number', 'open shell: evaluate ":shell" (repl, frameId)');
const rit = outMsgs.find((m) => m.type === 'request' && m.command === 'runInTerminal');
check(!!rit, 'open shell: the server sent runInTerminal');
const ritResp = rit && inMsgs.find((m) => m.type === 'response' && m.request_seq === rit.seq);
check(!!ritResp && ritResp.success === true, 'open shell: VS Code ran it (runInTerminal succeeded)');
const terminatedAt = outMsgs.findIndex((m) => m.type === 'event' && m.event === 'terminated');
check(terminatedAt >= 0, 'terminated event');
check(terminatedAt >= 0 && outMsgs.findIndex((m) => m.event === 'stopped') < terminatedAt, 'terminated after the stops');
const exited = events('exited')[0];
check(!!exited && exited.body.exitCode === 0, 'exited with exit code 0 (the fixture pipeline succeeds)');
const failedResponses = outMsgs.filter((m) => m.type === 'response' && !m.success);
if (failedResponses.length) console.log(`  (note) ${failedResponses.length} failed responses:`, failedResponses.map((m) => `${m.command}: ${m.message}`).slice(0, 5));

if (failures.length) {
  console.log(`trace check: ${failures.length} failed`);
  process.exit(1);
}
console.log('trace check: all passed');
