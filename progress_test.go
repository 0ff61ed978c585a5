package wampfn

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/transport"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// longop is the seed's procedure: progress 0..n-1, then n.
func longop(ctx context.Context, n int, sink ProgressSink[int]) (int, error) {
	for i := range n {
		if err := sink.Send(i); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func TestProgress(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			require.NoError(t, Register(callee, "test.longop", longop))

			// The progress handler runs on the client's goroutine: it
			// collects, the test goroutine asserts.
			var progress []wamp.List
			res, err := caller.Call(t.Context(), "test.longop", nil, wamp.List{3}, nil, func(r *wamp.Result) {
				progress = append(progress, r.Arguments)
			})
			require.NoError(t, err)
			require.Len(t, progress, 3)
			for i, args := range progress {
				require.Len(t, args, 1)
				require.Equal(t, int64(i), asInt(t, args[0]))
			}
			require.Equal(t, int64(3), asInt(t, res.Arguments[0]))
		})
	}
}

func TestProgressValueTypes(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			require.NoError(t, Register(callee, "test.points", func(sink ProgressSink[point]) error {
				return sink.Send(point{X: 1, Y: 2})
			}))
			require.NoError(t, Register(callee, "test.results", func(sink ProgressSink[Result]) error {
				return sink.Send(Result{Args: wamp.List{"a", 1}, Kwargs: wamp.Dict{"k": point{X: 3}}})
			}))

			var got []*wamp.Result
			onProgress := func(r *wamp.Result) { got = append(got, r) }
			_, err := caller.Call(t.Context(), "test.points", nil, nil, nil, onProgress)
			require.NoError(t, err)
			require.Len(t, got, 1)
			d, ok := wamp.AsDict(got[0].Arguments[0])
			require.True(t, ok, "a struct progress value arrives as a dict, got %T", got[0].Arguments[0])
			require.EqualValues(t, 2, asInt(t, d["y"]))

			got = nil
			_, err = caller.Call(t.Context(), "test.results", nil, nil, nil, onProgress)
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.Len(t, got[0].Arguments, 2)
			require.Equal(t, "a", got[0].Arguments[0])
			k, ok := wamp.AsDict(got[0].ArgumentsKw["k"])
			require.True(t, ok)
			require.EqualValues(t, 3, asInt(t, k["x"]))
		})
	}
}

// rawCaller is a WAMP caller that sees the router's messages as they are,
// without a client library's interpretation in between.
type rawCaller struct {
	t    *testing.T
	peer wamp.Peer
	next wamp.ID
}

func newRawCaller(t *testing.T, tr *wampfntest.Router) *rawCaller {
	local, routerSide := transport.LinkedPeers()
	go tr.Nexus().Attach(routerSide)
	t.Cleanup(local.Close)
	local.Send() <- &wamp.Hello{Realm: testRealm, Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{
		"features": wamp.Dict{"progressive_call_results": true, "call_canceling": true},
	}}}}
	rc := &rawCaller{t: t, peer: local}
	_, ok := rc.recv(5 * time.Second).(*wamp.Welcome)
	require.True(t, ok, "want WELCOME")
	return rc
}

// recv returns the next message, or nil after wait.
func (rc *rawCaller) recv(wait time.Duration) wamp.Message {
	select {
	case m := <-rc.peer.Recv():
		return m
	case <-time.After(wait):
		return nil
	}
}

func (rc *rawCaller) call(procedure string, options wamp.Dict, args wamp.List) wamp.ID {
	rc.next++
	rc.peer.Send() <- &wamp.Call{Request: rc.next, Options: options, Procedure: wamp.URI(procedure), Arguments: args}
	return rc.next
}

// results reads the messages for request req up to and including the
// final RESULT or ERROR, then asserts that nothing more arrives within
// quiet.
func (rc *rawCaller) results(req wamp.ID, quiet time.Duration) (progress []*wamp.Result, final wamp.Message) {
	t := rc.t
	for final == nil {
		m := rc.recv(10 * time.Second)
		require.NotNil(t, m, "no final RESULT or ERROR")
		switch m := m.(type) {
		case *wamp.Result:
			require.Equal(t, req, m.Request)
			if p, _ := m.Details[wamp.OptProgress].(bool); p {
				progress = append(progress, m)
			} else {
				final = m
			}
		case *wamp.Error:
			require.Equal(t, req, m.Request)
			final = m
		default:
			t.Fatalf("unexpected %s", m.MessageType())
		}
	}
	require.Nil(t, rc.recv(quiet), "a message arrived after the final one")
	return progress, final
}

