// Autobahn|JS discovery checker for the wampfn interop tests (TestInteropDiscovery).
//
// Usage: node --experimental-websocket discovery_caller.js URL REALM SERIALIZER PARTS PLAN
//
//   URL         ws://127.0.0.1:PORT/
//   SERIALIZER  json | msgpack | cbor
//   PARTS       comma-separated, run in order, in one session: document,schemas,calls,negatives
//   PLAN        a JSON file written by the Go test: {"describe": URI, "calls": [{label, method,
//               args, kwargs, progress}], "negatives": [{label, method, at, value}]}
//
// The parts:
//   document   calls the discovery procedure (plan.describe) and validates the OpenRPC
//              document with @open-rpc/schema-utils-js's validateOpenRPCDocument and against
//              @open-rpc/meta-schema 1.14.9 (schema_check.js's validateDocument)
//   schemas    compiles every schema of the document with ajv (schema_check.js: newAjv, wrap):
//              each method's params, result, x-wamp-progress and x-wamp-input, and each
//              component
//   calls      for each call of the plan: validates its arguments against the params' schemas,
//              makes the call (with receive_progress when the plan says so), and validates each
//              progressive result (its one positional argument) against x-wamp-progress and the
//              final result against result: the Args list when the result is marked
//              x-wamp-args, else its one value, null for none (the Args list for several: a
//              wampfn.Result)
//   negatives  validates each of the plan's values that must NOT validate, against the schema
//              of the document at `at`: params.NAME, result, progress, input, components.NAME
//
// What Autobahn|JS delivers becomes the JSON value that the schemas describe first
// (schema_check.js's toJSONValue): a Buffer "\u0000" + base64 (the WAMP JSON convention), a
// BigInt a Number. The document itself goes through toJSONValue too: over CBOR its int64
// bounds may arrive as BigInts.
//
// Every line meant for the Go test starts with "WAMPFN-INTEROP " and one JSON object with a
// "case" member (the part), as in autobahn_js_caller.js: {"methods": [names]},
// {"validated": [validators], "problems": [...]}, {"info": {...}}, {"schema": where,
// "compiled": bool, "why": msg}, {"check": label, "valid": bool, "why": msg, "value": v}
// ("unchecked": true when the value could not be validated: no such schema, or it does not
// compile), {"fatal": msg}, {"done": true} (end of a part), {"end": true} (every part ran).
'use strict';

const fs = require('fs');
const autobahn = require('autobahn');
const { newAjv, wrap, toJSONValue, validateDocument } = require('./schema_check.js');

const OUT = 'WAMPFN-INTEROP ';
const TIMEOUT_MS = 50000; // for all parts; the Go side kills us if it must

let currentCase = '';

function emit(obj, caseName = currentCase) {
  process.stdout.write(OUT + JSON.stringify({ ...obj, case: caseName }) + '\n');
}

function serializerFor(name) {
  switch (name) {
    case 'json': return new autobahn.serializer.JSONSerializer();
    case 'msgpack': return new autobahn.serializer.MsgpackSerializer();
    case 'cbor': return new autobahn.serializer.CBORSerializer();
    default: throw new Error('unknown serializer ' + name);
  }
}

// methodOf returns the method object named name in doc.
function methodOf(doc, name) {
  const m = doc.methods.find((x) => x.name === name);
  if (!m) throw new Error(`the document has no method ${name}`);
  return m;
}

// schemaAt returns the schema at `at` (params.NAME, result, progress, input,
// components.NAME) of method (none for a component), and a name for messages.
function schemaAt(doc, method, at) {
  if (at.startsWith('components.')) {
    const name = at.slice('components.'.length);
    const s = ((doc.components || {}).schemas || {})[name];
    if (!s) throw new Error(`the document has no component ${name}`);
    return { where: `components.schemas.${name}`, schema: s };
  }
  const m = methodOf(doc, method);
  if (at.startsWith('params.')) {
    const name = at.slice('params.'.length);
    const p = m.params.find((x) => x.name === name);
    if (!p) throw new Error(`${method} has no param ${name}`);
    return { where: `${method} param ${name}`, schema: p.schema };
  }
  const cd = { result: m.result, progress: m['x-wamp-progress'], input: m['x-wamp-input'] }[at];
  if (!cd) throw new Error(`${method} has no ${at}`);
  return { where: `${method} ${at}`, schema: cd.schema };
}

