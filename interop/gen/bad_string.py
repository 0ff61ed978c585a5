"""Must not type-check: a str where the generated client takes an int (gen_test.go checks
that pyright names this file and line, the parameter and the types)."""

from __future__ import annotations

from corpus_client import Client, Session


async def bad(session: Session) -> int:
    return await Client(session).longop("3")  # WAMPFN-BAD
