package interop_test

// Shared by the peer matrix (interop_test.go) and the raw wire test (wire_test.go): an
// in-process nexus router on loopback, and a wampfn callee whose longop records what it
// did, so that a test can check the callee's side of a call (was the context cancelled,
// what progress went out) against what the peer saw.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"

	"github.com/wampfn/wampfn"
	"github.com/wampfn/wampfn/wampfntest"
)

const (
	realm = "realm1"

	// interval is longop's step: short, to keep the suite fast, but long enough that a
	// cancelled longop(1000) could not finish by accident.
	interval = 50 * time.Millisecond

	// customURI, customArgs and customKwargs are what the "fail" procedure returns
	// as a *wampfn.Error.
	customURI = "com.example.error.custom"
)

var (
	customArgs   = wamp.List{"custom failure", 42}
	customKwargs = wamp.Dict{"code": 42, "detail": "it failed on purpose", "ok": false}

	// blobBytes is what the "blob" procedure returns: a zero byte first, as the
	// JSON serializer's "\x00"+base64 convention makes that case interesting.
	blobBytes = []byte{0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff, 'W'}
)

// Item is what the "item" procedure returns; it must arrive as a dict/object keyed as
// encoding/json keys it.
type Item struct {
	Name   string   `json:"name"`
	Count  int      `json:"count"`
	Ratio  float64  `json:"ratio"`
	Tags   []string `json:"tags"`
	Inner  *Inner   `json:"inner"`
	Hidden string   `json:"-"`
	Empty  string   `json:"empty,omitempty"`
}

// Inner is nested in Item.
type Inner struct {
	ID   uint32 `json:"id"`
	Flag bool   `json:"flag"`
}

var theItem = Item{
	Name: "widget", Count: 3, Ratio: 1.5, Tags: []string{"a", "b"},
	Inner: &Inner{ID: 7, Flag: true}, Hidden: "never on the wire",
}

// itemJSON is theItem as a peer must print it.
const itemJSON = `{"name":"widget","count":3,"ratio":1.5,"tags":["a","b"],"inner":{"id":7,"flag":true}}`

// testRouter is wampfntest's router (realm1, in-process and over WebSocket on loopback),
// served over RawSocket too.
type testRouter struct {
	*wampfntest.Router
	wsURL string // ws://127.0.0.1:PORT/
	rsURL string // rs://127.0.0.1:PORT (host and port, for RawSocket over TCP)
}

func routerLogger() *log.Logger {
	if os.Getenv("WAMPFN_INTEROP_DEBUG") != "" {
		return log.New(os.Stderr, "nexus: ", log.Lmicroseconds)
	}
	return log.New(io.Discard, "", 0)
}