// everySchema lists every schema of doc, with where it is.
function everySchema(doc) {
  const all = [];
  for (const m of doc.methods) {
    m.params.forEach((p, i) => all.push({ where: `${m.name} params[${i}] (${p.name})`, schema: p.schema }));
    all.push({ where: `${m.name} result`, schema: m.result.schema });
    if (m['x-wamp-progress']) all.push({ where: `${m.name} x-wamp-progress`, schema: m['x-wamp-progress'].schema });
    if (m['x-wamp-input']) all.push({ where: `${m.name} x-wamp-input`, schema: m['x-wamp-input'].schema });
  }
  for (const [name, s] of Object.entries((doc.components || {}).schemas || {})) {
    all.push({ where: `components.schemas.${name}`, schema: s });
  }
  return all;
}

class Checker {
  constructor(doc) {
    this.doc = doc;
    this.ajv = newAjv();
    this.cache = new Map(); // where -> validate function
  }

  // compile compiles schema (of doc) once per where; it throws when ajv cannot.
  compile(where, schema) {
    let v = this.cache.get(where);
    if (!v) {
      v = this.ajv.compile(wrap(schema, this.doc.components));
      this.cache.set(where, v);
    }
    return v;
  }

  // check validates value against the schema at `at` of method, and reports it as label.
  check(label, method, at, value) {
    let where = at;
    try {
      const s = schemaAt(this.doc, method, at);
      where = s.where;
      const validate = this.compile(s.where, s.schema);
      const valid = validate(value);
      const why = valid ? '' : `${s.where}: ${this.ajv.errorsText(validate.errors)}`;
      emit({ check: label, valid, why, value });
      return valid;
    } catch (e) {
      emit({ check: label, valid: false, unchecked: true, why: `${where}: ${e.message || e}`, value });
      return false;
    }
  }
}

// call makes call c and resolves with {args, progress: [values]}, or rejects.
function call(session, c) {
  const progress = [];
  const options = c.progress ? { receive_progress: true } : {};
  const p = session.call(c.method, c.args || [], c.kwargs || {}, options);
  return new Promise((resolve, reject) => {
    p.then((res) => {
      let args;
      if (res instanceof autobahn.Result) args = res.args || [];
      else if (res === null || res === undefined) args = [];
      else args = [res]; // Autobahn|JS resolves with the bare value of one positional result
      resolve({ args, progress });
    }, reject, (prog) => {
      // The third handler gets the bare value for one positional argument.
      progress.push(prog instanceof autobahn.Result ? (prog.args || [])[0] : prog);
    });
  });
}

function describeError(e) {
  if (e instanceof autobahn.Error) return `${e.error} ${JSON.stringify(toJSONValue(e.args || []))} ${JSON.stringify(toJSONValue(e.kwargs || {}))}`;
  return String(e && e.stack || e);
}