func TestNoProgressUnlessAsked(t *testing.T) {
	tr := wampfntest.NewRouter(t)
	callee := tr.Connect(t, wampfntest.InProcess)
	type report struct {
		wanted bool
		errs   []error
	}
	reports := make(chan report, 1)
	require.NoError(t, Register(callee, "test.unasked", func(sink ProgressSink[int]) int {
		r := report{wanted: sink.Wanted()}
		for i := range 100 {
			r.errs = append(r.errs, sink.Send(i))
		}
		reports <- r
		return 100
	}))

	rc := newRawCaller(t, tr)
	req := rc.call("test.unasked", wamp.Dict{}, nil)
	progress, final := rc.results(req, 100*time.Millisecond)
	require.Empty(t, progress, "a caller that did not ask gets no progress")
	require.IsType(t, &wamp.Result{}, final)
	r := <-reports
	require.False(t, r.wanted)
	for _, err := range r.errs {
		require.NoError(t, err, "Send drops the value and returns nil")
	}

	// The same function with a caller that asks: every value arrives.
	req = rc.call("test.unasked", wamp.Dict{wamp.OptReceiveProgress: true}, nil)
	progress, _ = rc.results(req, 100*time.Millisecond)
	require.Len(t, progress, 100)
	require.True(t, (<-reports).wanted)
}

func TestNoYieldAfterFinal(t *testing.T) {
	tr := wampfntest.NewRouter(t)
	callee := tr.Connect(t, wampfntest.InProcess)
	sinks := make(chan ProgressSink[int], 1)
	sendErrs := make(chan error, 1)
	firstErr := make(chan error, 1)
	require.NoError(t, Register(callee, "test.leaky", func(sink ProgressSink[int]) int {
		firstErr <- sink.Send(1)
		sinks <- sink
		// A goroutine the function leaves behind keeps sending.
		go func() {
			var err error
			for i := 0; err == nil && i < 1000; i++ {
				err = sink.Send(i)
			}
			sendErrs <- err
		}()
		return 2
	}))

	rc := newRawCaller(t, tr)
	req := rc.call("test.leaky", wamp.Dict{wamp.OptReceiveProgress: true}, nil)
	_, final := rc.results(req, 200*time.Millisecond)
	res, ok := final.(*wamp.Result)
	require.True(t, ok, "want the final RESULT, got %v", final)
	require.Equal(t, int64(2), asInt(t, res.Arguments[0]))
	require.NoError(t, <-firstErr)
	require.ErrorIs(t, <-sendErrs, ErrInvocationDone)
	require.ErrorIs(t, (<-sinks).Send(3), ErrInvocationDone)
	require.Nil(t, rc.recv(100*time.Millisecond), "nothing after the final RESULT")
}

func TestConcurrentSends(t *testing.T) {
	const senders, each = 8, 200
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			require.NoError(t, Register(callee, "test.fanout", func(ctx context.Context, sink ProgressSink[[2]int]) error {
				var wg sync.WaitGroup
				errs := make([]error, senders)
				for g := range senders {
					wg.Go(func() {
						for i := range each {
							if err := sink.Send([2]int{g, i}); err != nil {
								errs[g] = err
								return
							}
						}
					})
				}
				wg.Wait()
				return errors.Join(errs...)
			}))
			var got []wamp.List
			_, err := caller.Call(t.Context(), "test.fanout", nil, nil, nil, func(r *wamp.Result) {
				got = append(got, r.Arguments)
			})
			require.NoError(t, err)
			next := make([]int64, senders)
			for _, args := range got {
				require.Len(t, args, 1)
				l, ok := wamp.AsList(args[0])
				require.True(t, ok)
				g, i := asInt(t, l[0]), asInt(t, l[1])
				require.Equal(t, next[g], i, "sender %d's values out of order", g)
				next[g]++
			}
			for g := range senders {
				require.EqualValues(t, each, next[g], "sender %d's values lost", g)
			}
		})
	}
}

