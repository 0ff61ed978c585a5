#!/usr/bin/python3
"""Autobahn|Python (Twisted) callee for the wampfn CLI's interop test (cli_test.go).

Usage: /usr/bin/python3 autobahn_py_callee.py URL REALM SERIALIZER PROCEDURE

Registers PROCEDURE as Autobahn's longop: with progress wanted it sends 0..n-1, one every
50 ms, through details.progress, then returns n; without, it waits n * 50 ms and returns n.
When the call is cancelled (INTERRUPT), Twisted cancels the Deferred: the callee prints
"WAMPFN-CALLEE cancelled". It prints "WAMPFN-CALLEE ready" once registered, and runs until
killed.
"""

import sys

import txaio

txaio.use_twisted()

from twisted.internet.defer import CancelledError, inlineCallbacks, returnValue  # noqa: E402

from autobahn.twisted.util import sleep  # noqa: E402
from autobahn.twisted.wamp import ApplicationRunner, ApplicationSession  # noqa: E402
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer  # noqa: E402
from autobahn.wamp.types import RegisterOptions  # noqa: E402

SERIALIZERS = {"json": JsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer}
REAL_STDOUT = sys.__stdout__
STEP = 0.05


def say(line):
    REAL_STDOUT.write("WAMPFN-CALLEE " + line + "\n")
    REAL_STDOUT.flush()


class Callee(ApplicationSession):

    @inlineCallbacks
    def onJoin(self, details):
        @inlineCallbacks
        def longop(n, details=None):
            try:
                if details is not None and details.progress:
                    for i in range(n):
                        details.progress(i)
                        yield sleep(STEP)
                else:
                    yield sleep(STEP * n)
            except CancelledError:
                say("cancelled")
                raise
            returnValue(n)

        yield self.register(longop, self.config.extra["procedure"], RegisterOptions(details_arg="details"))
        say("ready")


def main(argv):
    if len(argv) != 5 or argv[3] not in SERIALIZERS:
        sys.stderr.write(__doc__)
        return 2
    url, realm, ser, procedure = argv[1:]
    txaio.start_logging(out=sys.stderr, level="warn")
    runner = ApplicationRunner(url, realm, extra={"procedure": procedure}, serializers=[SERIALIZERS[ser]()])
    runner.run(Callee, log_level="warn")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
