#!/usr/bin/python3
"""Autobahn|Python (Twisted) discovery checker for the wampfn interop tests
(TestInteropDiscovery), with jsonschema (Debian python3-jsonschema).

Usage: /usr/bin/python3 discovery_caller.py URL REALM SERIALIZER PARTS PLAN

  URL         ws://127.0.0.1:PORT/
  SERIALIZER  json | msgpack | cbor
  PARTS       comma-separated, run in order, in one session: document,schemas,calls,negatives
  PLAN        a JSON file written by the Go test: {"describe": URI, "calls": [{label, method,
              args, kwargs, progress}], "negatives": [{label, method, at, value}]}

The parts:
  document   calls the discovery procedure (plan["describe"]) and prints the OpenRPC document
             whole (Python keeps integers exact, so the Go test compares it with
             Service.Describe)
  schemas    checks every schema of the document (each method's params, result,
             x-wamp-progress and x-wamp-input, and each component) with
             jsonschema.Draft7Validator.check_schema, and resolves each of its $refs
  calls      for each call of the plan: validates its arguments against the params' schemas,
             makes the call (with on_progress when the plan says so), and validates each
             progressive result (its one positional argument) against x-wamp-progress and the
             final result against result: the Args list when the result is marked x-wamp-args,
             else its one value, None for none (the Args list for several: a wampfn.Result)
  negatives  validates each of the plan's values that must NOT validate, against the schema of
             the document at "at": params.NAME, result, progress, input, components.NAME

A schema is validated as {"allOf": [schema], "components": doc["components"]}, so that its
"#/components/schemas/NAME" references resolve, with a FormatChecker. jsonschema 4.10 checks
"date-time" only with the rfc3339-validator package, which Debian does not have: this script
then registers its own RFC 3339 check (see is_date_time).

What Autobahn|Python delivers becomes the JSON value that the schemas describe first: bytes
become "\\u0000" + base64 (the WAMP JSON convention), tuples lists.

Every line meant for the Go test starts with "WAMPFN-INTEROP " followed by one JSON object
with a "case" member (the part), as in autobahn_py_caller.py: {"methods": [names]},
{"document": doc}, {"info": {...}}, {"schema": where, "compiled": bool, "why": msg},
{"check": label, "valid": bool, "why": msg, "value": v} ("unchecked": true when the value could
not be validated: no such schema, or it is no valid schema), {"fatal": msg}, {"done": true} (end
of a part), {"end": true} (every part ran).
"""

import base64
import datetime
import json
import re
import sys

import jsonschema
import txaio

txaio.use_twisted()

from twisted.internet import reactor  # noqa: E402
from twisted.internet.defer import inlineCallbacks  # noqa: E402

from autobahn.twisted.wamp import ApplicationRunner, ApplicationSession  # noqa: E402
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer  # noqa: E402
from autobahn.wamp.types import CallOptions, CallResult  # noqa: E402

PREFIX_OUT = "WAMPFN-INTEROP "
TIMEOUT = 50.0  # seconds for all parts; the Go side kills us if it must

SERIALIZERS = {
    "json": JsonSerializer,
    "msgpack": MsgPackSerializer,
    "cbor": CBORSerializer,
}

# Twisted's logging (started by txaio) replaces sys.stdout with a log sink: keep the real one.
REAL_STDOUT = sys.__stdout__

CURRENT = {"case": ""}


def to_json_value(v):
    """The JSON value that the schemas describe, of what Autobahn|Python delivered."""
    if isinstance(v, (bytes, bytearray)):
        return "\x00" + base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, dict):
        return {str(k): to_json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_json_value(x) for x in v]
    return v


def emit(obj, case=None):
    obj = dict(obj, case=CURRENT["case"] if case is None else case)
    REAL_STDOUT.write(PREFIX_OUT + json.dumps(obj, sort_keys=True) + "\n")
    REAL_STDOUT.flush()


# RFC 3339's date-time (section 5.6): "T" or "t", "Z" or "z" or an offset; a leap second 60.
DATE_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$")


def is_date_time(s):
    if not isinstance(s, str):
        return True
    m = DATE_TIME.match(s)
    if not m:
        return False
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    if m.group(9) is not None and (int(m.group(9)) > 23 or int(m.group(10)) > 59):
        return False
    return hour <= 23 and minute <= 59 and second <= 60


