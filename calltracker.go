package wampfn

// Serving a call (stage 2), for a Service: the calls in flight, which a
// graceful shutdown waits for and cancels.

import (
	"context"
	"sync"
)

// callTracker keeps the calls in flight, from the start of the function
// until nexus has queued its answer, so that a graceful shutdown can wait
// for them and cancel them.
type callTracker struct {
	mu        sync.Mutex
	calls     map[*trackedCall]struct{}
	empty     chan struct{} // closed when calls becomes empty; nil while it is
	running   int           // functions that have not returned
	fnsDone   chan struct{} // closed when running becomes 0; nil while it is
	cancelled bool          // cancelAll was called: later calls start cancelled
}

type trackedCall struct{ cancel context.CancelFunc }

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (t *callTracker) start(parent context.Context) (*trackedCall, context.Context) {
	ctx, cancel := context.WithCancel(parent)
	call := &trackedCall{cancel: cancel}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cancelled {
		cancel()
	}
	if t.calls == nil {
		t.calls = map[*trackedCall]struct{}{}
	}
	if len(t.calls) == 0 {
		t.empty = make(chan struct{})
	}
	t.calls[call] = struct{}{}
	if t.running == 0 {
		t.fnsDone = make(chan struct{})
	}
	t.running++
	return call, ctx
}

// returned is called when the function has returned. nexus sends the
// answer and only then cancels parent, the invocation's context: the call
// ends there, so that closing the client after idle cannot overtake the
// answer.
func (t *callTracker) returned(parent context.Context, call *trackedCall) {
	call.cancel()
	t.mu.Lock()
	t.running--
	if t.running == 0 {
		close(t.fnsDone)
		t.fnsDone = nil
	}
	t.mu.Unlock()
	context.AfterFunc(parent, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.calls, call)
		if len(t.calls) == 0 && t.empty != nil {
			close(t.empty)
			t.empty = nil
		}
	})
}

// idle returns a channel that is closed when no call is in flight.
func (t *callTracker) idle() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.calls) == 0 {
		return closedChan
	}
	return t.empty
}

// fnsReturned returns a channel that is closed when every function has
// returned (their answers may not be sent yet).
func (t *callTracker) fnsReturned() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.running == 0 {
		return closedChan
	}
	return t.fnsDone
}

// cancelAll cancels the contexts of the calls in flight and of every call
// that starts later.
func (t *callTracker) cancelAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cancelled = true
	for call := range t.calls {
		call.cancel()
	}
}