const parts = {
  async document(s, plan, state) {
    const raw = await s.call(plan.describe, []);
    state.doc = toJSONValue(raw);
    emit({ methods: state.doc.methods.map((m) => m.name) });
    emit({
      validated: ['@open-rpc/schema-utils-js validateOpenRPCDocument', '@open-rpc/meta-schema 1.14.9'],
      problems: validateDocument(state.doc),
    });
    emit({ info: { ajv: require('ajv/package.json').version,
                   'schema-utils-js': require('@open-rpc/schema-utils-js/package.json').version,
                   'meta-schema': require('@open-rpc/meta-schema/package.json').version } });
    state.checker = new Checker(state.doc);
  },
  async schemas(s, plan, state) {
    for (const { where, schema } of everySchema(state.doc)) {
      try {
        state.checker.compile(where, schema);
        emit({ schema: where, compiled: true });
      } catch (e) {
        emit({ schema: where, compiled: false, why: String(e.message || e) });
      }
    }
  },
  async calls(s, plan, state) {
    const ck = state.checker;
    for (const c of plan.calls) {
      const m = methodOf(state.doc, c.method);
      // The arguments, from the schema's point of view: each must validate.
      (c.args || []).forEach((v, i) => {
        const last = m.params[m.params.length - 1];
        let p = m.params[i];
        if (!p && last && last['x-wamp-variadic']) p = last;
        if (!p) {
          emit({ check: `${c.label}: args[${i}]`, valid: false, unchecked: true, why: `${c.method} has no param ${i}`, value: v });
          return;
        }
        ck.check(`${c.label}: args[${i}]`, c.method, 'params.' + p.name, v);
      });
      for (const k of Object.keys(c.kwargs || {}).sort()) {
        ck.check(`${c.label}: kwargs.${k}`, c.method, 'params.' + k, c.kwargs[k]);
      }
      let res;
      try {
        res = await call(s, c);
      } catch (e) {
        emit({ check: `${c.label}: call`, valid: false, why: 'the call failed: ' + describeError(e), value: null });
        continue;
      }
      res.progress.forEach((v, i) => ck.check(`${c.label}: progress[${i}]`, c.method, 'progress', toJSONValue(v)));
      const args = toJSONValue(res.args);
      let value;
      if (m.result['x-wamp-args'] || args.length > 1) value = args;
      else if (args.length === 0) value = null;
      else value = args[0];
      ck.check(`${c.label}: result`, c.method, 'result', value);
    }
  },
  async negatives(s, plan, state) {
    for (const n of plan.negatives) {
      state.checker.check(n.label, n.method, n.at, n.value);
    }
  },
};

function main() {
  const argv = process.argv.slice(2);
  if (argv.length !== 5) {
    process.stderr.write('usage: discovery_caller.js URL REALM SERIALIZER PARTS PLAN\n');
    process.exit(2);
  }
  const [url, realm, ser, partList, planFile] = argv;
  const names = partList.split(',');
  for (const name of names) {
    if (!parts[name]) {
      emit({ fatal: 'unknown part ' + name });
      process.exit(2);
    }
  }
  if (typeof WebSocket === 'undefined') {
    emit({ fatal: 'no global WebSocket: run node with --experimental-websocket (Node 20)' });
    process.exit(1);
  }
  let plan;
  let serializer;
  try {
    plan = JSON.parse(fs.readFileSync(planFile, 'utf8'));
    serializer = serializerFor(ser);
  } catch (e) {
    emit({ fatal: String(e.message || e) });
    process.exit(2);
  }
  const timer = setTimeout(() => {
    emit({ fatal: `timed out after ${TIMEOUT_MS}ms` });
    process.exit(1);
  }, TIMEOUT_MS);

  let finished = false;
  const conn = new autobahn.Connection({
    realm,
    transports: [{ type: 'websocket', url, serializers: [serializer] }],
    max_retries: 0,
    retry_if_unreachable: false,
  });
  conn.onopen = async (session) => {
    let code = 0;
    const state = {};
    try {
      for (const name of names) {
        currentCase = name;
        await parts[name](session, plan, state);
        emit({ done: true });
      }
      currentCase = '';
      emit({ end: true });
    } catch (e) {
      code = 1;
      emit({ fatal: 'part failed: ' + describeError(e) });
    }
    finished = true;
    clearTimeout(timer);
    conn.close();
    // Let stdout drain, then end regardless of open handles.
    process.stdout.write('', () => process.exit(code));
  };
  conn.onclose = (reason, details) => {
    if (!finished) {
      emit({ fatal: `connection closed before the parts ended: ${reason} ${JSON.stringify(details)}` });
      process.exit(1);
    }
    return true; // do not reconnect
  };
  conn.open();
}

main();
