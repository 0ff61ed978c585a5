package wampfn

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// wsRouter is a nexus router served over WebSocket on a given loopback
// address, which a test can stop and start again on the same address.
type wsRouter struct {
	r        router.Router
	srv      *http.Server
	addr     string // host:port
	stopOnce sync.Once
}

// startWSRouter starts a router with the test realm listening on addr
// ("127.0.0.1:0" for a free port); it is stopped at test cleanup.
// outQueue sizes the router's per-session outbound queue (0: nexus's 64).
func startWSRouter(t *testing.T, addr string, outQueue int) *wsRouter {
	t.Helper()
	r, err := router.NewRouter(&router.Config{
		RealmConfigs: []*router.RealmConfig{{URI: testRealm, AnonymousAuth: true}},
	}, quietLogger)
	require.NoError(t, err)
	var ln net.Listener
	// The port of a stopped router may take a moment to be free again.
	require.Eventually(t, func() bool {
		ln, err = net.Listen("tcp", addr)
		return err == nil
	}, 5*time.Second, 10*time.Millisecond, "listen on %s: %v", addr, err)
	ws := router.NewWebsocketServer(r)
	ws.OutQueueSize = outQueue
	wr := &wsRouter{
		r:    r,
		srv:  &http.Server{Handler: ws, ReadHeaderTimeout: 5 * time.Second},
		addr: ln.Addr().String(),
	}
	go wr.srv.Serve(ln)
	t.Cleanup(wr.stop)
	return wr
}

// stop closes the listener and the router, which ends every session.
func (wr *wsRouter) stop() {
	wr.stopOnce.Do(func() {
		wr.srv.Close()
		wr.r.Close()
	})
}

func (wr *wsRouter) url() string { return "ws://" + wr.addr + "/" }

// caller joins wr's realm over WebSocket; closed at test cleanup. (Not
// in-process: nexus v3.3.0's local peer races with the router's Close
// when a result is in flight, which the race detector reports.)
func (wr *wsRouter) caller(t *testing.T) *client.Client {
	t.Helper()
	c, err := wsDial(wr.url())(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// wsDial returns a Service dial function for url over WebSocket with JSON.
func wsDial(url string) func(ctx context.Context) (*client.Client, error) {
	return func(ctx context.Context) (*client.Client, error) {
		return client.ConnectNet(ctx, url, client.Config{
			Realm: testRealm, Logger: quietLogger, Serialization: serialize.JSON,
		})
	}
}

// errorLog collects the errors a Service reports.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// runService runs s in a goroutine. The returned stop cancels Run's ctx
// and returns Run's result (or an error after 20s) and how long Run took
// to return; it is safe to call from any goroutine, more than once, and is
// called at test cleanup.
func runService(t *testing.T, s *Service) (stop func() (error, time.Duration)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	var err error
	var took time.Duration
	stop = func() (error, time.Duration) {
		once.Do(func() {
			start := time.Now()
			cancel()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				err = errors.New("Service.Run did not return within 20s of its ctx being cancelled")
			}
			took = time.Since(start)
		})
		return err, took
	}
	t.Cleanup(func() {
		if err, _ := stop(); err != nil {
			t.Error(err)
		}
	})
	return stop
}

// noLeaks checks at the end of the test, after every other cleanup, that
// the test left no goroutine behind.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// callUntil calls procedure on c until the call succeeds, failing the
// test after timeout.
func callUntil(t *testing.T, c *client.Client, procedure string, args wamp.List, timeout time.Duration) *wamp.Result {
	t.Helper()
	var res *wamp.Result
	var err error
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		res, err = c.Call(ctx, procedure, nil, args, nil, nil)
		return err == nil
	}, timeout, 20*time.Millisecond, "call %s: %v", procedure, err)
	return res
}

