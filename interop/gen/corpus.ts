// Calls every procedure of the discovery corpus (discoveryCorpus in
// interop/discovery_test.go) through the client that `wampfn gen ts` generated for it,
// corpus_client.ts, and prints what each call gave (see common.ts). The variables are
// typed as the generated signatures must type them, so that tsc --strict checks those too.
//
// Usage: node --experimental-websocket corpus.js URL REALM SERIALIZER

import { Client, Gadget, Node, Tree } from "./corpus_client";
import { main, progress, report } from "./common";

// blobBytes is blobBytes of interop/harness_test.go.
const blobBytes = new Uint8Array([0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff, 0x57]);

main("corpus.js URL REALM SERIALIZER", async (session) => {
  const c = new Client(session);

  await report("longop(3) with progress", async () => {
    const n: number = await c.longop(3, { onProgress: progress<number>("longop(3) with progress") });
    return n;
  });
  await report("longop(2)", () => c.longop(2));
  await report("longop(1) with a timeout", () => c.longop(1, { timeout: 10000 }));

  const gadget: Gadget = {
    id: 4294967295, kind: "k", name: "g", note: "", made: "2024-02-29T12:34:56.789Z",
    blob: blobBytes, owner: { name: "ada", since: "1815-12-10T00:00:00+01:00" },
    scores: { a: [-128, 0, 127], b: null }, pair: [0, 65535], serial: "-9223372036854775808",
    Untagged: true, nested: { x: { level: -128 }, y: null },
  };
  await report("gadget(full)", async () => {
    const g: Gadget = await c.gadget(gadget);
    const blob: Uint8Array | null | undefined = g.blob; // typed bytes
    if (blob !== null && blob !== undefined && !(blob instanceof Uint8Array)) throw new Error("blob is no Uint8Array");
    return g;
  });
  await report("gadget({})", () => c.gadget({}));

  const node: Node = { name: "root", kids: [{ name: "a", kids: null }, { name: "b", kids: [{ name: "c", kids: [] }] }] };
  await report("node", async () => {
    const n: Node = await c.node(node);
    return n;
  });
  const tree: Tree = [[], [[], [[]]], null];
  await report("tree", async () => {
    const t: Tree = await c.tree(tree);
    return t;
  });

  await report("greet(name)", async () => {
    const s: string = await c.greet("ada");
    return s;
  });
  await report("greet(name, title)", () => c.greet("ada", "Dr"));
  await report("greet(name, null)", () => c.greet("ada", null));

  await report("sum()", async () => {
    const s: number = await c.sum();
    return s;
  });
  await report("sum(1, 2, 3)", () => c.sum([1, 2, 3]));
  await report("sum([])", () => c.sum([]));

  await report("split(7)", async () => {
    const [n, s]: [number, string] = await c.split(7);
    return [n, s];
  });
  await report("touch(1)", async () => {
    const v: void = await c.touch(1);
    return v;
  });
  await report("raw()", async () => {
    const v: unknown = await c.raw();
    return v;
  });

  await report("count(3)", async () => {
    const xs: number[] | null = await c.count(3);
    return xs;
  });
  await report("count(4) with progress", () => c.count(4, { onProgress: progress<number>("count(4) with progress") }));

  await report("edges(max)", async () => {
    const r: [number, number, number, number] = await c.edges(255, -32768, 1.5, 2 ** 53);
    return r;
  });
  await report("edges(min)", () => c.edges(0, 32767, -0.15625, 0));
  await report("edges(256)", () => c.edges(256, 0, 0, 0));

  await report("blob(bytes)", async () => {
    const b: Uint8Array | null = await c.blob(blobBytes);
    return b;
  });
  await report("blob(empty)", () => c.blob(new Uint8Array(0)));

  // Leaving out an optional argument before one that is given.
  await report("optmid(1, -, 3)", () => c.optmid(1, undefined, 3));
  await report("optmid(1)", () => c.optmid(1));
  await report("optvar(1, -, 5, 6)", () => c.optvar(1, undefined, [5, 6]));
  await report("optvar(1, 2)", () => c.optvar(1, 2));

  await report("multi with progress", async () => {
    const n: number = await c.multi({ onProgress: progress<unknown>("multi with progress") });
    return n;
  });
});