func TestProgressiveInvocationRefused(t *testing.T) {
	tr := wampfntest.NewRouter(t)
	callee := tr.Connect(t, wampfntest.InProcess)
	caller := tr.Connect(t, wampfntest.InProcess)
	var called atomic.Bool
	require.NoError(t, Register(callee, "test.oneshot", func(n int) int { called.Store(true); return n }))

	chunks := 0
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := caller.CallProgressive(ctx, "test.oneshot", func(ctx context.Context) (wamp.Dict, wamp.List, wamp.Dict, error) {
			chunks++
			opts := wamp.Dict{wamp.OptProgress: chunks < 3}
			return opts, wamp.List{chunks}, nil, nil
		}, nil)
		done <- err
	}()
	select {
	case err := <-done:
		werr := callErr(t, err)
		// The spec's answer of a callee that cannot take them.
		require.Equal(t, wamp.ErrFeatureNotSupported, werr.Error)
		require.Contains(t, werr.Arguments[0], "test.oneshot takes no input stream")
	case <-time.After(10 * time.Second):
		t.Fatal("a progressive call invocation hung")
	}
	require.False(t, called.Load())
	// The callee still serves.
	res, err := caller.Call(t.Context(), "test.oneshot", nil, wamp.List{7}, nil, nil)
	require.NoError(t, err)
	require.EqualValues(t, 7, asInt(t, res.Arguments[0]))
}

func TestSendAfterCancel(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport.String(), func(t *testing.T) {
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)
			require.NoError(t, caller.SetCallCancelMode(wamp.CancelModeKill))
			sendErr := make(chan error, 1)
			require.NoError(t, Register(callee, "test.endless", func(ctx context.Context, sink ProgressSink[int]) error {
				for i := 0; ; i++ {
					if err := sink.Send(i); err != nil {
						sendErr <- err
						return err
					}
					time.Sleep(time.Millisecond)
				}
			}))
			ctx, cancel := context.WithCancel(t.Context())
			_, err := caller.Call(ctx, "test.endless", nil, nil, nil, func(r *wamp.Result) {
				if n, _ := wamp.AsInt64(r.Arguments[0]); n == 3 {
					cancel()
				}
			})
			require.Error(t, err)
			select {
			case err := <-sendErr:
				require.ErrorIs(t, err, context.Canceled)
			case <-time.After(5 * time.Second):
				t.Fatal("Send did not fail after the call was cancelled")
			}
		})
	}
}

func TestNewProgressSink(t *testing.T) {
	var got []string
	sink := NewProgressSink(func(s string) error { got = append(got, s); return nil })
	require.True(t, sink.Wanted())
	require.NoError(t, sink.Send("a"))
	require.NoError(t, sink.Send("b"))
	require.Equal(t, []string{"a", "b"}, got)

	boom := errors.New("boom")
	failing := NewProgressSink(func(int) error { return boom })
	require.ErrorIs(t, failing.Send(1), boom)

	var zero ProgressSink[int]
	require.False(t, zero.Wanted())
	require.NoError(t, zero.Send(1))

	// Interface types, and nil values of them, reach send as they are.
	var anys []any
	anySink := NewProgressSink(func(v any) error { anys = append(anys, v); return nil })
	require.NoError(t, anySink.Send(nil))
	require.NoError(t, anySink.Send(5))
	require.Equal(t, []any{nil, 5}, anys)
	var errs []error
	errSink := NewProgressSink(func(e error) error { errs = append(errs, e); return nil })
	require.NoError(t, errSink.Send(nil))
	require.NoError(t, errSink.Send(boom))
	require.Equal(t, []error{nil, boom}, errs)

	// A nil send drops every value.
	require.NoError(t, NewProgressSink[any](nil).Send(nil))

	// Values are converted as a real sink converts them: what cannot be
	// sent is an error here too, and send never sees it.
	var floats []float64
	floatSink := NewProgressSink(func(f float64) error { floats = append(floats, f); return nil })
	require.ErrorContains(t, floatSink.Send(math.NaN()), "wampfn: progress value: cannot send float64 NaN")
	require.NoError(t, floatSink.Send(1.5))
	require.Equal(t, []float64{1.5}, floats)
	require.ErrorContains(t, NewProgressSink[any](nil).Send(make(chan int)), "chan int cannot be sent as a WAMP value")
	require.ErrorContains(t, NewProgressSink[chan int](nil).Send(nil), "chan int cannot be sent as a WAMP value")
	require.ErrorContains(t, NewProgressSink[any](nil).Send(panicText{}), "converting a wampfn.panicText panicked: MarshalText exploded")
}

// The longop of the seed, unit-tested without a router through
// NewProgressSink, as a user would test their own function.
func TestLongopWithoutRouter(t *testing.T) {
	var got []int
	n, err := longop(t.Context(), 3, NewProgressSink(func(i int) error { got = append(got, i); return nil }))
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, []int{0, 1, 2}, got)
}
