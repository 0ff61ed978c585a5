package wampfntest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/wampfn/wampfn/wampfntest"
)

// TestMain fails the package if any goroutine outlives its tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// add returns the sum of its integer arguments.
func add(_ context.Context, inv *wamp.Invocation) client.InvokeResult {
	var sum int64
	for _, a := range inv.Arguments {
		n, ok := wamp.AsInt64(a)
		if !ok {
			return client.InvokeResult{Err: wamp.ErrInvalidArgument}
		}
		sum += n
	}
	return client.InvokeResult{Args: wamp.List{sum}}
}

// callAdd calls procedure with 2 and 3 and requires 5.
func callAdd(t testing.TB, c *client.Client, procedure string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Call(ctx, procedure, nil, wamp.List{2, 3}, nil, nil)
	require.NoError(t, err)
	require.Len(t, res.Arguments, 1)
	sum, ok := wamp.AsInt64(res.Arguments[0])
	require.True(t, ok, "result %T %v", res.Arguments[0], res.Arguments[0])
	require.EqualValues(t, 5, sum)
}

// requireDone requires that the client's session has ended.
func requireDone(t testing.TB, c *client.Client, what string) {
	t.Helper()
	select {
	case <-c.Done():
	default:
		t.Fatalf("%s: client still connected", what)
	}
}

// requireLeftFirst requires that the client's session has ended, and not
// because the router shut down: the router's GOODBYE answers the client's.
// (Over a WebSocket, nexus may close the connection before its GOODBYE is
// sent: none may arrive. In-process, it always arrives.)
func requireLeftFirst(t testing.TB, c *client.Client, tr wampfntest.Transport, what string) {
	t.Helper()
	what = fmt.Sprintf("%s (%s)", what, tr)
	requireDone(t, c, what)
	g := c.RouterGoodbye()
	if g == nil && tr != wampfntest.InProcess {
		return
	}
	require.NotNil(t, g, "%s: no GOODBYE from the router", what)
	require.Equal(t, wamp.ErrGoodbyeAndOut, g.Reason,
		"%s: session ended by %v, not by the client's leaving", what, g.Reason)
}

// A transportClient is a client and its transport.
type transportClient struct {
	tr wampfntest.Transport
	c  *client.Client
}

func TestTransports(t *testing.T) {
	want := []string{"inproc", "json", "msgpack", "cbor"}
	require.Len(t, wampfntest.Transports, len(want))
	for i, tr := range wampfntest.Transports {
		assert.Equal(t, want[i], tr.String())
	}
	assert.Equal(t, []wampfntest.Transport{wampfntest.InProcess, wampfntest.JSON,
		wampfntest.MsgPack, wampfntest.CBOR}, wampfntest.Transports)
}

// Every transport reaches the router: a caller on each calls a callee on
// each.
func TestEveryTransportReachesRouter(t *testing.T) {
	r := wampfntest.NewRouter(t)
	for _, tr := range wampfntest.Transports {
		callee := r.Connect(t, tr)
		require.NoError(t, callee.Register("test.add."+tr.String(), add, nil))
	}
	for _, callerTr := range wampfntest.Transports {
		t.Run(callerTr.String(), func(t *testing.T) {
			caller := r.Connect(t, callerTr)
			for _, calleeTr := range wampfntest.Transports {
				callAdd(t, caller, "test.add."+calleeTr.String())
			}
		})
	}
}