func TestServiceRouterLoss(t *testing.T) {
	noLeaks(t)
	r1 := startWSRouter(t, "127.0.0.1:0", 0)

	const inFlight = 3
	sawCancel := make(chan error, inFlight)
	block := func(ctx context.Context, sink ProgressSink[string]) error {
		if err := sink.Send("started"); err != nil {
			return err
		}
		<-ctx.Done()
		sawCancel <- ctx.Err()
		return ctx.Err()
	}
	echo := func(s string) string { return s }

	var errs errorLog
	s := NewService(wsDial(r1.url()), WithBackoff(10*time.Millisecond, 100*time.Millisecond), WithErrorHandler(errs.add))
	require.NoError(t, s.Register("test.loss.block", block))
	require.NoError(t, s.Register("test.loss.echo", echo))
	stop := runService(t, s)

	c1 := r1.caller(t)
	res := callUntil(t, c1, "test.loss.echo", wamp.List{"one"}, 10*time.Second)
	require.Equal(t, wamp.List{"one"}, res.Arguments)

	// Calls in flight when the router goes away. Wait until each caller
	// has its progressive result: no message may be in flight when the
	// router closes, since nexus v3.3.0's router can then send on a
	// closed session and panic.
	callErrs := make(chan error, inFlight)
	started := make(chan struct{}, inFlight)
	for range inFlight {
		go func() {
			_, err := c1.Call(context.Background(), "test.loss.block",
				wamp.Dict{wamp.OptReceiveProgress: true}, nil, nil, func(*wamp.Result) { started <- struct{}{} })
			callErrs <- err
		}()
	}
	for range inFlight {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the blocking calls did not start")
		}
	}

	r1.stop()
	for i := range inFlight {
		select {
		case err := <-sawCancel:
			require.ErrorIs(t, err, context.Canceled, "in-flight call %d", i)
		case <-time.After(5 * time.Second):
			t.Fatalf("in-flight call %d: the function's context was not cancelled within 5s of the router's loss", i)
		}
		select {
		case err := <-callErrs:
			require.Error(t, err, "in-flight call %d: the caller got a result from a lost callee", i)
		case <-time.After(5 * time.Second):
			t.Fatalf("in-flight call %d: the caller did not get an error", i)
		}
	}

	// A new router on the same address: the same Service reconnects and
	// registers everything again.
	r2 := startWSRouter(t, r1.addr, 0)
	c2 := r2.caller(t)
	res = callUntil(t, c2, "test.loss.echo", wamp.List{"two"}, 10*time.Second)
	require.Equal(t, wamp.List{"two"}, res.Arguments)
	res, err := c2.Call(context.Background(), string(wamp.MetaProcRegLookup), nil, wamp.List{"test.loss.block"}, nil, nil)
	require.NoError(t, err)
	require.Len(t, res.Arguments, 1)
	require.NotNil(t, res.Arguments[0], "test.loss.block is not registered after the reconnection")

	lost := false
	for _, err := range errs.all() {
		lost = lost || errors.Is(err, ErrConnectionLost)
	}
	require.True(t, lost, "the Service did not report the lost connection; it reported %v", errs.all())

	// Nothing in flight: the shutdown does not wait for its timeout.
	err, took := stop()
	require.NoError(t, err)
	require.Less(t, took, 5*time.Second)
}

