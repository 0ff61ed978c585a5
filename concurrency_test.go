package wampfn

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// waiting returns how many calls wait for a slot.
func (l *limiter) waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waiters.Len()
}

// WithConcurrency(2): two calls run, the others wait in arrival order, and
// a waiting call whose caller cancels leaves the queue at once.
func TestConcurrencyLimit(t *testing.T) {
	for _, transport := range interceptorTransports {
		t.Run(transport.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t)
			callee := tr.Connect(t, wampfntest.InProcess)
			caller := tr.Connect(t, transport)

			var mu sync.Mutex
			var started []int
			running, maxRunning := 0, 0
			gates := map[int]chan struct{}{}
			for i := range 5 {
				gates[i] = make(chan struct{})
			}
			startedCh := make(chan int, 5)
			fn := func(ctx context.Context, i int) int {
				mu.Lock()
				started = append(started, i)
				running++
				maxRunning = max(maxRunning, running)
				mu.Unlock()
				startedCh <- i
				select {
				case <-gates[i]:
				case <-ctx.Done():
				}
				mu.Lock()
				running--
				mu.Unlock()
				return i
			}
			rec := &recorder{}
			p, err := newProcedure("test.limited", fn, []Option{WithConcurrency(2), WithInterceptors(rec.tracing("log"))})
			require.NoError(t, err)
			require.NoError(t, callee.Register(p.name, p.handler(callee, nil), p.registerOpts))

			type outcome struct {
				i   int
				err error
			}
			results := make(chan outcome, 5)
			cancels := map[int]context.CancelFunc{}
			call := func(i int) {
				ctx, cancel := context.WithCancel(t.Context())
				cancels[i] = cancel
				go func() {
					_, err := caller.Call(ctx, "test.limited", nil, wamp.List{i}, nil, nil)
					results <- outcome{i, err}
				}()
			}
			awaitWaiting := func(n int) {
				require.Eventually(t, func() bool { return p.limit.waiting() == n }, 10*time.Second, time.Millisecond,
					"want %d waiting, have %d", n, p.limit.waiting())
			}
			call(0)
			require.Equal(t, 0, <-startedCh)
			call(1)
			require.Equal(t, 1, <-startedCh)
			for i := 2; i <= 4; i++ {
				call(i)
				awaitWaiting(i - 1)
			}
			// Call 3 is cancelled while it waits: it leaves the queue.
			cancels[3]()
			awaitWaiting(2)
			// Slots go to the waiters in arrival order.
			close(gates[0])
			require.Equal(t, 2, <-startedCh)
			close(gates[1])
			require.Equal(t, 4, <-startedCh)
			close(gates[2])
			close(gates[4])

			got := map[int]error{}
			for range 5 {
				o := <-results
				got[o.i] = o.err
			}
			for _, i := range []int{0, 1, 2, 4} {
				require.NoError(t, got[i], "call %d", i)
			}
			require.ErrorIs(t, got[3], context.Canceled)
			mu.Lock()
			require.Equal(t, []int{0, 1, 2, 4}, started, "call 3 never ran")
			require.Equal(t, 2, maxRunning)
			mu.Unlock()
			// The interceptor saw the waiter's cancellation as its outcome.
			require.Eventually(t, func() bool {
				for _, s := range rec.all() {
					if s == "log after outcome=wamp.error.canceled panic=false canceled=true" {
						return true
					}
				}
				return false
			}, 5*time.Second, time.Millisecond, "%v", rec.all())
			for _, cancel := range cancels {
				cancel()
			}
		})
	}
	t.Run("n below 1", func(t *testing.T) {
		tr := wampfntest.NewRouter(t)
		c := tr.Connect(t, wampfntest.InProcess)
		for _, n := range []int{0, -1} {
			err := Register(c, "test.limited.bad", func() {}, WithConcurrency(n))
			require.EqualError(t, err, fmt.Sprintf("wampfn: register test.limited.bad: WithConcurrency(%d): want at least 1", n))
			_, err = Handler(c, func() {}, WithConcurrency(n))
			require.EqualError(t, err, fmt.Sprintf("wampfn: handler: WithConcurrency(%d): want at least 1", n))
		}
	})
}
