"""Calls every procedure of the discovery corpus (discoveryCorpus in
interop/discovery_test.go) through the client that `wampfn gen py` generated for it,
corpus_client.py, with Autobahn|Python on asyncio, and prints what each call gave (see
common.py). The variables are typed as the generated signatures must type them, so that
pyright --strict checks those too.

Usage: /usr/bin/python3 corpus.py URL REALM SERIALIZER
"""

from __future__ import annotations

import asyncio
import sys

import txaio  # pyright: ignore[reportMissingTypeStubs]

from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession  # pyright: ignore[reportMissingTypeStubs]

from common import SERIALIZERS, TIMEOUT, emit, progress, report, run_calls
from corpus_client import Client, Gadget, Node, Tree

# BLOB is blobBytes of interop/harness_test.go.
BLOB = bytes([0x00, 0x01, 0x02, 0x7F, 0x80, 0xFE, 0xFF, 0x57])


async def calls(c: Client) -> None:
    async def longop3() -> int:
        return await c.longop(3, on_progress=progress("longop(3) with progress"))

    await report("longop(3) with progress", longop3)
    await report("longop(2)", lambda: c.longop(2))
    await report("longop(1) with a timeout", lambda: c.longop(1, timeout=10.0))

    gadget: Gadget = {
        "id": 4294967295, "kind": "k", "name": "g", "note": "", "made": "2024-02-29T12:34:56.789Z",
        "blob": BLOB, "owner": {"name": "ada", "since": "1815-12-10T00:00:00+01:00"},
        "scores": {"a": [-128, 0, 127], "b": None}, "pair": [0, 65535], "serial": "-9223372036854775808",
        "Untagged": True, "nested": {"x": {"level": -128}, "y": None},
    }

    async def full_gadget() -> Gadget:
        return await c.gadget(gadget)

    await report("gadget(full)", full_gadget)
    await report("gadget({})", lambda: c.gadget({}))

    node: Node = {"name": "root", "kids": [{"name": "a", "kids": None}, {"name": "b", "kids": [{"name": "c", "kids": []}]}]}

    async def call_node() -> Node:
        return await c.node(node)

    await report("node", call_node)
    tree: Tree = [[], [[], [[]]], None]

    async def call_tree() -> Tree:
        return await c.tree(tree)

    await report("tree", call_tree)

    async def greet() -> str:
        return await c.greet("ada")

    await report("greet(name)", greet)
    await report("greet(name, title)", lambda: c.greet("ada", "Dr"))
    await report("greet(name, null)", lambda: c.greet("ada", None))

    async def sum0() -> int:
        return await c.sum()

    await report("sum()", sum0)
    await report("sum(1, 2, 3)", lambda: c.sum(1, 2, 3))
    none: list[int] = []
    await report("sum([])", lambda: c.sum(*none))

    async def split() -> tuple[int, str]:
        return await c.split(7)

    await report("split(7)", split)

    async def touch() -> None:
        return await c.touch(1)

    await report("touch(1)", touch)

    async def raw() -> object:
        return await c.raw()

    await report("raw()", raw)

    async def count3() -> list[int] | None:
        return await c.count(3)

    await report("count(3)", count3)
    await report("count(4) with progress", lambda: c.count(4, on_progress=progress("count(4) with progress")))

    async def edges_max() -> tuple[int, int, float, int]:
        return await c.edges(255, -32768, 1.5, 2**64 - 1)

    await report("edges(max)", edges_max)
    await report("edges(min)", lambda: c.edges(0, 32767, -0.15625, 0))
    await report("edges(256)", lambda: c.edges(256, 0, 0.0, 0))

    async def blob() -> bytes | None:
        return await c.blob(BLOB)

    await report("blob(bytes)", blob)
    await report("blob(empty)", lambda: c.blob(b""))

    # Leaving out an optional argument before one that is given.
    await report("optmid(1, -, 3)", lambda: c.optmid(1, None, 3))
    await report("optmid(1)", lambda: c.optmid(1))
    await report("optvar(1, -, 5, 6)", lambda: c.optvar(1, None, 5, 6))
    await report("optvar(1, 2)", lambda: c.optvar(1, 2))

    await report("multi with progress", lambda: c.multi(on_progress=progress("multi with progress")))


class Caller(ApplicationSession):
    code = 1

    async def onJoin(self, details: object) -> None:  # pyright: ignore[reportIncompatibleMethodOverride]
        Caller.code = await run_calls(calls(Client(self)))
        self.leave()

    def onDisconnect(self) -> None:
        asyncio.get_event_loop().stop()


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[3] not in SERIALIZERS:
        sys.stderr.write(__doc__ or "")
        return 2
    url, realm, ser = argv[1:]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def timeout() -> None:
        emit({"fatal": "timed out after %ss" % TIMEOUT})
        loop.stop()

    loop.call_later(TIMEOUT, timeout)
    # Autobahn's own log goes to stderr, and print is left alone.
    txaio.start_logging(out=sys.stderr, level="warn")  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    runner = ApplicationRunner(url, realm, serializers=[SERIALIZERS[ser]()])
    try:
        runner.run(Caller, log_level="warn")  # pyright: ignore[reportUnknownMemberType]
    except Exception as e:  # noqa: BLE001
        emit({"fatal": "runner: %s: %s" % (type(e).__name__, e)})
        return 1
    return Caller.code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
