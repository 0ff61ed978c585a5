package wampfntest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/stdlog"
	"github.com/gammazero/nexus/v3/wamp"
)

// DefaultRealm is the URI of a Router's realm unless WithRealm or
// WithRealmConfig sets another.
const DefaultRealm = "realm1"

// ErrClosed is the error a Router's dial function (see Router.Dialer)
// returns once the Router is closed.
var ErrClosed = errors.New("wampfntest: router closed")

// Bounds on the waits of the kit.
const (
	// listenRetry bounds the retries of the listen on an address given by
	// WithAddress.
	listenRetry = 5 * time.Second
	// connectTimeout bounds a connection: the WebSocket dial, and the dial
	// function's context.
	connectTimeout = 10 * time.Second
	// nexusResponseTimeout is client.Config.ResponseTimeout's default.
	nexusResponseTimeout = 5 * time.Second
	// stopTimeout bounds the waits for the WebSocket server's requests in
	// progress (nexus waits up to 5 s for a HELLO) and for the router to
	// stop.
	stopTimeout = 10 * time.Second
)

// closeGrace is added to a client's own bound on its Close (twice its
// ResponseTimeout) to bound the wait for the client to close. A variable
// for the kit's tests.
var closeGrace = 5 * time.Second

// A Router is a nexus router with one realm, served in-process and by a
// WebSocket server on a loopback port, for one test. It keeps track of the
// clients made by Connect and by Dialer's dial functions, to close them
// before it closes itself.
//
// A Router's methods are safe for concurrent use, except that Connect,
// like t.Fatalf, must be called from the goroutine running the test it is
// given.
type Router struct {
	t      testing.TB
	realm  string
	logger stdlog.StdLog
	nexus  router.Router
	srv    *http.Server
	gate   *gate
	addr   string
	url    string

	serveDone chan struct{} // closed when srv.Serve has returned

	mu         sync.Mutex
	closed     bool
	clients    map[*trackedClient]struct{}
	connecting sync.WaitGroup // connections in progress, begun before closed

	closeOnce sync.Once

	// beforeServerClose, if set, is called by Close after the clients are
	// closed and before the WebSocket server and the router are. For tests.
	beforeServerClose func()
}

// NewRouter starts a nexus router with one realm, by default DefaultRealm
// with anonymous authentication and caller and publisher disclosure
// allowed, and a WebSocket server for it on a free loopback port (see
// WithAddress) that speaks JSON, MessagePack and CBOR. It fails the test
// with t.Fatalf if the router cannot be made or the address cannot be
// listened on.
//
// The router is closed, as by Close, when t and its subtests have
// finished (by t.Cleanup), after the cleanups that t registered later,
// such as those of Connect.
func NewRouter(t testing.TB, opts ...RouterOption) *Router {
	t.Helper()
	o := routerOptions{realm: DefaultRealm}
	for _, opt := range opts {
		if opt != nil {
			opt.applyRouter(&o)
		}
	}
	if o.outQueueSize < 0 {
		t.Fatalf("wampfntest: negative WithOutQueueSize %d", o.outQueueSize)
	}
	logger := o.logger
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	addr := o.address
	if addr == "" {
		addr = "127.0.0.1:0"
	}

	realm := &router.RealmConfig{
		URI:           wamp.URI(o.realm),
		AnonymousAuth: true,
		AllowDisclose: true,
	}
	for _, fn := range o.realmConfigs {
		if fn != nil {
			fn(realm)
		}
	}
	nx, err := router.NewRouter(&router.Config{
		RealmConfigs: []*router.RealmConfig{realm},
	}, logger)
	if err != nil {
		t.Fatalf("wampfntest: new router with realm %q: %v", realm.URI, err)
	}

	ln, err := listen(addr, o.address != "")
	if err != nil {
		nx.Close()
		t.Fatalf("wampfntest: router WebSocket server: %v", err)
	}

	ws := router.NewWebsocketServer(nx)
	ws.OutQueueSize = o.outQueueSize
	for _, fn := range o.wsConfigs {
		if fn != nil {
			fn(ws)
		}
	}

	r := &Router{
		t:         t,
		realm:     string(realm.URI),
		logger:    logger,
		nexus:     nx,
		gate:      &gate{h: ws},
		addr:      ln.Addr().String(),
		serveDone: make(chan struct{}),
		clients:   map[*trackedClient]struct{}{},
	}
	r.url = "ws://" + r.addr + "/"
	r.srv = &http.Server{
		Handler:           r.gate,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          stdLogger(logger),
	}
	go func() {
		defer close(r.serveDone)
		_ = r.srv.Serve(ln) // returns http.ErrServerClosed once closed
	}()
	t.Cleanup(r.Close)
	return r
}

