// Autobahn|JS caller for the wampfn interop tests.
//
// Usage: node --experimental-websocket autobahn_js_caller.js URL REALM SERIALIZER CASES PREFIX
//
//   URL         ws://127.0.0.1:PORT/ (WebSocket) or rs://127.0.0.1:PORT (RawSocket over TCP;
//               Autobahn|JS's Node rawsocket transport speaks JSON only)
//   SERIALIZER  json | msgpack | cbor
//   CASES       comma-separated, run in order, in one session:
//               progress,noprogress,badinput,cancel,struct,bytes,customerror,
//               methodnames,methodprogress,methodstruct,methodkwargs,methoderror
//               (the method* cases call a service registered with wampfn.RegisterMethods)
//   PREFIX      URI prefix of the procedures under test: case C calls PREFIX + C + "." + name
//
// Node 20 has no global WebSocket without --experimental-websocket, and Autobahn|JS 26
// uses the global one. Progress arrives through the when.js promise's third handler
// (`promise.then(ok, err, progress)`), which needs the optional dependency `when`.
//
// Every line meant for the Go test starts with "WAMPFN-INTEROP " and one JSON object,
// in the vocabulary of autobahn_py_caller.py: {"progress": {args, kwargs}},
// {"final": {args, kwargs, shape}}, {"error": URI, args, kwargs, class}, {"cancel": "sent"},
// {"fatal": msg}, {"done": true} (end of a case), {"end": true} (all cases ran); each
// with a "case" member. A Buffer/Uint8Array becomes {"$bytes": hex} (plus
// "$class"), a BigInt {"$bigint": "digits"}.
'use strict';

const autobahn = require('autobahn');

const OUT = 'WAMPFN-INTEROP ';
const TIMEOUT_MS = 50000; // for all cases; the Go side kills us if it must

// ORDER is what case methodstruct sends to place_order (theOrder in interop/shop_test.go).
const ORDER = { sku: 'widget', qty: 3, gift: true, ship: { city: 'Lyon', zip: '69001' }, notes: ['fragile'] };

function jsonable(v) {
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (v instanceof Uint8Array) {
    return { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex'),
             $class: v.constructor.name };
  }
  if (v instanceof ArrayBuffer) return { $bytes: Buffer.from(v).toString('hex'), $class: 'ArrayBuffer' };
  if (Array.isArray(v)) return v.map(jsonable);
  if (v instanceof Map) {
    const o = {};
    for (const [k, x] of v) o[String(k)] = jsonable(x);
    return o;
  }
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) o[k] = jsonable(v[k]);
    return o;
  }
  return v;
}

let currentCase = '';

function emit(obj, caseName = currentCase) {
  process.stdout.write(OUT + JSON.stringify(jsonable({ ...obj, case: caseName })) + '\n');
}

// What Autobahn|JS resolves a call with: a bare value for one positional result,
// an autobahn.Result for several or for keyword results, null/undefined for none.
function finalOf(res) {
  if (res instanceof autobahn.Result) return { args: res.args, kwargs: res.kwargs, shape: 'Result' };
  if (res === null || res === undefined) return { args: [], kwargs: {}, shape: 'none' };
  return { args: [res], kwargs: {}, shape: 'value' };
}

function errorOf(e) {
  if (e instanceof autobahn.Error) {
    return { error: e.error, args: e.args || [], kwargs: e.kwargs || {}, class: 'autobahn.Error' };
  }
  return { error: 'js:' + (e && e.name || typeof e), args: [String(e && e.message || e)], kwargs: {},
           class: e && e.constructor ? e.constructor.name : typeof e };
}

function serializerFor(name) {
  switch (name) {
    case 'json': return new autobahn.serializer.JSONSerializer();
    case 'msgpack': return new autobahn.serializer.MsgpackSerializer();
    case 'cbor': return new autobahn.serializer.CBORSerializer();
    default: throw new Error('unknown serializer ' + name);
  }
}

function transportFor(url, ser) {
  const u = new URL(url);
  if (u.protocol === 'ws:' || u.protocol === 'wss:') {
    return { type: 'websocket', url, serializers: [serializerFor(ser)] };
  }
  if (u.protocol === 'rs:') {
    if (ser !== 'json') throw new Error('autobahn-js rawsocket supports json only');
    return { type: 'rawsocket', host: u.hostname, port: Number(u.port) };
  }
  throw new Error('unsupported URL ' + url);
}

// callAndReport makes one call and reports its progress, result or error.
async function callAndReport(session, proc, args, kwargs, options) {
  const p = session.call(proc, args, kwargs, options);
  try {
    const res = await new Promise((resolve, reject) => {
      p.then(resolve, reject, (prog) => emit({ progress: finalOf(prog) }));
    });
    emit({ final: finalOf(res) });
  } catch (e) {
    emit(errorOf(e));
  }
}