def format_checker():
    fc = jsonschema.FormatChecker()
    if "date-time" not in fc.checkers:
        fc.checks("date-time")(is_date_time)
    return fc


FORMATS = format_checker()


def method_of(doc, name):
    for m in doc["methods"]:
        if m["name"] == name:
            return m
    raise KeyError("the document has no method %s" % name)


def schema_at(doc, method, at):
    """The schema at `at` of method (none for a component), and a name for messages."""
    if at.startswith("components."):
        name = at[len("components."):]
        schemas = doc.get("components", {}).get("schemas", {})
        if name not in schemas:
            raise KeyError("the document has no component %s" % name)
        return "components.schemas." + name, schemas[name]
    m = method_of(doc, method)
    if at.startswith("params."):
        name = at[len("params."):]
        for p in m["params"]:
            if p["name"] == name:
                return "%s param %s" % (method, name), p["schema"]
        raise KeyError("%s has no param %s" % (method, name))
    key = {"result": "result", "progress": "x-wamp-progress", "input": "x-wamp-input"}.get(at)
    if key is None or key not in m:
        raise KeyError("%s has no %s" % (method, at))
    return "%s %s" % (method, at), m[key]["schema"]


def every_schema(doc):
    for m in doc["methods"]:
        for i, p in enumerate(m["params"]):
            yield "%s params[%d] (%s)" % (m["name"], i, p["name"]), p["schema"]
        yield "%s result" % m["name"], m["result"]["schema"]
        for key in ("x-wamp-progress", "x-wamp-input"):
            if key in m:
                yield "%s %s" % (m["name"], key), m[key]["schema"]
    for name, s in sorted(doc.get("components", {}).get("schemas", {}).items()):
        yield "components.schemas." + name, s


def refs(schema):
    """Every $ref in schema."""
    if isinstance(schema, dict):
        for k, v in schema.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from refs(v)
    elif isinstance(schema, list):
        for v in schema:
            yield from refs(v)


class Checker:

    def __init__(self, doc):
        self.doc = doc
        self.cache = {}

    def compile(self, where, schema):
        """A Draft7Validator for schema (of the document); raises when it is no valid schema
        or a $ref does not resolve."""
        v = self.cache.get(where)
        if v is None:
            wrapped = {"allOf": [schema], "components": self.doc.get("components", {})}
            jsonschema.Draft7Validator.check_schema(wrapped)
            v = jsonschema.Draft7Validator(wrapped, format_checker=FORMATS)
            for ref in refs(schema):
                v.resolver.resolve(ref)
            self.cache[where] = v
        return v

    def check(self, label, method, at, value):
        where = at
        try:
            where, schema = schema_at(self.doc, method, at)
            v = self.compile(where, schema)
            errors = sorted(v.iter_errors(value), key=lambda e: list(e.absolute_path))
            why = "; ".join("%s: at %s: %s" % (where, "/".join(str(p) for p in e.absolute_path) or "(root)",
                                               e.message[:300]) for e in errors)
            emit({"check": label, "valid": not errors, "why": why, "value": value})
            return not errors
        except Exception as e:  # noqa: BLE001 - report it as this check's failure
            emit({"check": label, "valid": False, "unchecked": True,
                  "why": "%s: %s: %s" % (where, type(e).__name__, e), "value": value})
            return False


def describe_error(e):
    if isinstance(e, ApplicationError):
        return "%s %s %s" % (e.error, json.dumps(to_json_value(list(e.args))),
                             json.dumps(to_json_value(dict(e.kwargs or {}))))
    return "%s: %s" % (type(e).__name__, e)