// Each transport has its own serializer: what reaches an in-process callee
// differs.
func TestTransportSerializer(t *testing.T) {
	want := map[wampfntest.Transport]string{
		wampfntest.InProcess: "[]uint8 int",    // Go values as sent
		wampfntest.JSON:      "string uint64",  // base64 string
		wampfntest.MsgPack:   "[]uint8 int64",  // msgpack int
		wampfntest.CBOR:      "[]uint8 uint64", // CBOR unsigned
	}
	r := wampfntest.NewRouter(t)
	callee := r.Connect(t, wampfntest.InProcess)
	var mu sync.Mutex
	received := map[wampfntest.Transport]wamp.List{}
	require.NoError(t, callee.Register("test.types",
		func(_ context.Context, inv *wamp.Invocation) client.InvokeResult {
			tr, _ := wamp.AsString(inv.ArgumentsKw["transport"])
			mu.Lock()
			received[wampfntest.Transport(tr)] = inv.Arguments
			mu.Unlock()
			return client.InvokeResult{Args: wamp.List{
				fmt.Sprintf("%T %T", inv.Arguments[0], inv.Arguments[1])}}
		}, nil))
	for _, tr := range wampfntest.Transports {
		t.Run(tr.String(), func(t *testing.T) {
			caller := r.Connect(t, tr)
			res, err := caller.Call(t.Context(), "test.types", nil,
				wamp.List{[]byte{1, 2, 3}, 7}, wamp.Dict{"transport": tr.String()}, nil)
			require.NoError(t, err)
			assert.Equal(t, want[tr], res.Arguments[0])
		})
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "AQID", received[wampfntest.JSON][0], "JSON: []byte{1, 2, 3} as base64")
	assert.Equal(t, []byte{1, 2, 3}, received[wampfntest.MsgPack][0])
	assert.Equal(t, []byte{1, 2, 3}, received[wampfntest.CBOR][0])
}

// A client made by Connect in a subtest is closed at the subtest's end,
// by its own GOODBYE, and the router goes on serving.
func TestConnectClosedAtSubtestEnd(t *testing.T) {
	r := wampfntest.NewRouter(t)
	callee := r.Connect(t, wampfntest.InProcess)
	require.NoError(t, callee.Register("test.add", add, nil))
	clients := map[wampfntest.Transport]*client.Client{}
	for _, tr := range wampfntest.Transports {
		t.Run(tr.String(), func(t *testing.T) {
			c := r.Connect(t, tr)
			clients[tr] = c
			callAdd(t, c, "test.add")
		})
	}
	for tr, c := range clients {
		requireLeftFirst(t, c, tr, "subtest's client")
	}
	require.True(t, callee.Connected())
	callAdd(t, r.Connect(t, wampfntest.JSON), "test.add")
}

