package wampfn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
	"go.uber.org/goleak"
)

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
// and returns how long Run took to return and Run's result (or an error
// after 20s); it is safe to call from any goroutine, more than once, and is
// called at test cleanup.
func runService(t *testing.T, s *Service) (stop func() (time.Duration, error)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	var err error
	var took time.Duration
	stop = func() (time.Duration, error) {
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
		return took, err
	}
	t.Cleanup(func() {
		if _, err := stop(); err != nil {
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
	r1 := wampfntest.NewRouter(t)

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
	s := NewService(wsDial(r1.URL()), WithBackoff(10*time.Millisecond, 100*time.Millisecond), WithErrorHandler(errs.add),
		WithDiscovery("test.loss.describe"))
	require.NoError(t, s.Register("test.loss.block", block))
	require.NoError(t, s.Register("test.loss.echo", echo))
	stop := runService(t, s)

	c1 := r1.Connect(t, wampfntest.JSON)
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

	r1.Close()
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
	r2 := wampfntest.NewRouter(t, wampfntest.WithAddress(r1.Addr()))
	c2 := r2.Connect(t, wampfntest.JSON)
	res = callUntil(t, c2, "test.loss.echo", wamp.List{"two"}, 10*time.Second)
	require.Equal(t, wamp.List{"two"}, res.Arguments)
	res, err := c2.Call(context.Background(), string(wamp.MetaProcRegLookup), nil, wamp.List{"test.loss.block"}, nil, nil)
	require.NoError(t, err)
	require.Len(t, res.Arguments, 1)
	require.NotNil(t, res.Arguments[0], "test.loss.block is not registered after the reconnection")
	res, err = c2.Call(context.Background(), "test.loss.describe", nil, nil, nil, nil)
	require.NoError(t, err, "the discovery procedure is registered again too")
	doc, ok := wamp.AsDict(res.Arguments[0])
	require.True(t, ok, "%T", res.Arguments[0])
	require.Len(t, doc["methods"], 2)

	lost := false
	for _, err := range errs.all() {
		lost = lost || errors.Is(err, ErrConnectionLost)
	}
	require.True(t, lost, "the Service did not report the lost connection; it reported %v", errs.all())

	// Nothing in flight: the shutdown does not wait for its timeout.
	took, err := stop()
	require.NoError(t, err)
	require.Less(t, took, 5*time.Second)
}

func TestServiceGracefulShutdown(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)

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
	s := NewService(wsDial(r.URL()), WithShutdownTimeout(shutdownTimeout), WithErrorHandler(errs.add))
	require.NoError(t, s.Register("test.shutdown.finish", finish))
	require.NoError(t, s.Register("test.shutdown.outlast", outlast))
	require.NoError(t, s.Register("test.shutdown.ping", ping))
	stop := runService(t, s)

	caller := r.Connect(t, wampfntest.JSON)
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
		took, err := stop()
		runDone <- runResult{err, took}
	}()

	// New calls are refused once the procedures are unregistered.
	var err error
	require.Eventually(t, func() bool {
		_, err = caller.Call(context.Background(), "test.shutdown.ping", nil, nil, nil, nil)
		var rpcErr client.RPCError
		return errors.As(err, &rpcErr) && rpcErr.Err.Error == wamp.ErrNoSuchProcedure
	}, shutdownTimeout/2, 10*time.Millisecond, "want no_such_procedure during the shutdown, got %v", err)
	// The procedures are unregistered concurrently: finish may still be
	// on its way out (a call arriving in the instant between nexus's
	// client dropping its handler and the router's UNREGISTERED gets
	// nexus's invalid_argument "client has no handler"; see docs/nexus.md,
	// the known nexus limits).
	require.Eventually(t, func() bool {
		_, err = caller.Call(context.Background(), "test.shutdown.finish", nil, wamp.List{"c"}, nil, nil)
		var rpcErr client.RPCError
		return errors.As(err, &rpcErr) && rpcErr.Err.Error == wamp.ErrNoSuchProcedure
	}, shutdownTimeout/2, 10*time.Millisecond, "want no_such_procedure during the shutdown, got %v", err)
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
	r := wampfntest.NewRouter(t)
	ping := func() string { return "pong" }
	s := NewService(wsDial(r.URL()), WithBackoff(10*time.Millisecond, 50*time.Millisecond), WithErrorHandler(func(error) {}))
	require.NoError(t, s.Register("test.register.ping", ping))

	for _, tc := range []struct {
		name      string
		procedure string
		fn        any
		wantErr   error  // errors.Is, when set
		wantMsg   string // substring of the message
	}{
		{name: "empty URI", procedure: "", fn: ping, wantMsg: "invalid procedure URI: empty"},
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
	caller := r.Connect(t, wampfntest.JSON)
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

	_, err = stop()
	require.NoError(t, err)
	require.ErrorIs(t, s.Register("test.register.after", ping), ErrServiceStopped)
}

// A registration the router rejects when the Service connects is
// reported, and retried with backoff until the router accepts it.
func TestServiceRegistrationRetried(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	other := r.Connect(t, wampfntest.JSON)
	require.NoError(t, other.Register("test.retry.proc", func(context.Context, *wamp.Invocation) client.InvokeResult {
		return client.InvokeResult{Args: wamp.List{"other"}}
	}, nil))

	var errs errorLog
	s := NewService(wsDial(r.URL()), WithBackoff(10*time.Millisecond, 50*time.Millisecond), WithErrorHandler(errs.add))
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

// countDials returns dial, counting its calls in n.
func countDials(dial func(ctx context.Context) (*client.Client, error), n *atomic.Int32) func(ctx context.Context) (*client.Client, error) {
	return func(ctx context.Context) (*client.Client, error) {
		n.Add(1)
		return dial(ctx)
	}
}

// callString calls procedure on c once and returns its first result.
func callString(c *client.Client, procedure string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Call(ctx, procedure, nil, nil, nil, nil)
	if err != nil {
		return "", err
	}
	if len(res.Arguments) != 1 {
		return "", fmt.Errorf("want one result, got %v", res.Arguments)
	}
	s, _ := res.Arguments[0].(string)
	return s, nil
}

// A registration that the router refuses because another callee holds
// the procedure with a non-shared registration neither ends the
// connection nor stops the other procedures: it is reported and retried
// on the same connection until the other callee lets it go.
func TestServiceRefusedRegistration(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	other := r.Connect(t, wampfntest.JSON)
	require.NoError(t, other.Register("test.refused.held", func(context.Context, *wamp.Invocation) client.InvokeResult {
		return client.InvokeResult{Args: wamp.List{"other"}}
	}, nil))

	var errs errorLog
	var dials atomic.Int32
	s := NewService(countDials(wsDial(r.URL()), &dials),
		WithBackoff(20*time.Millisecond, 100*time.Millisecond), WithErrorHandler(errs.add))
	require.NoError(t, s.Register("test.refused.a", func() string { return "a" }))
	require.NoError(t, s.Register("test.refused.held", func() string { return "service" }))
	require.NoError(t, s.Register("test.refused.b", func() string { return "b" }))
	runService(t, s)

	caller := r.Connect(t, wampfntest.JSON)
	callUntil(t, caller, "test.refused.a", nil, 10*time.Second)
	callUntil(t, caller, "test.refused.b", nil, 10*time.Second)

	// The refusal and several retries are reported, while the other
	// procedures stay callable on the same connection.
	require.Eventually(t, func() bool {
		for _, procedure := range []string{"test.refused.a", "test.refused.b"} {
			if got, err := callString(caller, procedure); err != nil || got != procedure[len(procedure)-1:] {
				return false
			}
		}
		return len(errs.all()) >= 4
	}, 10*time.Second, 20*time.Millisecond, "reported: %v", errs.all())
	for _, err := range errs.all() {
		require.ErrorIs(t, err, ErrRegistrationRefused)
		require.ErrorContains(t, err, "wampfn: register test.refused.held: refused by the router")
		require.ErrorContains(t, err, string(wamp.ErrProcedureAlreadyExists))
	}
	require.EqualValues(t, 1, dials.Load(), "the Service reconnected")
	got, err := callString(caller, "test.refused.held")
	require.NoError(t, err)
	require.Equal(t, "other", got)

	// Once the other callee lets it go, the retry registers it.
	require.NoError(t, other.Unregister("test.refused.held"))
	require.Eventually(t, func() bool {
		got, err := callString(caller, "test.refused.held")
		return err == nil && got == "service"
	}, 10*time.Second, 20*time.Millisecond)
	for _, procedure := range []string{"test.refused.a", "test.refused.b"} {
		got, err := callString(caller, procedure)
		require.NoError(t, err)
		require.Equal(t, procedure[len(procedure)-1:], got)
	}
	require.EqualValues(t, 1, dials.Load(), "the Service reconnected")
}

// A router with strict URI checking refuses a loose URI (upper case),
// which Service.Register accepts: the refusal is reported and the other
// procedures are served.
func TestServiceStrictURIRouter(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t, wampfntest.WithRealmConfig(func(rc *router.RealmConfig) { rc.StrictURI = true }))
	var errs errorLog
	var dials atomic.Int32
	s := NewService(countDials(wsDial(r.URL()), &dials),
		WithBackoff(20*time.Millisecond, 100*time.Millisecond), WithErrorHandler(errs.add))
	require.NoError(t, s.Register("test.strict.getUser", func() string { return "loose" }))
	require.NoError(t, s.Register("test.strict.get_user", func() string { return "strict" }))
	runService(t, s)

	caller := r.Connect(t, wampfntest.JSON)
	res := callUntil(t, caller, "test.strict.get_user", nil, 10*time.Second)
	require.Equal(t, wamp.List{"strict"}, res.Arguments)
	require.Eventually(t, func() bool { return len(errs.all()) >= 2 }, 10*time.Second, 10*time.Millisecond)
	for _, err := range errs.all() {
		require.ErrorIs(t, err, ErrRegistrationRefused)
		require.ErrorContains(t, err, "wampfn: register test.strict.getUser: refused by the router")
		require.ErrorContains(t, err, string(wamp.ErrInvalidURI))
	}
	_, err := caller.Call(context.Background(), "test.strict.getUser", nil, nil, nil, nil)
	require.Equal(t, wamp.ErrNoSuchProcedure, callErr(t, err).Error)
	res, err = caller.Call(context.Background(), "test.strict.get_user", nil, nil, nil, nil)
	require.NoError(t, err)
	require.Equal(t, wamp.List{"strict"}, res.Arguments)
	require.EqualValues(t, 1, dials.Load(), "the Service reconnected")
}

// Service.Register checks the URI before Run, with the rules of the
// registration's match policy.
func TestServiceRegisterURI(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	var errs errorLog
	s := NewService(wsDial(r.URL()), WithErrorHandler(errs.add))
	ping := func() string { return "pong" }
	for _, tc := range []struct {
		name, uri string
		opts      []Option
		wantErr   string
	}{
		{name: "empty", uri: "", wantErr: "wampfn: register: invalid procedure URI: empty"},
		{name: "empty prefix", uri: "", opts: []Option{WithRegisterOptions(wamp.Dict{wamp.OptMatch: wamp.MatchPrefix})}, wantErr: "invalid procedure URI: empty"},
		{name: "empty component", uri: "a..b", wantErr: "wampfn: register a..b: invalid procedure URI: component 1 is empty"},
		{name: "white space", uri: "with space", wantErr: `wampfn: register with space: invalid procedure URI: component 0 ("with space") contains ' '`},
		{name: "reserved", uri: "wamp.x", wantErr: `wampfn: register wamp.x: invalid procedure URI: the prefix "wamp." is reserved for the router`},
		{name: "hash", uri: "#", wantErr: `wampfn: register #: invalid procedure URI: component 0 ("#") contains '#'`},
		{name: "prefix without match", uri: "test.uri.prefix.", wantErr: `component 3 is empty (register with match "prefix"`},
		{name: "wildcard as prefix", uri: "test.uri..wild", opts: []Option{WithRegisterOptions(wamp.Dict{wamp.OptMatch: wamp.MatchPrefix})}, wantErr: "component 2 is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, s.Register(tc.uri, ping, tc.opts...), tc.wantErr)
		})
	}
	require.NoError(t, s.Register("test.uri.prefix.", ping, WithRegisterOptions(wamp.Dict{wamp.OptMatch: wamp.MatchPrefix})))
	require.NoError(t, s.Register("test.uri..wild", ping, WithRegisterOptions(wamp.Dict{wamp.OptMatch: wamp.MatchWildcard})))
	require.NoError(t, s.Register("test.uri.camelCase", ping))

	runService(t, s)
	caller := r.Connect(t, wampfntest.JSON)
	callUntil(t, caller, "test.uri.prefix.anything", nil, 10*time.Second)
	callUntil(t, caller, "test.uri.x.wild", nil, 10*time.Second)
	callUntil(t, caller, "test.uri.camelCase", nil, 10*time.Second)
	require.Empty(t, errs.all())
}

func TestServiceUnregister(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	other := r.Connect(t, wampfntest.JSON)
	require.NoError(t, other.Register("test.unreg.held", func(context.Context, *wamp.Invocation) client.InvokeResult {
		return client.InvokeResult{Args: wamp.List{"other"}}
	}, nil))
	var errs errorLog
	s := NewService(wsDial(r.URL()), WithBackoff(20*time.Millisecond, 100*time.Millisecond), WithErrorHandler(errs.add))
	ping := func() string { return "pong" }
	for _, procedure := range []string{"test.unreg.before", "test.unreg.live", "test.unreg.held", "test.unreg.keep"} {
		require.NoError(t, s.Register(procedure, ping))
	}

	// Before Run, the procedure is only removed.
	require.NoError(t, s.Unregister("test.unreg.before"))
	require.EqualError(t, s.Unregister("test.unreg.before"),
		"wampfn: unregister test.unreg.before: the service has no such procedure")
	require.EqualError(t, s.Unregister("test.unreg.unknown"),
		"wampfn: unregister test.unreg.unknown: the service has no such procedure")

	stop := runService(t, s)
	caller := r.Connect(t, wampfntest.JSON)
	callUntil(t, caller, "test.unreg.keep", nil, 10*time.Second)
	callUntil(t, caller, "test.unreg.live", nil, 10*time.Second)
	_, err := caller.Call(context.Background(), "test.unreg.before", nil, nil, nil, nil)
	require.Equal(t, wamp.ErrNoSuchProcedure, callErr(t, err).Error, "a procedure unregistered before Run was registered")

	// While connected, it is unregistered before Unregister returns.
	require.NoError(t, s.Unregister("test.unreg.live"))
	_, err = caller.Call(context.Background(), "test.unreg.live", nil, nil, nil, nil)
	require.Equal(t, wamp.ErrNoSuchProcedure, callErr(t, err).Error)
	// And it may be registered again.
	require.NoError(t, s.Register("test.unreg.live", ping))
	_, err = caller.Call(context.Background(), "test.unreg.live", nil, nil, nil, nil)
	require.NoError(t, err)

	// A refused procedure is no longer retried once unregistered.
	require.Eventually(t, func() bool { return len(errs.all()) >= 2 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, s.Unregister("test.unreg.held"))
	require.NoError(t, other.Unregister("test.unreg.held"))
	reported := len(errs.all())
	time.Sleep(500 * time.Millisecond) // several retry delays
	_, err = caller.Call(context.Background(), "test.unreg.held", nil, nil, nil, nil)
	require.Equal(t, wamp.ErrNoSuchProcedure, callErr(t, err).Error, "an unregistered procedure was registered by its retry")
	// A retry that was under way as Unregister was called may report.
	require.LessOrEqual(t, len(errs.all()), reported+1, "retried after Unregister: %v", errs.all())
	for _, err := range errs.all() {
		require.ErrorIs(t, err, ErrRegistrationRefused)
	}
	_, err = caller.Call(context.Background(), "test.unreg.keep", nil, nil, nil, nil)
	require.NoError(t, err)

	_, err = stop()
	require.NoError(t, err)
	require.ErrorIs(t, s.Unregister("test.unreg.keep"), ErrServiceStopped)
	require.ErrorIs(t, s.Unregister("test.unreg.unknown"), ErrServiceStopped)
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
	took, err := stop()
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

// wsDialTimeout is wsDial with the client's ResponseTimeout set, which
// bounds how long nexus waits for the router's answer, and for its
// GOODBYE in Client.Close.
func wsDialTimeout(url string, responseTimeout time.Duration) func(ctx context.Context) (*client.Client, error) {
	return func(ctx context.Context) (*client.Client, error) {
		return client.ConnectNet(ctx, url, client.Config{
			Realm: testRealm, Logger: quietLogger, Serialization: serialize.JSON,
			ResponseTimeout: responseTimeout,
		})
	}
}

// Run returns within its bound when its ctx is cancelled in the same
// instant as the router goes away (as on a machine's shutdown), and when
// the router is gone just before the shutdown starts, before the client
// has noticed; and it leaves no goroutine behind. nexus v3.3.0's
// Client.Unregister blocks for good when the session ends between its
// check of the connection and its send, which a shutdown racing the
// router's death hits in about 1 round in 50 here; each round unregisters
// a dozen procedures to widen the window, and the rounds of "together"
// delay the cancellation by 0 to 750 µs to sweep over the instant the
// router's close reaches the client.
func TestServiceShutdownRouterDies(t *testing.T) {
	noLeaks(t)
	rounds := 60
	if testing.Short() {
		rounds = 10
	}
	const (
		responseTimeout = 500 * time.Millisecond
		shutdownTimeout = 300 * time.Millisecond
		// 1s to unregister, 2 × responseTimeout for nexus's GOODBYE wait,
		// and a generous margin for a loaded machine under -race.
		bound = time.Second + 2*responseTimeout + 5*time.Second
	)
	for _, variant := range []string{"together", "router first"} {
		for round := range rounds {
			started := make(chan struct{}, 1)
			block := func(ctx context.Context) error {
				started <- struct{}{}
				<-ctx.Done()
				return ctx.Err()
			}
			r := wampfntest.NewRouter(t)
			s := NewService(wsDialTimeout(r.URL(), responseTimeout),
				WithShutdownTimeout(shutdownTimeout), WithBackoff(time.Millisecond, 5*time.Millisecond),
				WithErrorHandler(func(error) {}))
			require.NoError(t, s.Register("test.die.block", block))
			require.NoError(t, s.Register("test.die.ping", func() string { return "pong" }))
			for i := range 10 {
				require.NoError(t, s.Register(fmt.Sprintf("test.die.p%d", i), func() {}))
			}
			ctx, cancel := context.WithCancel(context.Background())
			runDone := make(chan error, 1)
			go func() { runDone <- s.Run(ctx) }()

			caller, err := wsDial(r.URL())(context.Background())
			require.NoError(t, err)
			callUntil(t, caller, "test.die.ping", nil, 10*time.Second)
			// The handler must be in flight when the shutdown starts, but
			// the call must not be pending at the router: nexus v3.3.0's
			// dealer, removing a callee that leaves while the router's
			// Close has already ended the caller's session, answers that
			// caller on its closed channel and panics. A skip-mode CANCEL
			// drops the call at the router (its ERROR reply, which Call
			// waits for, is sent after the drop) and sends no INTERRUPT,
			// so the handler runs on until the shutdown cancels it.
			require.NoError(t, caller.SetCallCancelMode(wamp.CancelModeSkip))
			callCtx, cancelCall := context.WithCancel(context.Background())
			callDone := make(chan struct{})
			go func() {
				defer close(callDone)
				caller.Call(callCtx, "test.die.block", nil, nil, nil, nil)
			}()
			select {
			case <-started:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s, round %d: the call did not start", variant, round)
			}
			cancelCall()
			<-callDone

			var at time.Time
			if variant == "together" {
				delay := time.Duration(round%16) * 50 * time.Microsecond
				release := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(2)
				go func() {
					defer wg.Done()
					<-release
					if delay > 0 {
						time.Sleep(delay)
					}
					cancel()
				}()
				go func() { defer wg.Done(); <-release; r.Close() }()
				at = time.Now()
				close(release)
				wg.Wait()
			} else {
				r.Close()
				at = time.Now()
				cancel()
			}
			select {
			case err := <-runDone:
				require.NoError(t, err, "%s, round %d", variant, round)
			case <-time.After(bound):
				t.Fatalf("%s, round %d: Run did not return within %v of the shutdown", variant, round, bound)
			}
			require.Less(t, time.Since(at), bound, "%s, round %d", variant, round)
			caller.Close()
		}
	}
}

// WithProcedureOptions' interceptors wrap every procedure of a Service,
// outside the procedure's own; a Service's calls get the same chain.
func TestServiceProcedureOptions(t *testing.T) {
	noLeaks(t)
	wr := wampfntest.NewRouter(t)
	rec := &recorder{}
	s := NewService(wsDial(wr.URL()), WithProcedureOptions(WithInterceptors(rec.tracing("service"))))
	require.NoError(t, s.Register("test.procopts.echo", func(s string) string { return s }, WithInterceptors(rec.tracing("own"))))
	require.NoError(t, s.Register("test.procopts.plain", func() int { return 1 }))
	runService(t, s)
	c := wr.Connect(t, wampfntest.JSON)
	res := callUntil(t, c, "test.procopts.echo", wamp.List{"hi"}, 10*time.Second)
	require.Equal(t, wamp.List{"hi"}, res.Arguments)
	seen := rec.all()
	require.Equal(t, []string{
		"service before test.procopts.echo args=[hi] progress=false",
		"own before test.procopts.echo args=[hi] progress=false",
		"own after outcome=ok panic=false canceled=false",
		"service after outcome=ok panic=false canceled=false",
	}, seen[len(seen)-4:])
	rec.reset()
	_, err := c.Call(t.Context(), "test.procopts.plain", nil, nil, nil, nil)
	require.NoError(t, err)
	require.Equal(t, []string{
		"service before test.procopts.plain args=[] progress=false",
		"service after outcome=ok panic=false canceled=false",
	}, rec.all())
}
