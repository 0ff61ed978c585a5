"""Must not type-check: a call that leaves out a required argument (gen_test.go checks that
pyright names this file and line, and the parameter)."""

from __future__ import annotations

from library_client import Client, Session


async def bad(session: Session) -> None:
    await Client(session).lend(1)  # WAMPFN-BAD