// listen listens on addr, retrying for up to listenRetry if retry is set.
func listen(addr string, retry bool) (net.Listener, error) {
	deadline := time.Now().Add(listenRetry)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil || !retry || time.Now().After(deadline) {
			return ln, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Realm returns the URI of the router's realm, which the clients made by
// Connect and Dialer join.
func (r *Router) Realm() string { return r.realm }

// Addr returns the host:port the WebSocket server listens on, such as
// "127.0.0.1:41234". A router made with WithAddress(r.Addr()) after r is
// closed listens on the same address.
func (r *Router) Addr() string { return r.addr }

// URL returns the WebSocket server's URL, such as "ws://127.0.0.1:41234/",
// for peers that connect by themselves.
func (r *Router) URL() string { return r.url }

// Nexus returns the underlying nexus router, for example to attach a raw
// peer with Attach. Closing it directly, rather than by Close, skips the
// closing of the clients first.
func (r *Router) Nexus() router.Router { return r.nexus }

// Connect connects a client to the router's realm over transport tr and
// returns it. InProcess connects with client.ConnectLocal; JSON, MsgPack
// and CBOR connect to URL with client.ConnectNet and that serializer. The
// client's configuration has Realm and Logger filled in; see
// WithClientConfig to adjust it.
//
// Connect fails the test with t.Fatalf, saying what failed, if the client
// cannot connect or the router is closed. The client is closed when t
// (which may be a subtest of the router's test) has finished, and in any
// case before the router is closed; see Close for how long closing a
// client may take.
func (r *Router) Connect(t testing.TB, tr Transport, opts ...ConnectOption) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	tc, err := r.connect(ctx, tr, opts)
	if err != nil {
		t.Fatalf("wampfntest: connect over %s to realm %q: %v", tr, r.realm, err)
	}
	t.Cleanup(func() {
		if err := r.closeClient(tc); err != nil {
			t.Errorf("wampfntest: %v", err)
		}
	})
	return tc.c
}

// Dialer returns a dial function that connects a client to the router's
// realm over transport tr, as Connect does, for code that connects by
// itself, such as a service's reconnecting loop. The dial function is safe
// for concurrent use; each call makes a new client, bounded by ctx and by
// 10 seconds. Its clients are not closed at the end of a test: the code
// that dials closes them, and the router closes any still open before it
// closes itself. Once the router is closed, the dial function returns
// ErrClosed; to reach a router restarted on the same address (WithAddress),
// dial with the new Router's dial function.
func (r *Router) Dialer(tr Transport, opts ...ConnectOption) func(ctx context.Context) (*client.Client, error) {
	return func(ctx context.Context) (*client.Client, error) {
		ctx, cancel := context.WithTimeout(ctx, connectTimeout)
		defer cancel()
		tc, err := r.connect(ctx, tr, opts)
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return nil, err
			}
			return nil, fmt.Errorf("wampfntest: dial over %s to realm %q: %w", tr, r.realm, err)
		}
		return tc.c, nil
	}
}

// connect makes a client on transport tr and tracks it.
func (r *Router) connect(ctx context.Context, tr Transport, opts []ConnectOption) (*trackedClient, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	// Close waits for connections in progress before closing the router:
	// nexus's router panics if a client attaches once it is closed.
	r.connecting.Add(1)
	r.mu.Unlock()
	defer r.connecting.Done()

	cfg := r.clientConfig(tr, opts)
	var c *client.Client
	var err error
	if tr == InProcess {
		if err = ctx.Err(); err != nil {
			return nil, err
		}
		c, err = client.ConnectLocal(r.nexus, cfg)
	} else {
		if _, ok := tr.Serialization(); !ok {
			return nil, fmt.Errorf("unknown transport %q", string(tr))
		}
		c, err = client.ConnectNet(ctx, r.url, cfg)
	}
	if err != nil {
		return nil, err
	}

	rt := cfg.ResponseTimeout
	if rt <= 0 {
		rt = nexusResponseTimeout
	}
	tc := &trackedClient{
		c:      c,
		bound:  2*rt + closeGrace,
		closed: make(chan struct{}),
	}
	r.mu.Lock()
	r.clients[tc] = struct{}{}
	r.mu.Unlock()
	return tc, nil
}

// A trackedClient is a client made by Connect or a dial function.
type trackedClient struct {
	c     *client.Client
	bound time.Duration // on the wait for Close

	once     sync.Once
	closed   chan struct{} // closed when c.Close has returned
	panicked any           // what c.Close panicked with; set before closed
}

