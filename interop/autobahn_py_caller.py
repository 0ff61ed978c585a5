#!/usr/bin/python3
"""Autobahn|Python (Twisted) caller for the wampfn interop tests.

Usage: /usr/bin/python3 autobahn_py_caller.py URL REALM SERIALIZER CASES PREFIX

  URL         ws://127.0.0.1:PORT/ (WebSocket) or rs://127.0.0.1:PORT (RawSocket over TCP)
  SERIALIZER  json | msgpack | cbor
  CASES       comma-separated, run in order, in one session:
              progress,noprogress,badinput,cancel,struct,bytes,customerror,
              methodnames,methodprogress,methodstruct,methodkwargs,methoderror
              (the method* cases call a service registered with wampfn.RegisterMethods,
              by the snake_case URIs of its methods)
  PREFIX      URI prefix of the procedures under test: case C calls PREFIX + C + "." + name,
              e.g. "com.test.i12.progress.longop"

Every line meant for the Go test starts with "WAMPFN-INTEROP " followed by one JSON
object, which has a "case" member naming the case it belongs to; Autobahn's and Twisted's
own log lines go to stderr. The JSON vocabulary:

  {"progress": {"args": [...], "kwargs": {...}}}       one per on_progress callback
  {"final": {"args": [...], "kwargs": {...}, "shape": S}} the value the call's Deferred fired with;
        S says what the user got: "value" (a single positional result), "none", or
        "CallResult" (several positional results or keyword results)
  {"error": URI, "args": [...], "kwargs": {...}, "class": NAME}  the call's Deferred failed
  {"cancel": "sent"}                                     d.cancel() was called
  {"fatal": "..."}                                       the script itself failed (exit 1)
  {"done": true}                                         the case ran to its end
  {"end": true}                                          every case ran (then exit 0)

Values are JSON, except bytes, which become {"$bytes": "<hex>"}; ints stay ints and
floats stay floats (3 vs 3.0), so the Go side can check integer results.
"""

import binascii
import json
import sys

import txaio

txaio.use_twisted()

from twisted.internet import reactor  # noqa: E402
from twisted.internet.defer import CancelledError, Deferred, inlineCallbacks  # noqa: E402

from autobahn.twisted.wamp import ApplicationRunner, ApplicationSession  # noqa: E402
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer  # noqa: E402
from autobahn.wamp.types import CallOptions, CallResult  # noqa: E402

PREFIX_OUT = "WAMPFN-INTEROP "

# ORDER is what case methodstruct sends to place_order (theOrder in interop/shop_test.go).
ORDER = {"sku": "widget", "qty": 3, "gift": True, "ship": {"city": "Lyon", "zip": "69001"},
         "notes": ["fragile"]}
CASE_TIMEOUT = 50.0  # seconds for all cases; the Go side kills us if it must

SERIALIZERS = {
    "json": JsonSerializer,
    "msgpack": MsgPackSerializer,
    "cbor": CBORSerializer,
}


def to_jsonable(v):
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": binascii.hexlify(bytes(v)).decode("ascii")}
    if isinstance(v, dict):
        return {str(k): to_jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_jsonable(x) for x in v]
    return v


# Twisted's logging (started by txaio) replaces sys.stdout with a log sink: keep the real one.
REAL_STDOUT = sys.__stdout__


CURRENT = {"case": ""}


def emit(obj, case=None):
    obj = dict(obj, case=CURRENT["case"] if case is None else case)
    REAL_STDOUT.write(PREFIX_OUT + json.dumps(to_jsonable(obj), sort_keys=True) + "\n")
    REAL_STDOUT.flush()


def final_of(res):
    """Describe what Autobahn|Python resolved the call's Deferred with."""
    if isinstance(res, CallResult):
        return {"args": list(res.results), "kwargs": dict(res.kwresults), "shape": "CallResult"}
    if res is None:
        return {"args": [], "kwargs": {}, "shape": "none"}
    return {"args": [res], "kwargs": {}, "shape": "value"}


def error_of(exc):
    if isinstance(exc, ApplicationError):
        return {"error": exc.error, "args": list(exc.args), "kwargs": dict(exc.kwargs or {}),
                "class": type(exc).__name__}
    if isinstance(exc, CancelledError):
        # Twisted fails a cancelled Deferred at once with CancelledError; Autobahn's canceller
        # only sends CANCEL, and ignores the router's later ERROR for that request.
        return {"error": "twisted.internet.defer.CancelledError", "args": [], "kwargs": {},
                "class": type(exc).__name__}
    return {"error": "python:" + type(exc).__name__, "args": [str(exc)], "kwargs": {},
            "class": type(exc).__name__}


