// Calls every procedure of examples/service's Library (com.example.library.*) through the
// client that `wampfn gen ts` generated for it, library_client.ts, and prints what each
// call gave (see common.ts). It expects a Library that has no book yet.
//
// Usage: node --experimental-websocket library.js URL REALM SERIALIZER

import { Book, Client, Stats } from "./library_client";
import { main, progress, report } from "./common";

main("library.js URL REALM SERIALIZER", async (session) => {
  const c = new Client(session);
  const books: Book[] = [
    { title: "The Go Programming Language", author: "Donovan & Kernighan", year: 2015 },
    { title: "The C Programming Language", author: "Kernighan & Ritchie", year: 1978 },
    // Add puts a new book on the shelf: the borrower is dropped.
    { title: "Structure and Interpretation of Computer Programs", author: "Abelson & Sussman", year: 1985, borrower: "nobody" },
  ];
  for (const b of books) {
    await report("add " + b.title, async () => {
      const id: number = await c.add(b);
      return id;
    });
  }
  await report("get(2)", async () => {
    const b: Book = await c.get(2);
    return b;
  });
  await report("get(42)", () => c.get(42));
  await report("list(language) with progress", async () => {
    const n: number = await c.list("language", { onProgress: progress<Book>("list(language) with progress") });
    return n;
  });
  await report("list()", () => c.list("", { timeout: 10000 }));
  await report("lend(1, ada)", async () => {
    const v: void = await c.lend(1, "ada");
    return v;
  });
  await report("lend(1, grace)", () => c.lend(1, "grace"));
  await report("get(1)", () => c.get(1));
  await report("stats()", async () => {
    const s: Stats = await c.stats();
    return s;
  });
});
