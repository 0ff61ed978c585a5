package wampfn

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/transport"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
	"go.uber.org/goleak"
)

// Cancellation: whatever ends a call early (CANCEL kill, killnowait or
// skip, the caller leaving, a timeout), the function's context is
// cancelled, Send fails at once with the context's error, whatever the
// function returns afterwards never reaches the caller, and none of the
// call's goroutines outlives it.
//
// What the caller sees, on the wire (wireCaller) and through a nexus
// client (client.Call):
//
//	end of call                   caller gets (wire)                       client.Call returns          function's ctx.Err()
//	CANCEL mode=kill              ERROR wamp.error.canceled (from callee)  ctx.Err(): context.Canceled  context.Canceled
//	CANCEL mode=killnowait        ERROR wamp.error.canceled (from router)  ctx.Err(): context.Canceled  context.Canceled
//	CANCEL mode=skip              ERROR wamp.error.canceled (from router)  ctx.Err(): context.Canceled  context.Canceled, at its next Send
//	caller leaves (GOODBYE/close) nothing: it is gone                      client.ErrNotConn            context.Canceled, at its next Send
//	timeout, forward_timeout      ERROR wamp.error.canceled (from callee)  RPCError wamp.error.canceled context.DeadlineExceeded
//	timeout, no forward_timeout   ERROR wamp.error.timeout ["call timeout"] RPCError wamp.error.timeout context.Canceled
//
// nexus's dealer sends no INTERRUPT for skip or for a caller that left; it
// sends one (killnowait) when the next progressive YIELD arrives for a
// call that is gone, so a streaming function stops at its next Send. A
// function that sends nothing runs on until it returns.

// leakCheck snapshots the goroutines running now and, at the end of the
// test, after every cleanup registered later (clients, router), fails the
// test if a goroutine started since is still running. Call it first.
func leakCheck(t *testing.T) {
	t.Helper()
	snap := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, snap) })
}

// wireCaller is a WAMP caller that speaks messages directly, so that a
// test sees exactly what the router sends, ERROR URIs included (a nexus
// client turns the ERROR that answers its CANCEL into ctx.Err()).
type wireCaller struct {
	peer   wamp.Peer
	nextID wamp.ID

	mu     sync.Mutex
	msgs   []wamp.Message
	more   chan struct{} // a token after each new message
	gone   chan struct{} // closed when the router side has closed
	closed bool
}

