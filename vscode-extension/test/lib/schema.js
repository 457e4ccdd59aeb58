// Validates DAP messages against the official schema (draft-04) with ajv-draft-04.
'use strict';
const fs = require('fs');
const Ajv = require('ajv-draft-04');
const paths = require('./paths');

let ajv;
function instance() {
  if (ajv) return ajv;
  const schema = JSON.parse(fs.readFileSync(paths.schemaFile, 'utf8'));
  ajv = new Ajv({ allErrors: true, strict: false });
  const int = (min, max) => ({ type: 'number', validate: (n) => Number.isInteger(n) && n >= min && n <= max });
  ajv.addFormat('int32', int(-(2 ** 31), 2 ** 31 - 1));
  ajv.addFormat('uint32', int(0, 2 ** 32 - 1));
  ajv.addFormat('int64', int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
  ajv.addFormat('uint64', int(0, Number.MAX_SAFE_INTEGER));
  ajv.addSchema(schema, 'dap');
  ajv.definitions = schema.definitions;
  return ajv;
}

const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);

/** The schema definition a message must satisfy: FooRequest, FooResponse / ErrorResponse, FooEvent. */
function definitionFor(msg) {
  if (msg.type === 'request') return `${cap(msg.command)}Request`;
  if (msg.type === 'event') return `${cap(msg.event)}Event`;
  if (msg.type === 'response') return msg.success ? `${cap(msg.command)}Response` : 'ErrorResponse';
  return 'ProtocolMessage';
}

/** [] when valid, else readable error strings. */
function schemaErrors(msg) {
  const a = instance();
  const def = definitionFor(msg);
  if (!a.definitions[def]) return [`no schema definition ${def} (not a standard DAP message)`];
  const validate = a.getSchema(`dap#/definitions/${def}`);
  if (validate(msg)) return [];
  return validate.errors.map((e) => `${def}${e.instancePath || ''}: ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`);
}

/** Checks a list of {dir, msg}; returns the invalid ones with their errors. */
function invalidMessages(records) {
  const bad = [];
  for (const r of records) {
    const errors = schemaErrors(r.msg);
    if (errors.length) bad.push({ dir: r.dir, what: r.msg.command || r.msg.event, seq: r.msg.seq, errors });
  }
  return bad;
}

module.exports = { schemaErrors, invalidMessages, definitionFor };
