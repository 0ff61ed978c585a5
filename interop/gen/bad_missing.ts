// Must not compile: a call that leaves out a required argument (gen_test.go checks that
// tsc names this file and line, and the parameter).
import type * as autobahn from "autobahn";
import { Client } from "./library_client";

export function bad(session: autobahn.Session): Promise<void> {
  return new Client(session).lend(1); // WAMPFN-BAD
}
