// wampy.js caller for the wampfn interop tests.
//
// Usage: node wampy_caller.js URL REALM SERIALIZER CASES PREFIX
//
//   URL         ws://127.0.0.1:PORT/ (wampy.js speaks WAMP over WebSocket only)
//   SERIALIZER  json | msgpack | cbor
//   CASES       comma-separated, run in order, in one session:
//               progress,noprogress,badinput,cancel,struct,bytes,customerror,
//               methodnames,methodprogress,methodstruct,methodkwargs,methoderror
//               (the method* cases call a service registered with wampfn.RegisterMethods)
//   PREFIX      URI prefix of the procedures under test: case C calls PREFIX + C + "." + name
//
// On Node, wampy needs a WebSocket class in its `ws` option; its README's Node examples use
// the `ws` package (a dependency of wampy, resolved here from wampy's own location).
// Progress: `call(uri, payload, {progress_callback})`; cancel: `cancel(reqId, {mode})` with
// the reqId from `getOpStatus()` right after `call()`; errors reject the call's promise with
// a CallError carrying errorUri, argsList and argsDict. The promise resolves with
// {details, argsList, argsDict}. The payload decides the arguments: an array is the
// positional arguments, {argsList, argsDict} both, any other plain object the keyword
// arguments (so a dict argument must go inside an array), anything else one argument.
//
// Output: lines "WAMPFN-INTEROP " + JSON in the vocabulary of autobahn_py_caller.py, each
// with a "case" member.
'use strict';

const { createRequire } = require('module');
const { Wampy } = require('wampy');
const { JsonSerializer } = require('wampy/JsonSerializer.js');
const { MsgpackSerializer } = require('wampy/MsgpackSerializer.js');
const { CborSerializer } = require('wampy/CborSerializer.js');

const WebSocket = createRequire(require.resolve('wampy'))('ws');

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

// wampy hands over {details, argsList, argsDict} for both progress and the final result.
function resultOf(r) {
  return { args: (r && r.argsList) || [], kwargs: (r && r.argsDict) || {}, shape: 'wampy' };
}

function errorOf(e) {
  if (e && e.errorUri !== undefined) {
    return { error: e.errorUri, args: e.argsList || [], kwargs: e.argsDict || {}, class: e.name };
  }
  return { error: 'js:' + (e && e.name || typeof e), args: [String(e && e.message || e)], kwargs: {},
           class: e && e.constructor ? e.constructor.name : typeof e };
}

function serializerFor(name) {
  switch (name) {
    case 'json': return new JsonSerializer();
    case 'msgpack': return new MsgpackSerializer();
    case 'cbor': return new CborSerializer();
    default: throw new Error('unknown serializer ' + name);
  }
}

async function callAndReport(w, proc, payload, opts) {
  try {
    const res = await w.call(proc, payload, opts);
    emit({ final: resultOf(res) });
  } catch (e) {
    emit(errorOf(e));
  }
}

const progressOpts = () => ({ progress_callback: (r) => emit({ progress: resultOf(r) }) });

const cases = {
  async progress(w, prefix) {
    await callAndReport(w, prefix + 'longop', [3], progressOpts());
  },
  async noprogress(w, prefix) {
    await callAndReport(w, prefix + 'longop', [2]);
    // chatty sends progress without asking ProgressSink.Wanted: wampfn must drop it.
    await callAndReport(w, prefix + 'chatty', [2]);
  },
  async badinput(w, prefix) {
    await callAndReport(w, prefix + 'longop', ['three']);
    // wampy sends no Arguments at all for a missing payload.
    await callAndReport(w, prefix + 'longop', undefined);
    await callAndReport(w, prefix + 'longop', [3, 4]);
  },
  async cancel(w, prefix) {
    let reqId = 0;
    let cancelled = false;
    const caseName = currentCase;
    const p = w.call(prefix + 'longop', [1000], {
      progress_callback: (r) => {
        emit({ progress: resultOf(r) }, caseName);
        if (!cancelled) {
          cancelled = true;
          w.cancel(reqId, { mode: 'kill' });
          emit({ cancel: 'sent' });
        }
      },
    });
    reqId = w.getOpStatus().reqId;
    try {
      const res = await p;
      emit({ final: resultOf(res) });
    } catch (e) {
      emit(errorOf(e));
    }
    await callAndReport(w, prefix + 'longop', [1]);
  },
  async struct(w, prefix) {
    await callAndReport(w, prefix + 'item');
  },
  async bytes(w, prefix) {
    await callAndReport(w, prefix + 'blob');
  },
  async customerror(w, prefix) {
    await callAndReport(w, prefix + 'fail');
  },
  // The RegisterMethods service (shop), by its methods' snake_case URIs.
  async methodnames(w, prefix) {
    // GetHTTPStatus, and StoreInfo renamed "info"; then three names that must not exist.
    for (const name of ['get_http_status', 'info', 'store_info', 'audit', 'method_options']) {
      await callAndReport(w, prefix + name);
    }
  },
  async methodprogress(w, prefix) {
    await callAndReport(w, prefix + 'long_op', [3], progressOpts());
  },
  async methodstruct(w, prefix) {
    // In an array: a bare object payload would be sent as keyword arguments.
    await callAndReport(w, prefix + 'place_order', [ORDER]);
  },
  async methodkwargs(w, prefix) {
    await callAndReport(w, prefix + 'quote', { qty: 4, sku: 'widget' });
    await callAndReport(w, prefix + 'quote', { argsList: ['widget'], argsDict: { qty: 2 } });
    await callAndReport(w, prefix + 'quote', { sku: 'widget', colour: 'red' });
  },
  async methoderror(w, prefix) {
    await callAndReport(w, prefix + 'cancel_order', ['A-1']);
    await callAndReport(w, prefix + 'cancel_order', ['Z-9']);
  },
};

async function main() {
  const argv = process.argv.slice(2);
  if (argv.length !== 5) {
    process.stderr.write('usage: wampy_caller.js URL REALM SERIALIZER CASES PREFIX\n');
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
  if (!/^wss?:\/\//.test(url)) {
    emit({ fatal: 'wampy.js supports WebSocket URLs only, got ' + url });
    process.exit(2);
  }
  const timer = setTimeout(() => {
    emit({ fatal: `timed out after ${TIMEOUT_MS}ms` });
    process.exit(1);
  }, TIMEOUT_MS);

  const w = new Wampy(url, {
    realm,
    ws: WebSocket,
    serializer: serializerFor(ser),
    autoReconnect: false,
  });
  let code = 0;
  try {
    await w.connect();
    for (const name of names) {
      currentCase = name;
      await cases[name](w, prefix + name + '.');
      emit({ done: true });
    }
    currentCase = '';
    emit({ end: true });
  } catch (e) {
    code = 1;
    emit({ fatal: 'case failed: ' + (e && e.stack || e) });
  }
  clearTimeout(timer);
  try {
    await w.disconnect();
  } catch (e) {
    // the results are already reported
  }
  process.stdout.write('', () => process.exit(code));
}

main();