func TestServiceGracefulShutdown(t *testing.T) {
	noLeaks(t)
	r := startWSRouter(t, "127.0.0.1:0", 0)

	type outcome struct {
		name string
		err  error // the function's ctx.Err() when it returned
		at   time.Time
	}
	started := make(chan string, 4)
	outcomes := make(chan outcome, 4)
	release := make(chan struct{})
	// finish returns when the test releases it, or when its context is
	// cancelled.
	finish := func(ctx context.Context, name string) (string, error) {
		started <- name
		select {
		case <-release:
			outcomes <- outcome{name, nil, time.Now()}
			return name + " finished", nil
		case <-ctx.Done():
			outcomes <- outcome{name, ctx.Err(), time.Now()}
			return "", ctx.Err()
		}
	}
	// outlast returns only when its context is cancelled.
	outlast := func(ctx context.Context, name string) error {
		started <- name
		<-ctx.Done()
		outcomes <- outcome{name, ctx.Err(), time.Now()}
		return ctx.Err()
	}
	ping := func() string { return "pong" }

	const shutdownTimeout = 1500 * time.Millisecond
	var errs errorLog
	s := NewService(wsDial(r.url()), WithShutdownTimeout(shutdownTimeout), WithErrorHandler(errs.add))
	require.NoError(t, s.Register("test.shutdown.finish", finish))
	require.NoError(t, s.Register("test.shutdown.outlast", outlast))
	require.NoError(t, s.Register("test.shutdown.ping", ping))
	stop := runService(t, s)

	caller := r.caller(t)
	callUntil(t, caller, "test.shutdown.ping", nil, 10*time.Second)

	type answer struct {
		res *wamp.Result
		err error
	}
	call := func(procedure, name string) <-chan answer {
		ch := make(chan answer, 1)
		go func() {
			res, err := caller.Call(context.Background(), procedure, nil, wamp.List{name}, nil, nil)
			ch <- answer{res, err}
		}()
		return ch
	}
	finished := call("test.shutdown.finish", "a")
	outlasted := call("test.shutdown.outlast", "b")
	for range 2 {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the calls did not start")
		}
	}

	// Shut down with both calls in flight.
	type runResult struct {
		err  error
		took time.Duration
	}
	runDone := make(chan runResult, 1)
	shutdownAt := time.Now()
	go func() {
		err, took := stop()
		runDone <- runResult{err, took}
	}()

	// New calls are refused once the procedures are unregistered.
	var err error
	require.Eventually(t, func() bool {
		_, err = caller.Call(context.Background(), "test.shutdown.ping", nil, nil, nil, nil)
		var rpcErr client.RPCError
		return errors.As(err, &rpcErr) && rpcErr.Err.Error == wamp.ErrNoSuchProcedure
	}, shutdownTimeout/2, 10*time.Millisecond, "want no_such_procedure during the shutdown, got %v", err)
	_, err = caller.Call(context.Background(), "test.shutdown.finish", nil, wamp.List{"c"}, nil, nil)
	require.Equal(t, wamp.ErrNoSuchProcedure, callErr(t, err).Error)
	require.ErrorIs(t, s.Register("test.shutdown.late", ping), ErrServiceStopped)

	// The call released before the shutdown timeout finishes normally.
	close(release)
	select {
	case a := <-finished:
		require.NoError(t, a.err)
		require.Equal(t, wamp.List{"a finished"}, a.res.Arguments)
	case <-time.After(10 * time.Second):
		t.Fatal("the call released before the shutdown timeout did not finish")
	}

	// The call that outlasts the timeout is cancelled at the timeout.
	select {
	case a := <-outlasted:
		require.Equal(t, wamp.ErrCanceled, callErr(t, a.err).Error)
	case <-time.After(10 * time.Second):
		t.Fatal("the call that outlasted the shutdown timeout was not cancelled")
	}
	got := map[string]outcome{}
	for range 2 {
		o := <-outcomes
		got[o.name] = o
	}
	require.NoError(t, got["a"].err, "the finished call's context was cancelled")
	require.ErrorIs(t, got["b"].err, context.Canceled)
	require.GreaterOrEqual(t, got["b"].at.Sub(shutdownAt), shutdownTimeout, "cancelled before the shutdown timeout")

	select {
	case rr := <-runDone:
		require.NoError(t, rr.err)
		require.GreaterOrEqual(t, rr.took, shutdownTimeout)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the shutdown")
	}
	require.Empty(t, started, "a call started after the shutdown began")
	require.Empty(t, errs.all())
}

