package wampfn

// Serving a call (stage 4, the innermost stage's first step): the
// concurrency slot of WithConcurrency.

import (
	"container/list"
	"context"
	"sync"
)

// A limiter lets at most n calls of a procedure run at once; the others
// wait in the order they arrived (see WithConcurrency). A waiting call
// holds one list element and one channel, about 150 bytes, besides the
// goroutine that nexus runs every invocation on.
type limiter struct {
	mu      sync.Mutex
	free    int        // slots not taken
	waiters *list.List // of chan struct{}, closed to hand a slot over
}

func newLimiter(n int) *limiter { return &limiter{free: n, waiters: list.New()} }

// acquire takes a slot, waiting for one in arrival order. When ctx ends
// first it leaves the queue at once and returns ctx.Err().
func (l *limiter) acquire(ctx context.Context) error {
	l.mu.Lock()
	if l.free > 0 && l.waiters.Len() == 0 {
		l.free--
		l.mu.Unlock()
		return nil
	}
	ready := make(chan struct{})
	e := l.waiters.PushBack(ready)
	l.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		select {
		case <-ready:
			// The slot was handed over as ctx ended: pass it on.
			l.mu.Unlock()
			l.release()
		default:
			l.waiters.Remove(e)
			l.mu.Unlock()
		}
		return ctx.Err()
	}
}

// release gives a slot back: to the call that has waited longest, if any.
func (l *limiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.waiters.Front(); e != nil {
		close(l.waiters.Remove(e).(chan struct{}))
		return
	}
	l.free++
}
