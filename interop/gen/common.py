"""The shared part of the Python programs of the generated-client tests
(interop/gen_test.go): the lines for the Go test.

Every line meant for the Go test starts with "WAMPFN-INTEROP " and one JSON object:

  {"call": LABEL, "progress": V}        one per on_progress callback
  {"call": LABEL, "result": V}          what the call returned
  {"call": LABEL, "error": URI, "args": [...], "kwargs": {...}, "class": C}
                                        what it raised
  {"fatal": MSG}                        the program itself failed (exit 1)
  {"end": true}                         every call ran (then exit 0)

bytes become {"$bytes": HEX}, a tuple {"$tuple": [...]}, an Autobahn CallResult
{"$result": {"args": [...], "kwargs": {...}}}, and anything else that JSON cannot hold
{"$unexpected": TYPE}; ints stay ints and floats floats (3 vs 3.0).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from autobahn.wamp.exception import ApplicationError  # pyright: ignore[reportMissingTypeStubs]
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer  # pyright: ignore[reportMissingTypeStubs]
from autobahn.wamp.types import CallResult  # pyright: ignore[reportMissingTypeStubs]

OUT = "WAMPFN-INTEROP "
TIMEOUT = 50.0  # seconds; the Go side kills us if it must

T = TypeVar("T")

# The real standard output: Twisted's logging (txaio.start_logging) takes over sys.stdout.
STDOUT = sys.__stdout__ if sys.__stdout__ is not None else sys.stdout


SERIALIZERS = {"json": JsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer}


def jsonable(v: object) -> object:
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if isinstance(v, bytes):
        return {"$bytes": v.hex()}
    if isinstance(v, tuple):
        return {"$tuple": [jsonable(x) for x in cast("tuple[object, ...]", v)]}
    if isinstance(v, list):
        return [jsonable(x) for x in cast("list[object]", v)]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in cast("dict[object, object]", v).items()}
    if isinstance(v, CallResult):
        results = list(cast("tuple[object, ...]", v.results))  # pyright: ignore[reportUnknownMemberType]
        kwresults = cast("dict[str, object]", v.kwresults)  # pyright: ignore[reportUnknownMemberType]
        return {"$result": {"args": jsonable(results), "kwargs": jsonable(kwresults)}}
    return {"$unexpected": type(v).__name__}


def emit(obj: dict[str, object]) -> None:
    STDOUT.write(OUT + json.dumps(obj) + "\n")
    STDOUT.flush()


def progress(label: str) -> Callable[[object], None]:
    """An on_progress callback that reports each progressive result of call label."""

    def on_progress(p: object) -> None:
        emit({"call": label, "progress": jsonable(p)})

    return on_progress


async def report(label: str, call: Callable[[], Awaitable[T]]) -> None:
    """Awaits one call and reports what it returned or raised."""
    try:
        v = await call()
    except ApplicationError as e:
        emit({"call": label, "error": e.error, "args": jsonable(list(e.args)),
              "kwargs": jsonable(e.kwargs or {}),  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
              "class": "ApplicationError"})
    except Exception as e:  # noqa: BLE001 - report anything to the Go side
        emit({"call": label, "error": "python:" + type(e).__name__, "args": [str(e)], "kwargs": {},
              "class": type(e).__name__})
    else:
        emit({"call": label, "result": jsonable(v)})


async def run_calls(calls: Awaitable[None]) -> int:
    """Awaits a program's calls and reports how they ended: {"end": true}, or a fatal line
    with whatever they raised. Returns the program's exit status."""
    try:
        await calls
    except Exception as e:  # noqa: BLE001 - report anything to the Go side
        emit({"fatal": "%s: %s" % (type(e).__name__, e)})
        return 1
    emit({"end": True})
    return 0
