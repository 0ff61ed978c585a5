"""Calls every procedure of examples/service's Library (com.example.library.*) through the
client that `wampfn gen py` generated for it, library_client.py, with Autobahn|Python on
Twisted, and prints what each call gave (see common.py). It expects a Library that has no
book yet.

Usage: /usr/bin/python3 library.py URL REALM SERIALIZER
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Protocol, cast

import txaio  # pyright: ignore[reportMissingTypeStubs]

txaio.use_twisted()  # pyright: ignore[reportUnknownMemberType]

from twisted.internet import reactor as _reactor  # noqa: E402
from twisted.internet.defer import Deferred, ensureDeferred  # noqa: E402

from autobahn.twisted.wamp import ApplicationRunner, ApplicationSession  # noqa: E402  # pyright: ignore[reportMissingTypeStubs]

from common import SERIALIZERS, TIMEOUT, emit, progress, report, run_calls  # noqa: E402
from library_client import Book, Client, Stats  # noqa: E402



class Reactor(Protocol):
    """What this program uses of the reactor (Twisted's zope interfaces carry no self)."""

    running: bool

    def stop(self) -> None: ...

    def callLater(self, delay: float, callable: Callable[[], None]) -> object: ...  # noqa: N802


reactor = cast(Reactor, _reactor)


async def calls(c: Client) -> None:
    books: list[Book] = [
        {"title": "The Go Programming Language", "author": "Donovan & Kernighan", "year": 2015},
        {"title": "The C Programming Language", "author": "Kernighan & Ritchie", "year": 1978},
        # Add puts a new book on the shelf: the borrower is dropped.
        {"title": "Structure and Interpretation of Computer Programs", "author": "Abelson & Sussman", "year": 1985,
         "borrower": "nobody"},
    ]
    for b in books:
        async def add(b: Book = b) -> int:
            return await c.add(b)

        await report("add " + b.get("title", ""), add)

    async def get2() -> Book:
        return await c.get(2)

    await report("get(2)", get2)
    await report("get(42)", lambda: c.get(42))

    async def list_language() -> int:
        return await c.list("language", on_progress=progress("list(language) with progress"))

    await report("list(language) with progress", list_language)
    await report("list()", lambda: c.list("", timeout=10.0))

    async def lend() -> None:
        return await c.lend(1, "ada")

    await report("lend(1, ada)", lend)
    await report("lend(1, grace)", lambda: c.lend(1, "grace"))
    await report("get(1)", lambda: c.get(1))

    async def stats() -> Stats:
        return await c.stats()

    await report("stats()", stats)


class Caller(ApplicationSession):
    code = 1

    def onJoin(self, details: object) -> Deferred[None]:  # pyright: ignore[reportIncompatibleMethodOverride]
        return ensureDeferred(self.run())

    async def run(self) -> None:
        Caller.code = await run_calls(calls(Client(self)))
        self.leave()

    def onDisconnect(self) -> None:
        if reactor.running:
            reactor.stop()


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[3] not in SERIALIZERS:
        sys.stderr.write(__doc__ or "")
        return 2
    url, realm, ser = argv[1:]

    def timeout() -> None:
        emit({"fatal": "timed out after %ss" % TIMEOUT})
        reactor.stop()

    reactor.callLater(TIMEOUT, timeout)
    # Autobahn's own log goes to stderr, and print is left alone.
    txaio.start_logging(out=sys.stderr, level="warn")  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    runner = ApplicationRunner(url, realm, serializers=[SERIALIZERS[ser]()])  # pyright: ignore[reportArgumentType]
    try:
        runner.run(Caller, log_level="warn")  # pyright: ignore[reportUnknownMemberType]
    except Exception as e:  # noqa: BLE001
        emit({"fatal": "runner: %s: %s" % (type(e).__name__, e)})
        return 1
    return Caller.code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