// close closes the client once, whoever asks, and waits for it to have
// closed, for at most tc.bound.
func (tc *trackedClient) close() error {
	tc.once.Do(func() {
		go func() {
			defer close(tc.closed)
			defer func() { tc.panicked = recover() }()
			_ = tc.c.Close() // ErrAlreadyClosed if closed by its user: fine
		}()
	})
	timer := time.NewTimer(tc.bound)
	defer timer.Stop()
	select {
	case <-tc.closed:
		// Close returns once the session has ended (Done is closed).
		if tc.panicked != nil {
			return fmt.Errorf("closing client (session %v) panicked: %v", tc.c.ID(), tc.panicked)
		}
		return nil
	case <-timer.C:
	}
	ended := false
	select {
	case <-tc.c.Done():
		ended = true
	default:
	}
	return fmt.Errorf("client (session %v) did not close within %v (session ended: %t)",
		tc.c.ID(), tc.bound, ended)
}

// closeClient closes a tracked client and, once its Close has returned,
// stops tracking it.
func (r *Router) closeClient(tc *trackedClient) error {
	err := tc.close()
	select {
	case <-tc.closed:
		r.mu.Lock()
		delete(r.clients, tc)
		r.mu.Unlock()
	default: // still closing: the router's Close waits for it again
	}
	return err
}

// Close closes the router now, without waiting for the end of the test:
// first every client made by Connect or by a dial function that is still
// open, all at once, waiting for each one's session to end; then the
// WebSocket server, so that no new connection is accepted, waiting for the
// connections being attached; then the nexus router, which ends the
// sessions of any other peer. Close is idempotent and safe for concurrent
// use: a later call returns once the first has finished. It is what the
// cleanup registered by NewRouter calls.
//
// Every wait is bounded: for a client, by twice its ResponseTimeout plus 5
// seconds (15 seconds by default), which covers nexus's own bound on
// waiting for the router's GOODBYE; for connections in progress, the
// WebSocket server and the router, by 10 to 15 seconds each. A wait that
// runs out is reported with t.Errorf on the router's test, and Close goes
// on; a panic while closing a client or the router is reported likewise.
// Since it reports on the router's test, Close must not be called once that
// test has finished.
func (r *Router) Close() {
	r.closeOnce.Do(r.close)
}

func (r *Router) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	// No connection can begin now; wait for those in progress, so that
	// every client is tracked and none attaches to a closed router.
	if !waitFor(r.connecting.Wait, connectTimeout+closeGrace) {
		r.t.Errorf("wampfntest: closing router: connections still in progress after %v",
			connectTimeout+closeGrace)
	}

	r.mu.Lock()
	clients := make([]*trackedClient, 0, len(r.clients))
	for tc := range r.clients {
		clients = append(clients, tc)
	}
	r.mu.Unlock()
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, tc := range clients {
		wg.Go(func() { errs[i] = r.closeClient(tc) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			r.t.Errorf("wampfntest: closing router: %v", err)
		}
	}

	if r.beforeServerClose != nil {
		r.beforeServerClose()
	}

	r.gate.close()
	_ = r.srv.Close() // closes the listener and connections not yet upgraded
	if !waitFor(r.gate.wait, stopTimeout) {
		r.t.Errorf("wampfntest: closing router: WebSocket connections still attaching after %v",
			stopTimeout)
	}
	if !waitFor(func() { <-r.serveDone }, stopTimeout) {
		r.t.Errorf("wampfntest: closing router: WebSocket server still serving after %v",
			stopTimeout)
	}

	var panicked any
	stopped := waitFor(func() {
		defer func() { panicked = recover() }()
		r.nexus.Close()
	}, stopTimeout)
	switch {
	case !stopped:
		r.t.Errorf("wampfntest: closing router: nexus router still closing after %v", stopTimeout)
	case panicked != nil:
		r.t.Errorf("wampfntest: closing router: nexus router panicked: %v", panicked)
	}
}

// waitFor runs fn in a new goroutine and reports whether it returned
// within d. If it did not, the goroutine is abandoned.
func waitFor(fn func(), d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}

// A gate serves HTTP requests with h until it is closed, and then refuses
// them, keeping count of those in progress: nexus's WebSocket server
// attaches the client to the router before ServeHTTP returns, which must
// not happen once the router is closed.
type gate struct {
	h      http.Handler
	mu     sync.Mutex
	closed bool
	active sync.WaitGroup
}

func (g *gate) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		http.Error(w, ErrClosed.Error(), http.StatusServiceUnavailable)
		return
	}
	g.active.Add(1)
	g.mu.Unlock()
	defer g.active.Done()
	g.h.ServeHTTP(w, req)
}

// close makes the gate refuse new requests.
func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// wait waits for the requests in progress; call it after close.
func (g *gate) wait() { g.active.Wait() }

// stdLogger returns a *log.Logger that writes to l, for net/http.
func stdLogger(l stdlog.StdLog) *log.Logger {
	if ll, ok := l.(*log.Logger); ok {
		return ll
	}
	return log.New(logWriter{l}, "", 0)
}

type logWriter struct{ l stdlog.StdLog }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Print(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
