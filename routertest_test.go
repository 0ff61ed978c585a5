package wampfn

import (
	"io"
	"log"
	"testing"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// Shared test fixtures: the tests run on wampfntest's router, a real
// nexus router in-process and behind a loopback WebSocket, with clients on
// every transport.

const testRealm = wampfntest.DefaultRealm

// transports are the ways a test client reaches the router: in-process
// (client.ConnectLocal, Go values as sent) and over a loopback WebSocket
// with each serializer.
var transports = wampfntest.Transports

// quietLogger drops the chatter of the routers and clients that tests make
// by hand; tests assert on behaviour, not logs.
var quietLogger = log.New(io.Discard, "", 0)

// callErr returns the WAMP error of a failed call.
func callErr(t testing.TB, err error) *wamp.Error {
	t.Helper()
	require.Error(t, err)
	var rpcErr client.RPCError
	require.ErrorAs(t, err, &rpcErr, "want a WAMP error, got %v", err)
	return rpcErr.Err
}
