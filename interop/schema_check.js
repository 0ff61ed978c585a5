// JSON Schema checks for the wampfn discovery tests, with ajv (draft-07, the vocabulary of
// OpenRPC's meta-schema) and ajv-formats.
//
// As a module: newAjv() returns the configured ajv; validateDocument(doc) checks an OpenRPC
// document with @open-rpc/schema-utils-js and against @open-rpc/meta-schema 1.14.9 and
// returns a list of problems ([] when it is valid); wrap(schema, components) makes a schema of a
// document resolvable on its own (its $refs point into components.schemas: pass doc.components); toJSONValue
// turns what a WAMP library delivered into the JSON value the schemas describe (bytes become
// "\u0000" + base64, the WAMP JSON convention; a BigInt a Number).
//
// As a command: node schema_check.js < CASES.json, where CASES is
//   {"components": {...} (optional), "cases": [{"name": N, "schema": S, "valid": [values],
//    "invalid": [values]}]}
// Every schema must compile, every "valid" value validate and every "invalid" one fail. One
// line per problem on stdout, then "ok N" (N cases) and exit 0, or exit 1.
'use strict';

const Ajv = require('ajv');
const addFormats = require('ajv-formats');

// The keywords wampfn adds to a schema: annotations, not assertions.
const WAMPFN_KEYWORDS = ['x-wamp-binary'];

function newAjv() {
  // strict: wampfn's schemas use no keyword that ajv does not know but its own above, and
  // "components" in the wrapper (see wrap), which strictSchema would refuse.
  // code.optimize off: compiling is twice as fast, and the random types' schemas are wide.
  const ajv = new Ajv({ allErrors: true, strictSchema: false, strictTypes: false, validateFormats: true,
                        code: { optimize: false } });
  addFormats(ajv);
  for (const k of WAMPFN_KEYWORDS) ajv.addKeyword({ keyword: k, schemaType: 'boolean' });
  return ajv;
}

// wrap returns schema with doc's components beside it, so that "#/components/schemas/X"
// resolves (a $ref's siblings are ignored in draft-07, hence the allOf).
function wrap(schema, components) {
  return { allOf: [schema], components: components || {} };
}

function toJSONValue(v) {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Uint8Array) return '\u0000' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (v instanceof ArrayBuffer) return '\u0000' + Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(toJSONValue);
  if (v instanceof Map) {
    const o = {};
    for (const [k, x] of v) o[String(k)] = toJSONValue(x);
    return o;
  }
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) o[k] = toJSONValue(v[k]);
    return o;
  }
  return v;
}

function validateDocument(doc) {
  const problems = [];
  const { validateOpenRPCDocument } = require('@open-rpc/schema-utils-js');
  const r = validateOpenRPCDocument(doc);
  if (r !== true) problems.push('schema-utils-js: ' + (r.message || String(r)));
  // @open-rpc/meta-schema 1.14.9 itself, with its JSON Schema meta-schema.
  let meta = require('@open-rpc/meta-schema');
  meta = meta.default || meta;
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const jsonSchemaMeta = require('@json-schema-tools/meta-schema');
  ajv.addSchema(jsonSchemaMeta.default || jsonSchemaMeta, 'https://meta.json-schema.tools');
  const m = { ...meta };
  delete m.$schema;
  const ok = ajv.validate(m, doc);
  if (!ok) problems.push('@open-rpc/meta-schema 1.14.9: ' + ajv.errorsText(ajv.errors));
  return problems;
}

module.exports = { newAjv, wrap, toJSONValue, validateDocument };

if (require.main === module) {
  let input = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => { input += d; });
  process.stdin.on('end', () => {
    const { components, cases } = JSON.parse(input);
    const ajv = newAjv();
    const problems = [];
    for (const c of cases) {
      let validate;
      try {
        validate = ajv.compile(wrap(c.schema, components));
      } catch (e) {
        problems.push(`${c.name}: does not compile: ${e.message}`);
        continue;
      }
      (c.valid || []).forEach((v, i) => {
        if (!validate(v)) problems.push(`${c.name}: valid[${i}] ${JSON.stringify(v).slice(0, 200)} fails: ${ajv.errorsText(validate.errors)}`);
      });
      (c.invalid || []).forEach((v, i) => {
        if (validate(v)) problems.push(`${c.name}: invalid[${i}] ${JSON.stringify(v).slice(0, 200)} validates`);
      });
    }
    for (const p of problems) console.log(p);
    if (problems.length) process.exit(1);
    console.log(`ok ${cases.length}`);
  });
}