class Caller(ApplicationSession):

    def onConnect(self):
        self.join(self.config.realm)

    @inlineCallbacks
    def onJoin(self, details):
        plan = self.config.extra["plan"]
        try:
            for part in self.config.extra["parts"]:
                CURRENT["case"] = part
                yield getattr(self, "part_" + part)(plan)
                emit({"done": True})
        except Exception as e:  # noqa: BLE001 - report anything to the Go side
            self.config.extra["result"]["code"] = 1
            emit({"fatal": "part failed: " + describe_error(e)})
        else:
            CURRENT["case"] = ""
            emit({"end": True})
        self.leave()

    def onDisconnect(self):
        if reactor.running:
            reactor.stop()

    @inlineCallbacks
    def part_document(self, plan):
        doc = yield self.call(plan["describe"])
        self.doc = to_json_value(doc)
        emit({"methods": [m["name"] for m in self.doc["methods"]]})
        emit({"document": self.doc})
        emit({"info": {"jsonschema": jsonschema_version(), "date-time": "jsonschema" if
                       "date-time" in jsonschema.FormatChecker().checkers else "discovery_caller.py"}})
        self.checker = Checker(self.doc)

    def part_schemas(self, plan):
        for where, schema in every_schema(self.doc):
            try:
                self.checker.compile(where, schema)
            except Exception as e:  # noqa: BLE001
                msg = getattr(e, "message", None) or str(e)
                emit({"schema": where, "compiled": False, "why": "%s: %s" % (type(e).__name__, msg[:500])})
            else:
                emit({"schema": where, "compiled": True})

    @inlineCallbacks
    def part_calls(self, plan):
        ck = self.checker
        for c in plan["calls"]:
            m = method_of(self.doc, c["method"])
            label, args, kwargs = c["label"], c.get("args") or [], c.get("kwargs") or {}
            # The arguments, from the schema's point of view: each must validate.
            params = m["params"]
            for i, v in enumerate(args):
                p = params[i] if i < len(params) else None
                if p is None and params and params[-1].get("x-wamp-variadic"):
                    p = params[-1]
                if p is None:
                    emit({"check": "%s: args[%d]" % (label, i), "valid": False, "unchecked": True,
                          "why": "%s has no param %d" % (c["method"], i), "value": v})
                    continue
                ck.check("%s: args[%d]" % (label, i), c["method"], "params." + p["name"], v)
            for k in sorted(kwargs):
                ck.check("%s: kwargs.%s" % (label, k), c["method"], "params." + k, kwargs[k])

            progress = []
            options = None
            if c.get("progress"):
                options = CallOptions(on_progress=lambda *a, **kw: progress.append(a[0] if a else None))
            try:
                if options is not None:
                    res = yield self.call(c["method"], *args, options=options, **kwargs)
                else:
                    res = yield self.call(c["method"], *args, **kwargs)
            except Exception as e:  # noqa: BLE001
                emit({"check": "%s: call" % label, "valid": False, "why": "the call failed: " + describe_error(e),
                      "value": None})
                continue
            for i, v in enumerate(progress):
                ck.check("%s: progress[%d]" % (label, i), c["method"], "progress", to_json_value(v))
            # Autobahn|Python fires with the bare value of one positional result, a CallResult
            # for several or for keyword results, None for none.
            if isinstance(res, CallResult):
                rargs = list(res.results)
            elif res is None:
                rargs = []
            else:
                rargs = [res]
            rargs = to_json_value(rargs)
            if m["result"].get("x-wamp-args") or len(rargs) > 1:
                value = rargs
            elif not rargs:
                value = None
            else:
                value = rargs[0]
            ck.check("%s: result" % label, c["method"], "result", value)

    def part_negatives(self, plan):
        for n in plan["negatives"]:
            self.checker.check(n["label"], n.get("method"), n["at"], n["value"])


def jsonschema_version():
    try:
        from importlib.metadata import version
        return version("jsonschema")
    except Exception:  # noqa: BLE001
        return "unknown"


def main(argv):
    if len(argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    url, realm, ser, part_list, plan_file = argv[1:]
    parts = part_list.split(",")
    if ser not in SERIALIZERS:
        emit({"fatal": "unknown serializer " + ser})
        return 2
    for part in parts:
        if not hasattr(Caller, "part_" + part):
            emit({"fatal": "unknown part " + part})
            return 2
    with open(plan_file, encoding="utf-8") as f:
        plan = json.load(f)

    txaio.start_logging(out=sys.stderr, level="warn")
    result = {"code": 0}

    def timeout():
        result["code"] = 1
        emit({"fatal": "timed out after %ss" % TIMEOUT})
        reactor.stop()

    reactor.callLater(TIMEOUT, timeout)

    runner = ApplicationRunner(url, realm, extra={"parts": parts, "plan": plan, "result": result},
                               serializers=[SERIALIZERS[ser]()])
    try:
        runner.run(Caller, log_level="warn")
    except Exception as e:  # noqa: BLE001
        emit({"fatal": "runner: %s: %s" % (type(e).__name__, e)})
        return 1
    return result["code"]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
