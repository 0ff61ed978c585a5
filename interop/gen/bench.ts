// The cost of the generated client (BenchmarkGeneratedClientTS in interop/gen_test.go):
// greet("ada") of the discovery corpus, called through the Client that `wampfn gen ts`
// generated (corpus_client.ts) and through a hand-written session.call that makes the same
// call, in batches of CALLS calls, interleaved so that both see the same machine: pair i
// runs generated then hand-written when i is even, hand-written then generated when odd.
// Each batch is timed twice: with the calls one after the other ("serial": the caller
// awaits each), and with INFLIGHT calls in flight at once ("parallel": the client's own
// cost shows more). INFLIGHT stays well below what the router queues for the callee (an
// in-process nexus client: 64), which refuses calls beyond ("callee blocked").
// After one warm-up pair, it prints the median time per call of each, in ns, and the median
// and quartiles of the ratio generated/hand-written of each pair (the two batches of a pair
// run one after the other, so that the ratio of a pair is little affected by what else the
// machine does at the time):
//
//	WAMPFN-INTEROP {"bench": {"serial": {"gen": NS, "hand": NS, "ratio": R, "ratioQ1": R, "ratioQ3": R},
//	                          "parallel": {...}}, "pairs": N, "calls": M, "inflight": 16}
//
// Usage: node --experimental-websocket bench.js URL REALM SERIALIZER PREFIX PAIRS CALLS

import type * as autobahn from "autobahn";
import { Client } from "./corpus_client";
import { emit, main } from "./common";

// Node's own types (@types/node) are not installed.
declare const process: { hrtime: { bigint(): bigint } };

// quantile returns the q-quantile of xs (0.5: the median), interpolated.
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i), hi = Math.ceil(i);
  return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
}

type Way = (n: number, parallel: boolean) => Promise<void>;

const INFLIGHT = 16;

// inParallel makes n calls, INFLIGHT at a time.
async function inParallel(n: number, call: () => Promise<string>, check: (s: string) => void): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      check(await call());
    }
  };
  await Promise.all(Array.from({ length: Math.min(INFLIGHT, n) }, worker));
}

main("bench.js URL REALM SERIALIZER PREFIX PAIRS CALLS", async (session: autobahn.Session, args: string[]) => {
  const [prefix, pairsArg, callsArg] = args;
  const pairs = Number(pairsArg), calls = Number(callsArg);
  if (prefix === undefined || !(pairs > 0) || !(calls > 0)) throw new Error("want PREFIX PAIRS CALLS");
  const c = new Client(session);
  const uri = prefix + "greet";
  const check = (s: string) => {
    if (s !== "hello ada") throw new Error("greet returned " + JSON.stringify(s));
  };
  const gen: Way = async (n, parallel) => {
    if (parallel) {
      await inParallel(n, () => c.greet("ada"), check);
    } else {
      for (let i = 0; i < n; i++) check(await c.greet("ada"));
    }
  };
  const hand: Way = async (n, parallel) => {
    if (parallel) {
      await inParallel(n, () => Promise.resolve(session.call<string>(uri, ["ada"])), check);
    } else {
      for (let i = 0; i < n; i++) check(await session.call<string>(uri, ["ada"]));
    }
  };
  const time = async (way: Way, parallel: boolean): Promise<number> => {
    const t0 = process.hrtime.bigint();
    await way(calls, parallel);
    return Number(process.hrtime.bigint() - t0) / calls;
  };
  const out: Record<string, { gen: number; hand: number; ratio: number; ratioQ1: number; ratioQ3: number }> = {};
  for (const parallel of [false, true]) {
    const g: number[] = [], h: number[] = [], r: number[] = [];
    for (let i = -1; i < pairs; i++) { // i = -1: the warm-up pair, not counted
      let tg: number, th: number;
      if (i % 2 === 0) {
        tg = await time(gen, parallel);
        th = await time(hand, parallel);
      } else {
        th = await time(hand, parallel);
        tg = await time(gen, parallel);
      }
      if (i >= 0) {
        g.push(tg);
        h.push(th);
        r.push(tg / th);
      }
    }
    out[parallel ? "parallel" : "serial"] = {
      gen: quantile(g, 0.5), hand: quantile(h, 0.5),
      ratio: quantile(r, 0.5), ratioQ1: quantile(r, 0.25), ratioQ3: quantile(r, 0.75),
    };
  }
  emit({ bench: out, pairs, calls, inflight: INFLIGHT });
});
