package wampfn

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
	"go.uber.org/goleak"
)

// Load: many concurrent calls, each streaming progressive results, over
// each transport. Every caller gets exactly its own results, in order,
// none lost, none crossed, then the final result; afterwards the
// process's goroutines and heap are back at their baseline.
//
// Sizes: WAMPFN_LOAD_CALLS concurrent calls (default 1000; 50 with
// -short), each streaming WAMPFN_LOAD_RESULTS results (default 100; 20
// with -short), from loadCallers caller sessions to one callee session.
//
// Queues: the nexus dealer sends an INVOCATION only if the callee's
// outbound queue has room, else the caller gets wamp.error.network_failure
// ("callee blocked"); and it holds a callee's YIELD, and every later
// message of that callee, while the caller's queue is full. So every
// router-to-client queue is sized to hold one message per concurrent
// call, plus 64: router.WebsocketServer.OutQueueSize for WebSocket
// clients and client.Config.LocalQueueSize for in-process ones. (nexus
// has no realm-level queue; the client's own send queue is unbuffered.)

const loadCallers = 8

func loadSize(t *testing.T, env string, full, short int) int {
	t.Helper()
	if s := os.Getenv(env); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "%s=%q", env, s)
		require.Positive(t, n, "%s", env)
		return n
	}
	if testing.Short() {
		return short
	}
	return full
}

// localQueue sets an in-process client's router-to-client queue to queue
// messages (a WebSocket client's is the router's WithOutQueueSize).
func localQueue(queue int) wampfntest.ConnectOption {
	return wampfntest.WithClientConfig(func(cfg *client.Config) { cfg.LocalQueueSize = queue })
}

func TestLoad(t *testing.T) {
	calls := loadSize(t, "WAMPFN_LOAD_CALLS", 1000, 50)
	results := loadSize(t, "WAMPFN_LOAD_RESULTS", 100, 20)
	queue := calls + 64
	t.Logf("%d concurrent calls x %d progressive results; router queues %d messages", calls, results, queue)

	stream := func(ctx context.Context, id, n int, sink ProgressSink[int]) (int, error) {
		for seq := range n {
			if err := sink.Send(id*n + seq); err != nil {
				return seq, err
			}
		}
		return n, nil
	}

	for _, via := range transports {
		t.Run(via.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t, wampfntest.WithOutQueueSize(queue))
			callee := tr.Connect(t, via, localQueue(queue))
			const proc = "wampfn.test.stream"
			require.NoError(t, Register(callee, proc, stream))
			callers := make([]*client.Client, loadCallers)
			for i := range callers {
				callers[i] = tr.Connect(t, via, localQueue(queue))
			}
			warmGoroutines(6 * calls)
			baseGoroutines := goleak.IgnoreCurrent()
			baseHeap := heapAlloc()

			start := time.Now()
			errs := make([]error, calls)
			var wg sync.WaitGroup
			for id := range calls {
				wg.Go(func() { errs[id] = loadCall(callers[id%loadCallers], proc, id, results) })
			}
			wg.Wait()
			elapsed := time.Since(start)
			failed := 0
			for id, err := range errs {
				if err != nil {
					if failed++; failed <= 5 {
						t.Errorf("call %d: %v", id, err)
					}
				}
			}
			require.Zero(t, failed, "of %d calls", calls)
			t.Logf("%s: %d calls x %d results in %v (%.0f results/s)", via, calls, results,
				elapsed.Round(time.Millisecond), float64(calls*results)/elapsed.Seconds())

			// Back to baseline: no goroutine of the calls is left, and the
			// heap holds nothing of them. The slack is for maps in the
			// dealer and the clients, which keep their grown size.
			goleak.VerifyNone(t, baseGoroutines)
			heap := heapAlloc()
			slack := uint64(1<<20 + calls*256)
			t.Logf("heap: baseline %d KiB, after %d KiB", baseHeap>>10, heap>>10)
			require.LessOrEqual(t, heap, baseHeap+slack, "the heap did not return to its baseline")
		})
	}
}

// warmGoroutines starts n goroutines and lets them exit. The runtime
// keeps the descriptor of every exited goroutine for reuse and never frees
// it, so a load that runs thousands of goroutines at once grows the heap
// by some hundred bytes each, once; warming first keeps that out of the
// comparison with the baseline.
func warmGoroutines(n int) {
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { <-release })
	}
	close(release)
	wg.Wait()
}

// loadCall calls proc for call id and checks that it gets exactly the
// results id*n ... id*n+n-1, in order, then the final result n.
func loadCall(c *client.Client, proc string, id, n int) error {
	got := make([]int64, 0, n)
	var bad error
	res, err := c.Call(context.Background(), proc, nil, wamp.List{id, n}, nil, func(r *wamp.Result) {
		if len(r.Arguments) != 1 {
			bad = fmt.Errorf("progressive result %d: %d arguments", len(got), len(r.Arguments))
			return
		}
		v, ok := wamp.AsInt64(r.Arguments[0])
		if !ok {
			bad = fmt.Errorf("progressive result %d: %T %v", len(got), r.Arguments[0], r.Arguments[0])
		}
		got = append(got, v)
	})
	if err != nil {
		return err
	}
	if bad != nil {
		return bad
	}
	if len(got) != n {
		return fmt.Errorf("got %d progressive results, want %d", len(got), n)
	}
	for seq, v := range got {
		if want := int64(id*n + seq); v != want {
			return fmt.Errorf("progressive result %d is %d, want %d (call %d's)", seq, v, want, v/int64(n))
		}
	}
	if len(res.Arguments) != 1 {
		return fmt.Errorf("final result: %v", res.Arguments)
	}
	if v, _ := wamp.AsInt64(res.Arguments[0]); v != int64(n) {
		return fmt.Errorf("final result %v, want %d", res.Arguments[0], n)
	}
	return nil
}
