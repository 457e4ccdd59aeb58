// Reads the project's fixtures independently of the server: canonical (`-`) and end lines of steps and tasks.
'use strict';
const fs = require('fs');
const { LineCounter, parseAllDocuments, isMap, isSeq } = require('yaml');

function itemLines(text, lc, node) {
  let start = node.range[0];
  // the canonical line is the `-` of the sequence item (usually the line of its first key)
  let i = start - 1;
  while (i >= 0 && /\s/.test(text[i])) i--;
  if (text[i] === '-') start = i;
  let end = node.range[1] - 1;
  while (end > start && /\s/.test(text[end])) end--;
  return { line: lc.linePos(start).line, endLine: lc.linePos(end).line };
}

/** Every document of a file, with the lines of its steps (Task) and tasks (Pipeline). */
function outline(file) {
  const text = fs.readFileSync(file, 'utf8');
  const lc = new LineCounter();
  return parseAllDocuments(text, { lineCounter: lc }).map((doc) => {
    const collect = (p) => {
      const seq = doc.getIn(p, true);
      if (!isSeq(seq)) return [];
      return seq.items.filter(isMap).map((item) => ({ name: item.get('name'), ...itemLines(text, lc, item) }));
    };
    return {
      kind: doc.get('kind'),
      name: doc.getIn(['metadata', 'name']),
      steps: collect(['spec', 'steps']),
      tasks: [...collect(['spec', 'tasks']), ...collect(['spec', 'finally'])],
    };
  });
}

function step(file, name) {
  for (const d of outline(file)) {
    const s = d.steps.find((x) => x.name === name);
    if (s) return s;
  }
  throw new Error(`no step ${name} in ${file}`);
}

function task(file, name) {
  for (const d of outline(file)) {
    const t = d.tasks.find((x) => x.name === name);
    if (t) return t;
  }
  throw new Error(`no task ${name} in ${file}`);
}

module.exports = { outline, step, task };
