// The shared part of the TypeScript programs of the generated-client tests
// (interop/gen_test.go): the connection, and the lines for the Go test.
//
// Every line meant for the Go test starts with "WAMPFN-INTEROP " and one JSON object:
//
//	{"call": LABEL, "progress": V}                 one per onProgress callback
//	{"call": LABEL, "result": V}                   what the call's promise resolved with
//	{"call": LABEL, "error": URI, "args": [...], "kwargs": {...}, "class": C}
//	                                               what it rejected with
//	{"fatal": MSG}                                 the program itself failed (exit 1)
//	{"end": true}                                  every call ran (then exit 0)
//
// A Uint8Array (a Buffer is one) becomes {"$bytes": HEX}, undefined {"$undefined": true},
// an autobahn.Result {"$result": {"args": [...], "kwargs": {...}}}; anything else that
// JSON cannot hold {"$unexpected": TYPE}.

import * as autobahn from "autobahn";

// Node's own types (@types/node) are not installed: only what the programs use of them.
declare const process: {
  argv: string[];
  exit(code?: number): never;
  stdout: { write(s: string, cb?: () => void): boolean };
};

const OUT = "WAMPFN-INTEROP ";
const TIMEOUT_MS = 50000; // the Go side kills us if it must

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export function jsonable(v: unknown): unknown {
  if (v === undefined) return { $undefined: true };
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : { $unexpected: String(v) };
  if (v instanceof Uint8Array) return { $bytes: hex(v) };
  if (v instanceof autobahn.Result) return { $result: { args: jsonable(v.args), kwargs: jsonable(v.kwargs) } };
  if (Array.isArray(v)) return v.map(jsonable);
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = jsonable(x);
    return o;
  }
  return { $unexpected: typeof v === "object" ? Object.prototype.toString.call(v) : typeof v };
}

export function emit(obj: Record<string, unknown>): void {
  process.stdout.write(OUT + JSON.stringify(obj) + "\n");
}

// progress returns an onProgress callback that reports each progressive result of call label.
export function progress<P>(label: string): (p: P) => void {
  return (p: P) => emit({ call: label, progress: jsonable(p) });
}

// report awaits one call and reports what its promise resolved or rejected with.
export async function report<T>(label: string, call: () => Promise<T>): Promise<void> {
  try {
    const v: T = await call();
    emit({ call: label, result: jsonable(v) });
  } catch (e) {
    if (e instanceof autobahn.Error) {
      emit({ call: label, error: e.error, args: jsonable(e.args ?? []), kwargs: jsonable(e.kwargs ?? {}), class: "autobahn.Error" });
    } else {
      emit({ call: label, error: "js:" + describe(e), args: [], kwargs: {}, class: typeof e });
    }
  }
}

function describe(e: unknown): string {
  if (e instanceof autobahn.Error) return `autobahn.Error ${e.error} ${JSON.stringify(jsonable(e.args))} ${JSON.stringify(jsonable(e.kwargs))}`;
  if (e instanceof Error && e.stack) return e.stack;
  return String(e);
}

// What @types/autobahn leaves out: the serializers, and a transport's serializers.
interface AutobahnSerializers {
  serializer: { JSONSerializer: new () => object; MsgpackSerializer: new () => object; CBORSerializer: new () => object };
}

function serializerFor(name: string): object {
  const s = (autobahn as unknown as AutobahnSerializers).serializer;
  switch (name) {
    case "json": return new s.JSONSerializer();
    case "msgpack": return new s.MsgpackSerializer();
    case "cbor": return new s.CBORSerializer();
  }
  throw new Error("unknown serializer " + name);
}

// main joins REALM at URL (a WebSocket URL) with SERIALIZER, from the command line
// (URL REALM SERIALIZER [ARGS...]), runs body with the session and ARGS, and exits: 0 once
// body has returned ({"end": true} printed), 1 on any failure.
export function main(usage: string, body: (session: autobahn.Session, args: string[]) => Promise<void>): void {
  const argv = process.argv.slice(2);
  if (argv.length < 3) {
    emit({ fatal: "usage: " + usage });
    process.exit(2);
  }
  const [url, realm, ser, ...args] = argv;
  if (typeof WebSocket === "undefined") {
    emit({ fatal: "no global WebSocket: run node with --experimental-websocket (Node 20)" });
    process.exit(1);
  }
  const timer = setTimeout(() => {
    emit({ fatal: `timed out after ${TIMEOUT_MS}ms` });
    process.exit(1);
  }, TIMEOUT_MS);
  let finished = false;
  const transport = { type: "websocket", url, serializers: [serializerFor(ser)] } as autobahn.ITransportDefinition;
  const conn = new autobahn.Connection({ realm, transports: [transport], max_retries: 0, retry_if_unreachable: false });
  conn.onopen = (session: autobahn.Session) => {
    body(session, args).then(
      () => {
        emit({ end: true });
        return 0;
      },
      (e: unknown) => {
        emit({ fatal: "failed: " + describe(e) });
        return 1;
      },
    ).then((code: number) => {
      finished = true;
      clearTimeout(timer);
      conn.close();
      // Let stdout drain, then end regardless of open handles.
      process.stdout.write("", () => process.exit(code));
    });
  };
  conn.onclose = (reason: string, details: unknown) => {
    if (!finished) {
      emit({ fatal: `connection closed before the end: ${reason} ${JSON.stringify(details)}` });
      process.exit(1);
    }
    return true; // do not reconnect
  };
  conn.open();
}