class Caller(ApplicationSession):

    def onConnect(self):
        self.join(self.config.realm)

    @inlineCallbacks
    def onJoin(self, details):
        prefix = self.config.extra["prefix"]
        try:
            for case in self.config.extra["cases"]:
                CURRENT["case"] = case
                yield getattr(self, "case_" + case)(prefix + case + ".")
                emit({"done": True})
        except Exception as e:  # noqa: BLE001 - report anything to the Go side
            self.config.extra["result"]["code"] = 1
            emit({"fatal": "%s: %s" % (type(e).__name__, e)})
        else:
            CURRENT["case"] = ""
            emit({"end": True})
        self.leave()

    def onDisconnect(self):
        if reactor.running:
            reactor.stop()

    # -- helpers --------------------------------------------------------------

    @inlineCallbacks
    def call_and_report(self, proc, *args, **kwargs):
        try:
            res = yield self.call(proc, *args, **kwargs)
        except Exception as e:  # noqa: BLE001
            emit(error_of(e))
        else:
            emit({"final": final_of(res)})

    def on_progress(self, *args, **kwargs):
        emit({"progress": {"args": list(args), "kwargs": kwargs}})

    # -- cases -----------------------------------------------------------------

    @inlineCallbacks
    def case_progress(self, prefix):
        # The seed frontend's call: progress 0, 1, 2 then the final 3.
        yield self.call_and_report(prefix + "longop", 3,
                                   options=CallOptions(on_progress=self.on_progress))

    @inlineCallbacks
    def case_noprogress(self, prefix):
        yield self.call_and_report(prefix + "longop", 2)
        # chatty sends progress without asking ProgressSink.Wanted: wampfn must drop it.
        yield self.call_and_report(prefix + "chatty", 2)

    @inlineCallbacks
    def case_badinput(self, prefix):
        yield self.call_and_report(prefix + "longop", "three")
        yield self.call_and_report(prefix + "longop")
        yield self.call_and_report(prefix + "longop", 3, 4)

    @inlineCallbacks
    def case_cancel(self, prefix):
        # Autobahn|Python's only cancel API is Deferred.cancel(): its canceller sends
        # CANCEL without a mode (nexus then uses killnowait) and Twisted fails the Deferred
        # with CancelledError at once.
        first = Deferred()
        case = CURRENT["case"]

        def on_progress(*args, **kwargs):
            # a progress result already on its way when we cancel may come later
            emit({"progress": {"args": list(args), "kwargs": kwargs}}, case=case)
            if not first.called:
                first.callback(None)

        d = self.call(prefix + "longop", 1000, options=CallOptions(on_progress=on_progress))
        outcome = []

        def settle(kind, val):
            outcome.append((kind, val))
            if not first.called:  # the call ended before any progress: do not wait
                first.callback(None)

        d.addCallbacks(lambda res: settle("final", res), lambda f: settle("error", f.value))
        yield first
        d.cancel()
        emit({"cancel": "sent"})
        kind, val = outcome[0]
        if kind == "final":
            emit({"final": final_of(val)})
        else:
            emit(error_of(val))
        # The following call must work.
        yield self.call_and_report(prefix + "longop", 1)

    @inlineCallbacks
    def case_struct(self, prefix):
        yield self.call_and_report(prefix + "item")

    @inlineCallbacks
    def case_bytes(self, prefix):
        yield self.call_and_report(prefix + "blob")

    @inlineCallbacks
    def case_customerror(self, prefix):
        yield self.call_and_report(prefix + "fail")

    # -- the RegisterMethods service (shop), by its methods' snake_case URIs -------

    @inlineCallbacks
    def case_methodnames(self, prefix):
        # GetHTTPStatus, and StoreInfo renamed "info"; then three names that must not exist.
        for name in ("get_http_status", "info", "store_info", "audit", "method_options"):
            yield self.call_and_report(prefix + name)

    @inlineCallbacks
    def case_methodprogress(self, prefix):
        yield self.call_and_report(prefix + "long_op", 3,
                                   options=CallOptions(on_progress=self.on_progress))

    @inlineCallbacks
    def case_methodstruct(self, prefix):
        yield self.call_and_report(prefix + "place_order", ORDER)

    @inlineCallbacks
    def case_methodkwargs(self, prefix):
        yield self.call_and_report(prefix + "quote", qty=4, sku="widget")
        yield self.call_and_report(prefix + "quote", "widget", qty=2)
        yield self.call_and_report(prefix + "quote", sku="widget", colour="red")

    @inlineCallbacks
    def case_methoderror(self, prefix):
        yield self.call_and_report(prefix + "cancel_order", "A-1")
        yield self.call_and_report(prefix + "cancel_order", "Z-9")


def main(argv):
    if len(argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    url, realm, ser, case_list, prefix = argv[1:]
    cases = case_list.split(",")
    if ser not in SERIALIZERS:
        emit({"fatal": "unknown serializer " + ser})
        return 2
    for case in cases:
        if not hasattr(Caller, "case_" + case):
            emit({"fatal": "unknown case " + case})
            return 2

    txaio.start_logging(out=sys.stderr, level="warn")
    result = {"code": 0}

    def timeout():
        result["code"] = 1
        emit({"fatal": "timed out after %ss" % CASE_TIMEOUT})
        reactor.stop()

    reactor.callLater(CASE_TIMEOUT, timeout)

    runner = ApplicationRunner(url, realm, extra={"cases": cases, "prefix": prefix, "result": result},
                               serializers=[SERIALIZERS[ser]()])
    try:
        runner.run(Caller, log_level="warn")
    except Exception as e:  # noqa: BLE001
        emit({"fatal": "runner: %s: %s" % (type(e).__name__, e)})
        return 1
    return result["code"]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