// dialWire joins the test realm as a caller over via ("inproc", "json",
// "msgpack" or "cbor"); it leaves at test cleanup.
func dialWire(t testing.TB, tr *wampfntest.Router, via wampfntest.Transport) *wireCaller {
	t.Helper()
	var peer wamp.Peer
	if via == wampfntest.InProcess {
		local, routerSide := transport.LinkedPeers()
		go tr.Nexus().Attach(routerSide)
		peer = local
	} else {
		ser, ok := via.Serialization()
		require.True(t, ok, "unknown transport %q", via)
		var err error
		peer, err = transport.ConnectWebsocketPeer(t.Context(), tr.URL(), ser, nil, quietLogger, nil)
		require.NoError(t, err)
	}
	features := wamp.Dict{"call_canceling": true, "progressive_call_results": true, "call_timeout": true,
		"progressive_call_invocations": true}
	peer.Send() <- &wamp.Hello{Realm: testRealm, Details: wamp.Dict{
		"roles": wamp.Dict{"caller": wamp.Dict{"features": features}},
	}}
	msg, err := wamp.RecvTimeout(peer, 5*time.Second)
	require.NoError(t, err)
	require.IsType(t, &wamp.Welcome{}, msg)
	wc := &wireCaller{peer: peer, more: make(chan struct{}, 1), gone: make(chan struct{})}
	go func() {
		defer close(wc.gone)
		for m := range peer.Recv() {
			wc.mu.Lock()
			wc.msgs = append(wc.msgs, m)
			wc.mu.Unlock()
			select {
			case wc.more <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(wc.leave)
	return wc
}

// call sends a CALL with receive_progress and returns its request ID.
func (wc *wireCaller) call(procedure string, opts wamp.Dict, args ...any) wamp.ID {
	wc.nextID++
	o := wamp.Dict{wamp.OptReceiveProgress: true}
	for k, v := range opts {
		o[k] = v
	}
	wc.peer.Send() <- &wamp.Call{Request: wc.nextID, Options: o, Procedure: wamp.URI(procedure), Arguments: args}
	return wc.nextID
}

func (wc *wireCaller) cancel(id wamp.ID, mode string) {
	wc.peer.Send() <- &wamp.Cancel{Request: id, Options: wamp.Dict{wamp.OptMode: mode}}
}

// leave says GOODBYE, closes the connection and waits until the router
// has let go. Calling it again does nothing.
func (wc *wireCaller) leave() {
	wc.mu.Lock()
	closed := wc.closed
	wc.closed = true
	wc.mu.Unlock()
	if closed {
		return
	}
	select {
	case wc.peer.Send() <- &wamp.Goodbye{Reason: wamp.CloseRealm, Details: wamp.Dict{}}:
		wc.await(nil, func(m wamp.Message) bool { _, ok := m.(*wamp.Goodbye); return ok }, 2*time.Second)
	case <-wc.gone:
	case <-time.After(2 * time.Second):
	}
	wc.peer.Close()
	select {
	case <-wc.gone:
	case <-time.After(5 * time.Second):
	}
}

// responses returns the messages received so far for call id.
func (wc *wireCaller) responses(id wamp.ID) []wamp.Message {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	var out []wamp.Message
	for _, m := range wc.msgs {
		switch m := m.(type) {
		case *wamp.Result:
			if m.Request == id {
				out = append(out, m)
			}
		case *wamp.Error:
			if m.Request == id {
				out = append(out, m)
			}
		}
	}
	return out
}

// await returns the first message received that matches, waiting up to
// timeout; nil when none came. t may be nil.
func (wc *wireCaller) await(t testing.TB, match func(wamp.Message) bool, timeout time.Duration) wamp.Message {
	find := func() wamp.Message {
		wc.mu.Lock()
		defer wc.mu.Unlock()
		for _, m := range wc.msgs {
			if match(m) {
				return m
			}
		}
		return nil
	}
	deadline := time.After(timeout)
	for {
		if m := find(); m != nil {
			return m
		}
		select {
		case <-wc.more:
			continue
		case <-wc.gone:
			if m := find(); m != nil {
				return m
			}
		case <-deadline:
		}
		if t != nil {
			t.Helper()
			t.Fatalf("no matching message within %v", timeout)
		}
		return nil
	}
}

// awaitError waits for the ERROR that ends call id.
func (wc *wireCaller) awaitError(t testing.TB, id wamp.ID, timeout time.Duration) *wamp.Error {
	t.Helper()
	m := wc.await(t, func(m wamp.Message) bool {
		e, ok := m.(*wamp.Error)
		return ok && e.Request == id
	}, timeout)
	return m.(*wamp.Error)
}

// responseTo returns the request ID a RESULT or ERROR answers, else 0.
func responseTo(m wamp.Message) wamp.ID {
	switch m := m.(type) {
	case *wamp.Result:
		return m.Request
	case *wamp.Error:
		return m.Request
	}
	return 0
}

// isFinal reports whether m ends a call: an ERROR or a RESULT without
// progress.
func isFinal(m wamp.Message) bool {
	switch m := m.(type) {
	case *wamp.Error:
		return true
	case *wamp.Result:
		p, _ := m.Details[wamp.OptProgress].(bool)
		return !p
	}
	return false
}

// cancelProbe is a streaming function that records what cancellation does
// to it: it sends a progressive result every millisecond until Send fails,
// then sends once more, waits lateReturn and returns 42, a value no
// caller may see.
type cancelProbe struct {
	lateReturn time.Duration

	started chan struct{} // closed after the first successful Send
	done    chan struct{} // closed when the function has returned

	// Set before done is closed.
	sent int
	// sentAfterDone is set when a Send begun after ctx was done succeeded;
	// the loop stops there.
	sentAfterDone bool
	sendErr       error // the error that stopped the loop
	ctxDoneAtErr  bool  // whether ctx was done when Send returned sendErr
	againErr      error // a Send after that
	ctxErr        error
}

func newCancelProbe(lateReturn time.Duration) *cancelProbe {
	return &cancelProbe{
		lateReturn: lateReturn,
		started:    make(chan struct{}),
		done:       make(chan struct{}),
	}
}

func (p *cancelProbe) fn(ctx context.Context, sink ProgressSink[int]) (int, error) {
	defer close(p.done)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		doneBefore := ctx.Err() != nil
		err := sink.Send(p.sent)
		if err != nil {
			p.sendErr = err
			p.ctxDoneAtErr = ctx.Err() != nil
			break
		}
		if doneBefore {
			p.sentAfterDone = true
			break
		}
		if p.sent++; p.sent == 1 {
			close(p.started)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	p.againErr = sink.Send(-1)
	p.ctxErr = ctx.Err()
	time.Sleep(p.lateReturn)
	return 42, nil
}

// check asserts what the function saw, in order and outcome, not speed:
// it returned; its ctx ended with wantCtxErr; no Send begun after that
// succeeded; the Send that failed failed with an error wrapping it, once
// ctx was done; and a Send after that failed too.
func (p *cancelProbe) check(t *testing.T, wantCtxErr error) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the function is still running 10s after the call ended")
	}
	require.ErrorIs(t, p.ctxErr, wantCtxErr)
	require.False(t, p.sentAfterDone, "Send succeeded though the context was already done")
	require.ErrorIs(t, p.sendErr, wantCtxErr, "Send's error must wrap the context's")
	require.True(t, p.ctxDoneAtErr, "Send failed though the context was not done")
	require.ErrorIs(t, p.againErr, wantCtxErr, "Send after cancellation must fail")
	require.Positive(t, p.sent)
}

type cancelCase struct {
	name         string
	registerOpts wamp.Dict
	callOpts     wamp.Dict
	// trigger ends the call early once the function is streaming; nil
	// for a timeout. cancelMode is for the nexus caller: the mode for
	// SetCallCancelMode before it cancels the call's ctx, or "leave" to
	// close the caller.
	wireTrigger func(wc *wireCaller, id wamp.ID)
	cancelMode  string
	wantURI     wamp.URI // on the wire; "" when the caller is gone
	wantArgs    wamp.List
	wantCtxErr  error
}

// cancelTimeoutMS is the call timeout of the timeout cases. The test
// waits for a progressive result before the call ends, so the timeout must
// leave the call time to start streaming on a slow, loaded machine (under
// -race on 2 cores): no less than a second.
const cancelTimeoutMS = 1000

var cancelCases = []cancelCase{
	{
		name:        "kill",
		wireTrigger: func(wc *wireCaller, id wamp.ID) { wc.cancel(id, wamp.CancelModeKill) },
		cancelMode:  wamp.CancelModeKill,
		wantURI:     wamp.ErrCanceled,
		wantCtxErr:  context.Canceled,
	},
	{
		name:        "killnowait",
		wireTrigger: func(wc *wireCaller, id wamp.ID) { wc.cancel(id, wamp.CancelModeKillNoWait) },
		cancelMode:  wamp.CancelModeKillNoWait,
		wantURI:     wamp.ErrCanceled,
		wantCtxErr:  context.Canceled,
	},
	{
		name:        "skip",
		wireTrigger: func(wc *wireCaller, id wamp.ID) { wc.cancel(id, wamp.CancelModeSkip) },
		cancelMode:  wamp.CancelModeSkip,
		wantURI:     wamp.ErrCanceled,
		wantCtxErr:  context.Canceled,
	},
	{
		name:        "caller leaves",
		wireTrigger: func(wc *wireCaller, _ wamp.ID) { wc.leave() },
		cancelMode:  "leave",
		wantCtxErr:  context.Canceled,
	},
	{
		name:         "timeout forwarded",
		registerOpts: wamp.Dict{wamp.OptForwardTimeout: true},
		callOpts:     wamp.Dict{wamp.OptTimeout: cancelTimeoutMS},
		wantURI:      wamp.ErrCanceled,
		wantCtxErr:   context.DeadlineExceeded,
	},
	{
		name:       "timeout at router",
		callOpts:   wamp.Dict{wamp.OptTimeout: cancelTimeoutMS},
		wantURI:    wamp.ErrTimeout,
		wantArgs:   wamp.List{"call timeout"},
		wantCtxErr: context.Canceled,
	},
}

func TestCancelWire(t *testing.T) {
	for _, tc := range cancelCases {
		for _, via := range transports {
			t.Run(tc.name+"/"+via.String(), func(t *testing.T) {
				leakCheck(t)
				tr := wampfntest.NewRouter(t)
				callee := tr.Connect(t, via)
				probe := newCancelProbe(50 * time.Millisecond)
				const proc = "wampfn.test.cancel"
				require.NoError(t, Register(callee, proc, probe.fn, WithRegisterOptions(tc.registerOpts)))
				wc := dialWire(t, tr, via)
				callGoroutines := goleak.IgnoreCurrent()

				id := wc.call(proc, tc.callOpts)
				// Mid-stream: the caller has had a progressive result.
				wc.await(t, func(m wamp.Message) bool {
					r, ok := m.(*wamp.Result)
					return ok && r.Request == id && r.Details[wamp.OptProgress] == true
				}, 5*time.Second)
				if tc.wireTrigger != nil {
					tc.wireTrigger(wc, id)
				}
				if tc.wantURI != "" {
					e := wc.awaitError(t, id, 5*time.Second)
					require.Equal(t, tc.wantURI, e.Error, "ERROR URI")
					if tc.wantArgs != nil {
						require.Equal(t, tc.wantArgs, e.Arguments)
					}
				}
				probe.check(t, tc.wantCtxErr)

				// The late return (42) must not reach the caller, and
				// nothing may follow the ERROR.
				time.Sleep(100 * time.Millisecond)
				if tc.wantURI != "" {
					resp := wc.responses(id)
					require.NotEmpty(t, resp)
					last := resp[len(resp)-1]
					require.IsType(t, &wamp.Error{}, last, "the ERROR must be the last message of the call")
					for _, m := range resp[:len(resp)-1] {
						require.False(t, isFinal(m), "final message before the ERROR: %#v", m)
					}
				}
				goleak.VerifyNone(t, callGoroutines)
			})
		}
	}
}

func TestCancelNexusCaller(t *testing.T) {
	for _, tc := range cancelCases {
		for _, via := range transports {
			t.Run(tc.name+"/"+via.String(), func(t *testing.T) {
				leakCheck(t)
				tr := wampfntest.NewRouter(t)
				callee := tr.Connect(t, via)
				probe := newCancelProbe(50 * time.Millisecond)
				const proc = "wampfn.test.cancel"
				require.NoError(t, Register(callee, proc, probe.fn, WithRegisterOptions(tc.registerOpts)))
				caller := tr.Connect(t, via)
				if tc.cancelMode != "" && tc.cancelMode != "leave" {
					require.NoError(t, caller.SetCallCancelMode(tc.cancelMode))
				}
				callGoroutines := goleak.IgnoreCurrent()

				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				type outcome struct {
					res *wamp.Result
					err error
				}
				got := make(chan outcome, 1)
				var progress atomic.Int64
				go func() {
					res, err := caller.Call(ctx, proc, tc.callOpts, nil, nil, func(*wamp.Result) { progress.Add(1) })
					got <- outcome{res, err}
				}()
				// Mid-stream: the caller has had a progressive result.
				require.Eventually(t, func() bool { return progress.Load() > 0 }, 5*time.Second, time.Millisecond,
					"the caller got no progressive result")
				switch tc.cancelMode {
				case "":
				case "leave":
					require.NoError(t, caller.Close())
				default:
					cancel()
				}
				var out outcome
				select {
				case out = <-got:
				case <-time.After(5 * time.Second):
					t.Fatal("Call did not return")
				}
				require.Nil(t, out.res, "the caller must not get a result")
				switch {
				case tc.cancelMode == "leave":
					require.ErrorIs(t, out.err, client.ErrNotConn)
				case tc.cancelMode != "":
					require.ErrorIs(t, out.err, context.Canceled)
				default:
					require.Equal(t, tc.wantURI, callErr(t, out.err).Error)
				}
				probe.check(t, tc.wantCtxErr)
				goleak.VerifyNone(t, callGoroutines)
			})
		}
	}
}

// TestCancelDiscardsPromptReturn: a function that returns a value as soon
// as its context is done races nexus's own ERROR: nexus's invocation
// goroutine selects between the handler's result and ctx.Done, and sends
// the result when it picks that. wampfn answers a cancelled invocation
// with wamp.error.canceled whatever the function returned, so the caller
// gets the ERROR either way and never the value. (Without that, in kill
// mode the caller got the 42 within a few runs under -race.)
func TestCancelDiscardsPromptReturn(t *testing.T) {
	cases := []struct {
		name         string
		registerOpts wamp.Dict
		callOpts     wamp.Dict
		mode         string
		rounds       int
	}{
		{name: "kill", mode: wamp.CancelModeKill, rounds: 200},
		{name: "timeout forwarded", registerOpts: wamp.Dict{wamp.OptForwardTimeout: true}, callOpts: wamp.Dict{wamp.OptTimeout: 20}, rounds: 40},
	}
	for _, tc := range cases {
		for _, via := range []wampfntest.Transport{wampfntest.InProcess, wampfntest.JSON} {
			t.Run(tc.name+"/"+via.String(), func(t *testing.T) {
				leakCheck(t)
				tr := wampfntest.NewRouter(t)
				callee := tr.Connect(t, via)
				// started has a token for each run, whether or not its Send
				// succeeded: with a 20 ms timeout, a slow start may find the
				// call timed out already, and the caller then gets the
				// ERROR all the same.
				started := make(chan struct{}, 1)
				fn := func(ctx context.Context, sink ProgressSink[int]) (int, error) {
					err := sink.Send(1)
					started <- struct{}{}
					if err != nil {
						return 0, err
					}
					<-ctx.Done()
					return 42, nil
				}
				const proc = "wampfn.test.prompt"
				require.NoError(t, Register(callee, proc, fn, WithRegisterOptions(tc.registerOpts)))
				wc := dialWire(t, tr, via)
				rounds := tc.rounds
				if testing.Short() {
					rounds = 5
				}
				for range rounds {
					id := wc.call(proc, tc.callOpts)
					select {
					case <-started:
					case <-time.After(10 * time.Second):
						t.Fatalf("call %d: the function did not run within 10s", id)
					}
					if tc.mode != "" {
						wc.cancel(id, tc.mode)
					}
					end := wc.await(t, func(m wamp.Message) bool { return isFinal(m) && responseTo(m) == id }, 5*time.Second)
					if r, ok := end.(*wamp.Result); ok {
						t.Fatalf("call %d: the caller got the value returned after cancellation: %v", id, r.Arguments)
					}
					require.Equal(t, wamp.ErrCanceled, end.(*wamp.Error).Error)
				}
			})
		}
	}
}