const cases = {
  async progress(s, prefix) {
    await callAndReport(s, prefix + 'longop', [3], {}, { receive_progress: true });
  },
  async noprogress(s, prefix) {
    await callAndReport(s, prefix + 'longop', [2]);
    // chatty sends progress without asking ProgressSink.Wanted: wampfn must drop it.
    await callAndReport(s, prefix + 'chatty', [2]);
  },
  async badinput(s, prefix) {
    await callAndReport(s, prefix + 'longop', ['three']);
    await callAndReport(s, prefix + 'longop', []);
    await callAndReport(s, prefix + 'longop', [3, 4]);
  },
  async cancel(s, prefix) {
    const p = s.call(prefix + 'longop', [1000], {}, { receive_progress: true });
    const caseName = currentCase;
    let cancelled = false;
    try {
      const res = await new Promise((resolve, reject) => {
        p.then(resolve, reject, (prog) => {
          emit({ progress: finalOf(prog) }, caseName);
          if (!cancelled) {
            cancelled = true;
            // mode kill: INTERRUPT to the callee, and the caller waits for the callee's ERROR.
            p.cancel({ mode: 'kill' });
            emit({ cancel: 'sent' });
          }
        });
      });
      emit({ final: finalOf(res) });
    } catch (e) {
      emit(errorOf(e));
    }
    await callAndReport(s, prefix + 'longop', [1]);
  },
  async struct(s, prefix) {
    await callAndReport(s, prefix + 'item', []);
  },
  async bytes(s, prefix) {
    await callAndReport(s, prefix + 'blob', []);
  },
  async customerror(s, prefix) {
    await callAndReport(s, prefix + 'fail', []);
  },
  // The RegisterMethods service (shop), by its methods' snake_case URIs.
  async methodnames(s, prefix) {
    // GetHTTPStatus, and StoreInfo renamed "info"; then three names that must not exist.
    for (const name of ['get_http_status', 'info', 'store_info', 'audit', 'method_options']) {
      await callAndReport(s, prefix + name, []);
    }
  },
  async methodprogress(s, prefix) {
    await callAndReport(s, prefix + 'long_op', [3], {}, { receive_progress: true });
  },
  async methodstruct(s, prefix) {
    await callAndReport(s, prefix + 'place_order', [ORDER]);
  },
  async methodkwargs(s, prefix) {
    await callAndReport(s, prefix + 'quote', [], { qty: 4, sku: 'widget' });
    await callAndReport(s, prefix + 'quote', ['widget'], { qty: 2 });
    await callAndReport(s, prefix + 'quote', [], { sku: 'widget', colour: 'red' });
  },
  async methoderror(s, prefix) {
    await callAndReport(s, prefix + 'cancel_order', ['A-1']);
    await callAndReport(s, prefix + 'cancel_order', ['Z-9']);
  },
};

function main() {
  const argv = process.argv.slice(2);
  if (argv.length !== 5) {
    process.stderr.write('usage: autobahn_js_caller.js URL REALM SERIALIZER CASES PREFIX\n');
    process.exit(2);
  }
  const [url, realm, ser, caseList, prefix] = argv;
  const names = caseList.split(',');
  for (const name of names) {
    if (!cases[name]) {
      emit({ fatal: 'unknown case ' + name });
      process.exit(2);
    }
  }
  if (typeof WebSocket === 'undefined' && url.startsWith('ws')) {
    emit({ fatal: 'no global WebSocket: run node with --experimental-websocket (Node 20)' });
    process.exit(1);
  }
  let transport;
  try {
    transport = transportFor(url, ser);
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
    transports: [transport],
    max_retries: 0,
    retry_if_unreachable: false,
  });
  conn.onopen = async (session) => {
    let code = 0;
    try {
      for (const name of names) {
        currentCase = name;
        await cases[name](session, prefix + name + '.');
        emit({ done: true });
      }
      currentCase = '';
      emit({ end: true });
    } catch (e) {
      code = 1;
      emit({ fatal: 'case failed: ' + (e && e.stack || e) });
    }
    finished = true;
    clearTimeout(timer);
    conn.close();
    // Let stdout drain, then end regardless of open handles.
    process.stdout.write('', () => process.exit(code));
  };
  conn.onclose = (reason, details) => {
    if (!finished) {
      emit({ fatal: `connection closed before the cases ended: ${reason} ${JSON.stringify(details)}` });
      process.exit(1);
    }
    return true; // do not reconnect
  };
  conn.open();
}

main();
