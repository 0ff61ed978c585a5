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
//               streamsum,streamdouble,streamcancel,streamnofeature
//               (the stream* cases call with progressive call invocations, progressiveCall;
//               TestInteropStream in stream_test.go runs them)
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
// Progressive call invocations: `progressiveCall(uri, payload, opts)` sends the first CALL
// with Options.progress = true and returns {result, sendData}; `sendData(v)` sends the next
// chunk (a CALL with the same request ID), `sendData(v, {progress: false})` the last. Three
// defects of wampy 8.0.2 matter here (dist/cjs/wampy.cjs):
//   - its HELLO does not announce the caller feature progressive_call_invocations, and the
//     nexus router aborts a session that sends a chunk without it (protocol_violation): the
//     stream cases set _wamp_features.roles.caller.features.progressive_call_invocations
//     before connecting (case streamnofeature shows the abort without it);
//   - sendData(0) and call(uri, 0) send no arguments at all (`payload ? pack(payload) : {}`):
//     the cases never send 0 as a value, except streamsum's call that shows it;
//   - cancel(reqId) without a mode sends CANCEL with empty options, which nexus treats as
//     killnowait (its README says skip is the default).
//
// Output: lines "WAMPFN-INTEROP " + JSON in the vocabulary of autobahn_py_caller.py, each
// with a "case" member. The stream cases also print {"sent": v} after each chunk they send
// between progress results, {"cancel": mode} (mode "default" for none), {"info": {...}} and
// {"abort": uri, "args": [message]} for an ABORT from the router.
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

// The URL, realm and serializer name of the session, for case streamnofeature's own session.
let sessionConf = null;

function newWampy(conf, extra = {}) {
  return new Wampy(conf.url, {
    realm: conf.realm,
    ws: WebSocket,
    serializer: serializerFor(conf.ser),
    autoReconnect: false,
    ...extra,
  });
}

function isStreamCase(name) {
  return name.startsWith('stream');
}

// The workaround for wampy 8.0.2's HELLO, which lacks progressive_call_invocations among the
// caller's features: without it the nexus router aborts the session on the first chunk.
function announceProgressiveCallInvocations(w) {
  w._wamp_features.roles.caller.features.progressive_call_invocations = true;
}

const STEP_MS = 10000; // how long a stream case waits for one progress result or result

// Rejects if p does not settle within STEP_MS, so that a lost message fails the case with
// its name instead of the whole script timing out.
function within(p, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${STEP_MS}ms`)), STEP_MS);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// progressQueue prints each progress result of one call and hands them out in order, so that
// a case can send its next chunk only after the callee answered the previous one.
function progressQueue(caseName) {
  const got = [];
  const waiting = [];
  return {
    onProgress(r) {
      emit({ progress: resultOf(r) }, caseName);
      const resolve = waiting.shift();
      if (resolve) {
        resolve(r);
      } else {
        got.push(r);
      }
    },
    next() {
      if (got.length > 0) return Promise.resolve(got.shift());
      return within(new Promise((resolve) => waiting.push(resolve)), 'progress result');
    },
  };
}

async function report(resultPromise) {
  try {
    const res = await within(resultPromise, 'result');
    emit({ final: resultOf(res) });
  } catch (e) {
    emit(errorOf(e));
  }
}

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
  // Progressive call invocations: the procedures take a wampfn.InputStream[int].
  async streamsum(w, prefix) {
    // wampy's README example, but for the URI: 1 with the call, 2, 3, 4, then 5 as the
    // final chunk; the README says the result is 15.
    let pc = w.progressiveCall(prefix + 'sum', 1);
    pc.sendData(2);
    pc.sendData(3);
    pc.sendData(4);
    pc.sendData(5, { progress: false });
    await report(pc.result);
    // No value with the call (an empty first chunk), then 1, 2, 3, 4 by sendData and 5 last.
    pc = w.progressiveCall(prefix + 'sum');
    for (const v of [1, 2, 3, 4]) pc.sendData(v);
    pc.sendData(5, { progress: false });
    await report(pc.result);
    // wampy's 0 defect: sendData(0) sends a chunk with no arguments, so the function sees
    // only 1 and 2.
    pc = w.progressiveCall(prefix + 'sum', 1);
    pc.sendData(0);
    pc.sendData(2, { progress: false });
    await report(pc.result);
  },
  async streamdouble(w, prefix) {
    // double sends v*2 back as a progress result for each value: each chunk goes out only
    // after the result for the previous one came back.
    const q = progressQueue(currentCase);
    const pc = w.progressiveCall(prefix + 'double', 1, { progress_callback: q.onProgress });
    await q.next();
    for (const v of [2, 3, 4]) {
      pc.sendData(v);
      emit({ sent: v });
      await q.next();
    }
    pc.sendData(5, { progress: false });
    emit({ sent: 5 });
    await report(pc.result);
  },
  async streamcancel(w, prefix) {
    // cancelsum sends the running sum back for each value. After 1, 2 and 3 (progress 1, 3,
    // 6), cancel: with wampy's default (CANCEL without a mode), kill, then skip. The first
    // chunk names the mode in its keyword arguments, for the Go side's records.
    for (const mode of [undefined, 'kill', 'skip']) {
      const label = mode || 'default';
      const q = progressQueue(currentCase);
      const pc = w.progressiveCall(prefix + 'cancelsum', { argsList: [1], argsDict: { mode: label } },
        { progress_callback: q.onProgress });
      const reqId = w.getOpStatus().reqId;
      await q.next();
      for (const v of [2, 3]) {
        pc.sendData(v);
        emit({ sent: v });
        await q.next();
      }
      w.cancel(reqId, mode ? { mode } : undefined);
      emit({ cancel: label });
      await report(pc.result);
    }
    // The session still works.
    const pc = w.progressiveCall(prefix + 'sum', 1);
    for (const v of [2, 3, 4]) pc.sendData(v);
    pc.sendData(5, { progress: false });
    await report(pc.result);
  },
  async streamnofeature(w, prefix) {
    // A session of its own, as wampy 8.0.2 connects by default: the router aborts it on the
    // first chunk.
    const w2 = newWampy(sessionConf, {
      onError: (e) => emit({ abort: e.errorUri, args: [e.details && e.details.message || e.message] }),
    });
    emit({ info: { announces: Boolean(w2._wamp_features.roles.caller.features.progressive_call_invocations) } });
    await w2.connect();
    const pc = w2.progressiveCall(prefix + 'sum', 1);
    await report(pc.result);
    try {
      await w2.disconnect();
    } catch (e) {
      // already closed by the router
    }
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

  sessionConf = { url, realm, ser };
  const w = newWampy(sessionConf);
  if (names.some(isStreamCase)) {
    announceProgressiveCallInvocations(w);
  }
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