func TestServiceRegister(t *testing.T) {
	noLeaks(t)
	r := startWSRouter(t, "127.0.0.1:0", 0)
	ping := func() string { return "pong" }
	s := NewService(wsDial(r.url()), WithBackoff(10*time.Millisecond, 50*time.Millisecond), WithErrorHandler(func(error) {}))
	require.NoError(t, s.Register("test.register.ping", ping))

	for _, tc := range []struct {
		name      string
		procedure string
		fn        any
		wantErr   error  // errors.Is, when set
		wantMsg   string // substring of the message
	}{
		{name: "empty URI", procedure: "", fn: ping, wantMsg: "empty procedure URI"},
		{name: "bad signature", procedure: "test.register.bad", fn: func(chan int) {}, wantErr: ErrSignature},
		{name: "not a func", procedure: "test.register.bad", fn: 42, wantErr: ErrSignature},
		{name: "duplicate", procedure: "test.register.ping", fn: ping, wantMsg: "already has this procedure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Register(tc.procedure, tc.fn)
			require.Error(t, err)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			}
			require.Contains(t, err.Error(), tc.wantMsg)
		})
	}

	stop := runService(t, s)
	caller := r.caller(t)
	callUntil(t, caller, "test.register.ping", nil, 10*time.Second)
	require.ErrorContains(t, s.Run(context.Background()), "called twice")

	// While connected, Register registers on the live connection before
	// it returns.
	require.NoError(t, s.Register("test.register.late", func(n int) int { return 2 * n }))
	res, err := caller.Call(context.Background(), "test.register.late", nil, wamp.List{21}, nil, nil)
	require.NoError(t, err)
	require.Len(t, res.Arguments, 1)
	n, _ := wamp.AsInt64(res.Arguments[0])
	require.EqualValues(t, 42, n)

	// A registration the router rejects is returned, and not kept.
	require.NoError(t, caller.Register("test.register.taken", func(context.Context, *wamp.Invocation) client.InvokeResult {
		return client.InvokeResult{}
	}, nil))
	err = s.Register("test.register.taken", ping)
	require.ErrorContains(t, err, string(wamp.ErrProcedureAlreadyExists))
	require.NoError(t, caller.Unregister("test.register.taken"))
	require.NoError(t, s.Register("test.register.taken", ping), "the rejected procedure was kept")

	err, _ = stop()
	require.NoError(t, err)
	require.ErrorIs(t, s.Register("test.register.after", ping), ErrServiceStopped)
}

// A registration the router rejects when the Service connects is
// reported, and retried with backoff until the router accepts it.
func TestServiceRegistrationRetried(t *testing.T) {
	noLeaks(t)
	r := startWSRouter(t, "127.0.0.1:0", 0)
	other := r.caller(t)
	require.NoError(t, other.Register("test.retry.proc", func(context.Context, *wamp.Invocation) client.InvokeResult {
		return client.InvokeResult{Args: wamp.List{"other"}}
	}, nil))

	var errs errorLog
	s := NewService(wsDial(r.url()), WithBackoff(10*time.Millisecond, 50*time.Millisecond), WithErrorHandler(errs.add))
	require.NoError(t, s.Register("test.retry.proc", func() string { return "service" }))
	runService(t, s)

	require.Eventually(t, func() bool { return len(errs.all()) >= 3 }, 10*time.Second, 10*time.Millisecond,
		"the rejected registration was not retried")
	for _, err := range errs.all() {
		require.ErrorContains(t, err, "register test.retry.proc")
		require.ErrorContains(t, err, string(wamp.ErrProcedureAlreadyExists))
	}
	require.NoError(t, other.Unregister("test.retry.proc"))
	require.Eventually(t, func() bool {
		res, err := other.Call(context.Background(), "test.retry.proc", nil, nil, nil, nil)
		return err == nil && res.Arguments[0] == "service"
	}, 10*time.Second, 20*time.Millisecond)
}

// Without a router, Run retries with growing delays and still returns
// promptly when its ctx is cancelled.
func TestServiceUnreachableRouter(t *testing.T) {
	noLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now

	var mu sync.Mutex
	var at []time.Time
	s := NewService(wsDial("ws://"+addr+"/"), WithBackoff(20*time.Millisecond, 80*time.Millisecond),
		WithErrorHandler(func(err error) {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Now())
		}))
	stop := runService(t, s)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(at) >= 6
	}, 10*time.Second, 10*time.Millisecond)
	err, took := stop()
	require.NoError(t, err)
	require.Less(t, took, 2*time.Second)

	mu.Lock()
	defer mu.Unlock()
	// Delays: ~20ms, 40ms, then capped at 80ms, each drawn from [d/2, d].
	for i := 3; i < 6; i++ {
		gap := at[i].Sub(at[i-1])
		require.GreaterOrEqual(t, gap, 40*time.Millisecond, "delay %d below max/2", i)
	}
}

func TestServiceNilDial(t *testing.T) {
	require.ErrorContains(t, NewService(nil).Run(context.Background()), "nil dial")
}
