package wampfn

import (
	"io"
	"log"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
)

// Shared test fixtures: a real nexus router, in-process and behind a
// loopback WebSocket, and clients on every transport.

const testRealm = "wampfn.test"

// transports are the ways a test client reaches the router: in-process
// (client.ConnectLocal, Go values as sent) and over a loopback WebSocket
// with each serializer.
var transports = []string{"inproc", "json", "msgpack", "cbor"}

type testRouter struct {
	r     router.Router
	wsURL string
}

// quietLogger drops the router's and clients' chatter; tests assert on
// behaviour, not logs.
var quietLogger = log.New(io.Discard, "", 0)

// newTestRouter starts a nexus router with one realm, served in-process
// and over WebSocket on a free loopback port, closed at test cleanup.
// outQueue sizes the WebSocket server's per-client queue (0: nexus's 64).
func newTestRouter(t testing.TB, outQueue int) *testRouter {
	t.Helper()
	r, err := router.NewRouter(&router.Config{
		RealmConfigs: []*router.RealmConfig{{
			URI:           testRealm,
			AnonymousAuth: true,
			AllowDisclose: true,
		}},
	}, quietLogger)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ws := router.NewWebsocketServer(r)
	ws.OutQueueSize = outQueue
	srv := &http.Server{Handler: ws, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		r.Close()
	})
	return &testRouter{r: r, wsURL: "ws://" + ln.Addr().String() + "/"}
}

var serializations = map[string]serialize.Serialization{
	"json": serialize.JSON, "msgpack": serialize.MSGPACK, "cbor": serialize.CBOR,
}

// connect joins the realm over transport ("inproc", "json", "msgpack" or
// "cbor"); the client is closed at test cleanup.
func (tr *testRouter) connect(t testing.TB, transport string) *client.Client {
	t.Helper()
	cfg := client.Config{Realm: testRealm, Logger: quietLogger}
	var c *client.Client
	var err error
	if transport == "inproc" {
		c, err = client.ConnectLocal(tr.r, cfg)
	} else {
		ser, ok := serializations[transport]
		require.True(t, ok, "unknown transport %q", transport)
		cfg.Serialization = ser
		c, err = client.ConnectNet(t.Context(), tr.wsURL, cfg)
	}
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// callErr returns the WAMP error of a failed call.
func callErr(t testing.TB, err error) *wamp.Error {
	t.Helper()
	require.Error(t, err)
	var rpcErr client.RPCError
	require.ErrorAs(t, err, &rpcErr, "want a WAMP error, got %v", err)
	return rpcErr.Err
}