// newTestRouter starts a router on free loopback ports; t.Cleanup stops it, after its
// clients (wampfntest) and the RawSocket server.
func newTestRouter(t testing.TB) *testRouter {
	t.Helper()
	r := wampfntest.NewRouter(t, wampfntest.WithRealm(realm), wampfntest.WithLogger(routerLogger()))

	rs := router.NewRawSocketServer(r.Nexus())
	rsCloser, err := rs.ListenAndServe("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = rsCloser.Close() })
	rsLn, ok := rsCloser.(net.Listener)
	require.True(t, ok, "nexus RawSocketServer.ListenAndServe returns its net.Listener")

	return &testRouter{
		Router: r,
		wsURL:  r.URL(),
		rsURL:  "rs://" + rsLn.Addr().String(),
	}
}

var prefixSeq atomic.Int64

// callRecord is one run of longop, as the function saw it. Its fields are written by
// the function and may be read once done is closed.
type callRecord struct {
	n      int
	wanted bool
	sent   []int
	// sendErr is the error of a failed Send during the run, if any.
	sendErr error
	// ctxErr is the context's error when the function saw it cancelled.
	ctxErr error
	// sendAfterCancel is what Send returned when the function tried one more
	// progress value after it saw its context cancelled: it must be an error.
	sendAfterCancel error
	done            chan struct{}
}

// callee is one wampfn callee session with the test procedures registered under its own
// URI prefix, so that subtests running in parallel do not share procedures.
type callee struct {
	prefix string
	// shop is the RegisterMethods service of the method cases (newShopCallee), else nil.
	shop *shop

	mu    sync.Mutex
	calls []*callRecord
}

// newPrefix returns a fresh URI prefix ending in ".".
func newPrefix() string { return fmt.Sprintf("com.test.i%d.", prefixSeq.Add(1)) }

// newCallee connects a local client to tr and registers, under prefix:
//
//	longop(n int) with a ProgressSink[int]   progress 0..n-1 every interval if wanted, then n
//	item() Item                                a struct
//	blob() []byte                              bytes
//	fail() error                               a *wampfn.Error with custom URI, args, kwargs
//	failafter(n int)                           n progress values, then the *wampfn.Error
//	chatty(n int)                              Sends 0..n-1 without asking Wanted, returns n
//	noop()                                     returns nothing: an empty final YIELD
func newCallee(t testing.TB, tr *testRouter, prefix string) *callee {
	t.Helper()
	c := tr.Connect(t, wampfntest.InProcess)

	ce := &callee{prefix: prefix}
	reg := func(name string, fn any, opts ...wampfn.Option) {
		require.NoError(t, wampfn.Register(c, ce.prefix+name, fn, opts...), "register %s", name)
	}
	reg("longop", ce.longop, wampfn.WithParamNames("n"))
	reg("item", func() (Item, error) { return theItem, nil })
	reg("blob", func(ctx context.Context) ([]byte, error) { return blobBytes, nil })
	reg("fail", func(ctx context.Context) (string, error) {
		return "", &wampfn.Error{URI: customURI, Args: customArgs, Kwargs: customKwargs}
	})
	reg("failafter", func(ctx context.Context, n int, sink wampfn.ProgressSink[int]) error {
		for i := range n {
			if err := sink.Send(i); err != nil {
				return err
			}
		}
		return fmt.Errorf("wrapped: %w", &wampfn.Error{URI: customURI, Args: customArgs, Kwargs: customKwargs})
	}, wampfn.WithParamNames("n"))
	reg("chatty", func(ctx context.Context, n int, sink wampfn.ProgressSink[int]) (int, error) {
		// Sends progress whether or not the caller asked for it: Send must drop it then.
		for i := range n {
			if err := sink.Send(i); err != nil {
				return 0, err
			}
		}
		return n, nil
	}, wampfn.WithParamNames("n"))
	reg("noop", func() {})
	return ce
}

// longop is the reference procedure: with progress wanted it sends 0..n-1, one per
// interval, then returns n; otherwise it sleeps n intervals and returns n. It returns
// ctx.Err() as soon as the context is cancelled.
func (ce *callee) longop(ctx context.Context, n int, sink wampfn.ProgressSink[int]) (int, error) {
	rec := &callRecord{n: n, wanted: sink.Wanted(), done: make(chan struct{})}
	ce.mu.Lock()
	ce.calls = append(ce.calls, rec)
	ce.mu.Unlock()
	defer close(rec.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	cancelled := func() (int, error) {
		rec.ctxErr = ctx.Err()
		rec.sendAfterCancel = sink.Send(-1)
		return 0, ctx.Err()
	}
	for i := range n {
		select {
		case <-ctx.Done():
			return cancelled()
		case <-tick.C:
		}
		if sink.Wanted() {
			if err := sink.Send(i); err != nil {
				rec.sendErr = err
				if ctx.Err() != nil {
					return cancelled()
				}
				return 0, err
			}
			rec.sent = append(rec.sent, i)
		}
	}
	return n, nil
}

// records returns the longop runs so far, in the order they started.
func (ce *callee) records() []*callRecord {
	ce.mu.Lock()
	defer ce.mu.Unlock()
	return slices.Clone(ce.calls)
}

// waitDone waits until every longop run so far has returned.
func (ce *callee) waitDone(t testing.TB, timeout time.Duration) []*callRecord {
	t.Helper()
	recs := ce.records()
	deadline := time.After(timeout)
	for i, rec := range recs {
		select {
		case <-rec.done:
		case <-deadline:
			t.Fatalf("longop run %d (n=%d) has not returned %v after the caller finished: "+
				"the function did not stop", i, rec.n, timeout)
		}
	}
	return recs
}

// requireCancelled checks the callee's side of a cancelled longop run, of which the
// caller saw progressSeen progressive results. With mode kill (waitsForCallee) the dealer
// forwards every progress the callee sends until the callee's ERROR, so the caller sees
// all of them but, at most, one that raced with the INTERRUPT (nexus's SendProgress may
// queue a YIELD just after the client's own ERROR; the dealer drops it). With killnowait
// the dealer answers the caller at once and drops what comes later, so the callee may
// have sent more than the caller saw.
func requireCancelled(t testing.TB, rec *callRecord, progressSeen int, waitsForCallee bool) {
	t.Helper()
	require.True(t, rec.wanted, "the cancelled call asked for progress")
	require.ErrorIs(t, rec.ctxErr, context.Canceled,
		"longop must see its context cancelled (sendErr=%v)", rec.sendErr)
	require.Error(t, rec.sendAfterCancel, "ProgressSink.Send after cancellation must fail, not send")
	require.True(t, errors.Is(rec.sendAfterCancel, context.Canceled) ||
		errors.Is(rec.sendAfterCancel, wampfn.ErrInvocationDone),
		"Send after cancellation: got %v", rec.sendAfterCancel)
	require.Less(t, len(rec.sent), rec.n, "longop stopped early")
	require.GreaterOrEqual(t, len(rec.sent), progressSeen, "the caller saw more progress than the callee sent")
	if waitsForCallee {
		require.LessOrEqual(t, len(rec.sent), progressSeen+1,
			"longop sent %v but the caller saw %d progress results before the ERROR", rec.sent, progressSeen)
	}
}
