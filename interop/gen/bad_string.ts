// Must not compile: a string where the generated client takes a number (gen_test.go checks
// that tsc names this file and line, and the types).
import type * as autobahn from "autobahn";
import { Client } from "./corpus_client";

export function bad(session: autobahn.Session): Promise<number> {
  return new Client(session).longop("3"); // WAMPFN-BAD
}