// Close closes the clients still open, each by its own GOODBYE (before the
// router shuts down), even with a call pending; it is idempotent and safe
// for concurrent use; afterwards nothing connects.
func TestClose(t *testing.T) {
	r := wampfntest.NewRouter(t)
	var clients []transportClient
	for _, tr := range wampfntest.Transports {
		clients = append(clients, transportClient{tr, r.Connect(t, tr)})
		c, err := r.Dialer(tr)(t.Context())
		require.NoError(t, err)
		clients = append(clients, transportClient{tr, c})
	}

	// A call pending on a callee when the router closes.
	callee := r.Connect(t, wampfntest.JSON)
	started := make(chan struct{})
	require.NoError(t, callee.Register("test.block",
		func(ctx context.Context, _ *wamp.Invocation) client.InvokeResult {
			close(started)
			<-ctx.Done() // cancelled when the callee closes
			return client.InvokeResult{Err: wamp.ErrCanceled}
		}, nil))
	caller := r.Connect(t, wampfntest.MsgPack)
	callErr := make(chan error, 1)
	go func() {
		_, err := caller.Call(context.Background(), "test.block", nil, nil, nil, nil)
		callErr <- err
	}()
	<-started

	start := time.Now()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(r.Close)
	}
	wg.Wait()
	r.Close()
	assert.Less(t, time.Since(start), 5*time.Second)
	require.Error(t, <-callErr)
	for i, c := range clients {
		requireLeftFirst(t, c.c, c.tr, fmt.Sprint("client ", i))
	}
	requireLeftFirst(t, callee, wampfntest.JSON, "callee")
	requireDone(t, caller, "caller")

	for _, tr := range wampfntest.Transports {
		_, err := r.Dialer(tr)(t.Context())
		require.ErrorIs(t, err, wampfntest.ErrClosed, tr.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := client.ConnectNet(ctx, r.URL(), client.Config{
		Realm: r.Realm(), Logger: log.New(io.Discard, "", 0)})
	require.Error(t, err, "the WebSocket server is closed")
}

// The router's cleanup closes the clients of a dial function, and those of
// Connect made with a test that ends after the router's, each by its own
// GOODBYE.
func TestCleanupClosesOpenClients(t *testing.T) {
	var dialed, connected []transportClient
	outer := t
	t.Run("router", func(t *testing.T) {
		r := wampfntest.NewRouter(t)
		callee := r.Connect(outer, wampfntest.InProcess) // closed after r
		require.NoError(t, callee.Register("test.add", add, nil))
		connected = append(connected, transportClient{wampfntest.InProcess, callee})
		for _, tr := range wampfntest.Transports {
			dial := r.Dialer(tr)
			c, err := dial(t.Context())
			require.NoError(t, err)
			callAdd(t, c, "test.add")
			dialed = append(dialed, transportClient{tr, c})
			c = r.Connect(outer, tr)
			callAdd(t, c, "test.add")
			connected = append(connected, transportClient{tr, c})
		}
	})
	for _, c := range dialed {
		requireLeftFirst(t, c.c, c.tr, "dialed")
	}
	for _, c := range connected {
		requireLeftFirst(t, c.c, c.tr, "connected")
	}
}

func TestDialer(t *testing.T) {
	r := wampfntest.NewRouter(t)
	callee := r.Connect(t, wampfntest.InProcess)
	require.NoError(t, callee.Register("test.add", add, nil))
	for _, tr := range wampfntest.Transports {
		t.Run(tr.String(), func(t *testing.T) {
			dial := r.Dialer(tr)
			c, err := dial(t.Context())
			require.NoError(t, err)
			callAdd(t, c, "test.add")
			require.NoError(t, c.Close(), "the dialer's user may close its client")

			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err = dial(ctx)
			require.Error(t, err, "cancelled context")

			_, err = r.Dialer(tr, wampfntest.WithClientConfig(func(cfg *client.Config) {
				cfg.Realm = "no.such.realm"
			}))(t.Context())
			require.Error(t, err)
			if tr == wampfntest.InProcess {
				// Over a WebSocket, nexus may close the connection before
				// its ABORT is sent.
				require.ErrorContains(t, err, "no_such_realm")
			}
		})
	}
	_, err := r.Dialer("tcp")(t.Context())
	require.ErrorContains(t, err, `unknown transport "tcp"`)
}

// WithAddress lets a router listen on the address of one just closed, for
// a client that reconnects.
func TestWithAddressRestart(t *testing.T) {
	r1 := wampfntest.NewRouter(t)
	assert.Equal(t, "ws://"+r1.Addr()+"/", r1.URL())
	assert.True(t, strings.HasPrefix(r1.Addr(), "127.0.0.1:"), r1.Addr())
	c1, err := r1.Dialer(wampfntest.JSON)(t.Context())
	require.NoError(t, err)
	r1.Close()
	requireDone(t, c1, "client of the closed router")

	r2 := wampfntest.NewRouter(t, wampfntest.WithAddress(r1.Addr()))
	assert.Equal(t, r1.Addr(), r2.Addr())
	assert.Equal(t, r1.URL(), r2.URL())
	callee := r2.Connect(t, wampfntest.InProcess)
	require.NoError(t, callee.Register("test.add", add, nil))
	c2, err := r2.Dialer(wampfntest.JSON)(t.Context())
	require.NoError(t, err)
	callAdd(t, c2, "test.add")
}

func TestWithRealm(t *testing.T) {
	r := wampfntest.NewRouter(t)
	assert.Equal(t, wampfntest.DefaultRealm, r.Realm())
	assert.Equal(t, "realm1", r.Realm())

	r = wampfntest.NewRouter(t, wampfntest.WithRealm("com.example.first"),
		wampfntest.WithRealm("com.example.test"))
	assert.Equal(t, "com.example.test", r.Realm(), "the last WithRealm wins")
	for _, tr := range wampfntest.Transports {
		r.Connect(t, tr)
	}
	_, err := r.Dialer(wampfntest.InProcess, wampfntest.WithClientConfig(func(cfg *client.Config) {
		assert.Equal(t, "com.example.test", cfg.Realm)
		cfg.Realm = wampfntest.DefaultRealm
	}))(t.Context())
	require.ErrorContains(t, err, "no_such_realm")

	r = wampfntest.NewRouter(t, wampfntest.WithRealm("com.example.test"),
		wampfntest.WithRealmConfig(func(rc *router.RealmConfig) {
			assert.Equal(t, wamp.URI("com.example.test"), rc.URI)
			rc.URI = "com.example.other"
		}))
	assert.Equal(t, "com.example.other", r.Realm())
	r.Connect(t, wampfntest.CBOR)
}

// WithRealmConfig functions run in order, on the default configuration.
func TestWithRealmConfig(t *testing.T) {
	var seen []string
	wampfntest.NewRouter(t,
		wampfntest.WithRealmConfig(func(rc *router.RealmConfig) {
			assert.True(t, rc.AnonymousAuth)
			assert.True(t, rc.AllowDisclose)
			assert.False(t, rc.StrictURI)
			seen = append(seen, "first")
		}),
		wampfntest.WithRealmConfig(func(*router.RealmConfig) { seen = append(seen, "second") }))
	assert.Equal(t, []string{"first", "second"}, seen)
}

func TestWithRealmConfigStrictURI(t *testing.T) {
	lax := wampfntest.NewRouter(t)
	require.NoError(t, lax.Connect(t, wampfntest.JSON).Register("test.Upper", add, nil))

	strict := wampfntest.NewRouter(t, wampfntest.WithRealmConfig(func(rc *router.RealmConfig) {
		rc.StrictURI = true
	}))
	c := strict.Connect(t, wampfntest.JSON)
	require.ErrorContains(t, c.Register("test.Upper", add, nil), string(wamp.ErrInvalidURI))
	require.NoError(t, c.Register("test.lower", add, nil))
}

func TestWithRealmConfigAllowDisclose(t *testing.T) {
	disclose := wamp.Dict{wamp.OptDiscloseCaller: true}

	r := wampfntest.NewRouter(t)
	callee := r.Connect(t, wampfntest.JSON)
	require.NoError(t, callee.Register("test.caller",
		func(_ context.Context, inv *wamp.Invocation) client.InvokeResult {
			return client.InvokeResult{Args: wamp.List{inv.Details["caller"]}}
		}, disclose))
	caller := r.Connect(t, wampfntest.CBOR)
	res, err := caller.Call(t.Context(), "test.caller", nil, nil, nil, nil)
	require.NoError(t, err)
	id, _ := wamp.AsID(res.Arguments[0])
	assert.Equal(t, caller.ID(), id, "disclosed caller")

	r = wampfntest.NewRouter(t, wampfntest.WithRealmConfig(func(rc *router.RealmConfig) {
		rc.AllowDisclose = false
	}))
	callee = r.Connect(t, wampfntest.JSON)
	require.ErrorContains(t, callee.Register("test.caller", add, disclose),
		string(wamp.ErrOptionDisallowedDiscloseMe))
}

func TestWithRealmConfigAnonymousAuth(t *testing.T) {
	r := wampfntest.NewRouter(t, wampfntest.WithRealmConfig(func(rc *router.RealmConfig) {
		rc.AnonymousAuth = false
	}))
	_, err := r.Dialer(wampfntest.JSON)(t.Context())
	require.Error(t, err, "anonymous WebSocket client refused")
	r.Connect(t, wampfntest.InProcess) // local clients are trusted
}

// WithOutQueueSize sets the WebSocket server's OutQueueSize; the last one
// wins; WithWebsocketServer functions run in order, after it.
func TestWithOutQueueSize(t *testing.T) {
	var sizes []int
	record := wampfntest.WithWebsocketServer(func(ws *router.WebsocketServer) {
		sizes = append(sizes, ws.OutQueueSize)
	})
	wampfntest.NewRouter(t, record)
	wampfntest.NewRouter(t, wampfntest.WithOutQueueSize(3), wampfntest.WithOutQueueSize(2), record,
		wampfntest.WithWebsocketServer(func(ws *router.WebsocketServer) {
			sizes = append(sizes, -1)
		}))
	assert.Equal(t, []int{0, 2, -1}, sizes)
}

// With a callee's queue full, nexus refuses an INVOCATION at once:
// "callee blocked". The callee's run loop is held by an event handler, so
// that nothing drains its queue, then sent events: one fills a local
// client's queue of 1; 48 of 256 KiB (12 MiB) fill the socket's buffers (a
// few MiB at most on loopback) and a WebSocket queue of 1, but whatever the
// buffers, not a queue of 64.
func TestQueueSizeTakesEffect(t *testing.T) {
	queue := func(n int) wampfntest.ConnectOption {
		return wampfntest.WithClientConfig(func(cfg *client.Config) { cfg.LocalQueueSize = n })
	}
	t.Run("LocalQueueSize", func(t *testing.T) {
		r := wampfntest.NewRouter(t)
		callee := r.Connect(t, wampfntest.InProcess, queue(1))
		requireCalleeBlocked(t, r, callee, 1, 0, true)
	})
	t.Run("LocalQueueSizeDefault", func(t *testing.T) {
		r := wampfntest.NewRouter(t)
		callee := r.Connect(t, wampfntest.InProcess)
		requireCalleeBlocked(t, r, callee, 1, 0, false)
	})
	t.Run("OutQueueSize", func(t *testing.T) {
		r := wampfntest.NewRouter(t, wampfntest.WithOutQueueSize(64), wampfntest.WithOutQueueSize(1))
		callee := r.Connect(t, wampfntest.JSON)
		requireCalleeBlocked(t, r, callee, 48, 256<<10, true)
	})
	t.Run("OutQueueSizeDefault", func(t *testing.T) {
		r := wampfntest.NewRouter(t)
		callee := r.Connect(t, wampfntest.JSON)
		requireCalleeBlocked(t, r, callee, 48, 256<<10, false)
	})
}

// requireCalleeBlocked holds callee's run loop in an event handler,
// publishes events of payload bytes to it, and calls it: if blocked is set,
// a call must fail at once with "callee blocked"; else the call must be
// still pending after 200 ms.
func requireCalleeBlocked(t *testing.T, r *wampfntest.Router, callee *client.Client, events, payload int, blocked bool) {
	t.Helper()
	release := make(chan struct{})
	held := make(chan struct{}, 1)
	require.NoError(t, callee.Subscribe("test.hold", func(*wamp.Event) {
		select {
		case held <- struct{}{}:
		default:
		}
		<-release
	}, nil))
	t.Cleanup(func() { close(release) }) // runs before the callee's cleanup
	require.NoError(t, callee.Register("test.add", add, nil))

	pub := r.Connect(t, wampfntest.InProcess)
	ack := wamp.Dict{wamp.OptAcknowledge: true}
	require.NoError(t, pub.Publish("test.hold", ack, nil, nil))
	<-held
	data := wamp.List{strings.Repeat("x", payload)}
	for range events {
		require.NoError(t, pub.Publish("test.hold", ack, data, nil))
	}
	// The broker dispatches events in order, but after its PUBLISHED: once
	// pub has its own event, the router has queued the events to callee
	// (or dropped them, its queue being full).
	barrier := make(chan struct{}, 1)
	require.NoError(t, pub.Subscribe("test.barrier", func(*wamp.Event) { barrier <- struct{}{} }, nil))
	require.NoError(t, pub.Publish("test.barrier", wamp.Dict{wamp.OptExcludeMe: false}, nil, nil))
	select {
	case <-barrier:
	case <-time.After(5 * time.Second):
		t.Fatal("no barrier event")
	}
	// Over a WebSocket, the socket may yet take more once its buffers are
	// compacted: a pending call's INVOCATION then fills the queue, and the
	// next call is refused. A few tries stay well short of a queue of 64.
	tries := 1
	if blocked {
		tries = 5
	}
	for i := range tries {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		_, err := pub.Call(ctx, "test.add", nil, wamp.List{2, 3}, nil, nil)
		cancel()
		var rpcErr client.RPCError
		if errors.As(err, &rpcErr) {
			require.True(t, blocked, "call refused: %v", err)
			require.Equal(t, wamp.ErrNetworkFailure, rpcErr.Err.Error)
			require.Equal(t, wamp.List{"callee blocked - cannot call procedure"}, rpcErr.Err.Arguments)
			return
		}
		require.ErrorIs(t, err, context.DeadlineExceeded, "call %d pending", i)
	}
	require.False(t, blocked, "%d calls pending, none refused", tries)
}

// WithLogger's logger gets the router's logs and is the clients' default.
func TestWithLogger(t *testing.T) {
	logger := &recordingLogger{}
	r := wampfntest.NewRouter(t, wampfntest.WithLogger(log.New(io.Discard, "", 0)),
		wampfntest.WithLogger(logger))
	assert.Contains(t, logger.String(), "Starting router")
	for _, tr := range wampfntest.Transports {
		assert.Same(t, logger, r.Connect(t, tr).Logger(), tr.String())
	}
	other := log.New(io.Discard, "", 0)
	c := r.Connect(t, wampfntest.JSON, wampfntest.WithClientConfig(func(cfg *client.Config) {
		assert.Same(t, logger, cfg.Logger)
		cfg.Logger = other
	}))
	assert.Same(t, other, c.Logger())
}

// WithClientConfig functions run in order, on a configuration with Realm
// and Logger set, and the transport's serializer wins.
func TestWithClientConfig(t *testing.T) {
	r := wampfntest.NewRouter(t)
	var seen []string
	c := r.Connect(t, wampfntest.CBOR,
		wampfntest.WithClientConfig(func(cfg *client.Config) {
			assert.Equal(t, r.Realm(), cfg.Realm)
			assert.NotNil(t, cfg.Logger)
			seen = append(seen, "first")
			cfg.Serialization = serialize.JSON
		}),
		wampfntest.WithClientConfig(func(cfg *client.Config) {
			seen = append(seen, "second")
			cfg.HelloDetails = wamp.Dict{"authid": "alice"}
		}))
	assert.Equal(t, []string{"first", "second"}, seen)
	callee := r.Connect(t, wampfntest.InProcess)
	require.NoError(t, callee.Register("test.bytes",
		func(_ context.Context, inv *wamp.Invocation) client.InvokeResult {
			return client.InvokeResult{Args: wamp.List{fmt.Sprintf("%T", inv.Arguments[0])}}
		}, nil))
	res, err := c.Call(t.Context(), "test.bytes", nil, wamp.List{[]byte{1}}, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "[]uint8", res.Arguments[0], "CBOR, not JSON")
}

// Nexus is the router the clients are attached to.
func TestNexus(t *testing.T) {
	r := wampfntest.NewRouter(t)
	c, err := client.ConnectLocal(r.Nexus(), client.Config{
		Realm: r.Realm(), Logger: log.New(io.Discard, "", 0)})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Register("test.add", add, nil))
	callAdd(t, r.Connect(t, wampfntest.MsgPack), "test.add")
}

// No goroutine of the router, its WebSocket server or its clients outlives
// the cleanup.
func TestNoGoroutineLeft(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Run("scenario", func(t *testing.T) {
		r := wampfntest.NewRouter(t)
		callee := r.Connect(t, wampfntest.InProcess)
		require.NoError(t, callee.Register("test.add", add, nil))
		for _, tr := range wampfntest.Transports {
			callAdd(t, r.Connect(t, tr), "test.add")
			c, err := r.Dialer(tr)(t.Context())
			require.NoError(t, err)
			callAdd(t, c, "test.add")
		}
	})
	goleak.VerifyNone(t, ignore)
}

type recordingLogger struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *recordingLogger) Print(v ...any) { l.write(fmt.Sprint(v...)) }

func (l *recordingLogger) Println(v ...any) { l.write(fmt.Sprintln(v...)) }

func (l *recordingLogger) Printf(format string, v ...any) { l.write(fmt.Sprintf(format, v...)) }

func (l *recordingLogger) write(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
}

func (l *recordingLogger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
