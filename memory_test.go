package wampfn

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// memStreamN is how many progressive results TestMemoryStreamBounded
// streams: WAMPFN_MEMTEST_N if set, else 1,000,000 (about 6 s of CPU),
// or 200,000 under the race detector, where each result costs about five
// times as much and CI's run would take a minute.
func memStreamN(t *testing.T) int {
	if s := os.Getenv("WAMPFN_MEMTEST_N"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "WAMPFN_MEMTEST_N")
		require.Positive(t, n, "WAMPFN_MEMTEST_N")
		return n
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				return 200_000
			}
		}
	}
	return 1_000_000
}

// memLiveHeap returns the bytes of live heap objects, after a full GC.
func memLiveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestMemoryStreamBounded streams memStreamN progressive results, as fast
// as the function can send them, to a caller that stalls regularly, all
// in one process (router, caller and callee: in-process nexus clients).
// wampfn buffers nothing of its own and nexus's queues are bounded, so
// the function is held back by the caller (Send blocks) and the live
// heap stays flat however many results go through. The test measures the
// live heap before the call, every memStreamN/10 results while it runs,
// and after it, and how many results were sent but not yet received.
// These bounds do not depend on the machine's speed.
func TestMemoryStreamBounded(t *testing.T) {
	n := memStreamN(t)
	const (
		heapBound  = 8 << 20 // live heap growth allowed while streaming
		afterBound = 1 << 20 // and after the call
		// The router queues at most callerQueue messages for the caller.
		// nexus's dealer retries a YIELD that finds the queue full after
		// 1 ms, then 2 ms, 4 ms...: a queue that holds more than a
		// millisecond of the caller's work keeps the caller busy
		// meanwhile, so that the test's time goes to streaming, not to
		// waiting for retries (nexus's default, 64, made it up to twice
		// as slow under -race).
		callerQueue   = 1024
		inFlightBound = callerQueue + 64 // results sent and not yet received
		stallEvery    = 10_000           // the caller stalls every stallEvery results
		stall         = 5 * time.Millisecond
	)
	r := wampfntest.NewRouter(t)
	connect := func(queue int) *client.Client {
		return r.Connect(t, wampfntest.InProcess, wampfntest.WithClientConfig(func(cfg *client.Config) { cfg.LocalQueueSize = queue }))
	}
	callee, caller := connect(0), connect(callerQueue)

	var sent, received atomic.Int64
	require.NoError(t, Register(callee, "wampfn.memtest.stream", func(ctx context.Context, n int, sink ProgressSink[int]) (int, error) {
		for i := range n {
			if err := sink.Send(i); err != nil {
				return 0, err
			}
			sent.Add(1)
		}
		return n, nil
	}))

	// Warm up: the first call builds what every call shares (plans,
	// the router's and clients' structures, goroutine stacks).
	_, err := caller.Call(context.Background(), "wampfn.memtest.stream", nil, wamp.List{1000}, nil, func(*wamp.Result) {})
	require.NoError(t, err)
	sent.Store(0)

	before := memLiveHeap()
	// The progress handler runs on the client's goroutine: it records what
	// it sees, and the test asserts on it once Call has returned (nexus
	// calls no handler after Call returns).
	var maxHeap, maxInFlight int64
	var outOfOrder int64 // progressive results that were not the next value
	var firstBad string  // the first of them
	sample := int64(max(n/10, 1))
	start := time.Now()
	res, err := caller.Call(context.Background(), "wampfn.memtest.stream", nil, wamp.List{n}, nil, func(r *wamp.Result) {
		got := received.Add(1)
		var v int64
		ok := len(r.Arguments) == 1
		if ok {
			v, ok = wamp.AsInt64(r.Arguments[0])
		}
		if !ok || v != got-1 {
			if outOfOrder++; outOfOrder == 1 {
				firstBad = fmt.Sprintf("progressive result %d is %v", got-1, r.Arguments)
			}
		}
		maxInFlight = max(maxInFlight, sent.Load()-got)
		if got%sample == 0 {
			h := memLiveHeap()
			maxHeap = max(maxHeap, h)
			t.Logf("%8d results, %6.2fs: live heap %+6d KiB, in flight %d", got, time.Since(start).Seconds(), (h-before)>>10, sent.Load()-got)
		}
		if got%stallEvery == 0 {
			time.Sleep(stall)
		}
	})
	require.NoError(t, err)
	elapsed := time.Since(start)
	after := memLiveHeap()
	require.Zero(t, outOfOrder, "progressive results out of order, the first: %s", firstBad)
	require.Equal(t, wamp.List{n}, res.Arguments)
	require.EqualValues(t, n, received.Load())

	t.Logf("%d results in %v (%.2f µs each): live heap before %d KiB, max growth %+d KiB, after %+d KiB; max in flight %d",
		n, elapsed.Round(time.Millisecond), float64(elapsed.Microseconds())/float64(n),
		before>>10, (maxHeap-before)>>10, (after-before)>>10, maxInFlight)
	require.Less(t, maxHeap-before, int64(heapBound), "the live heap grew while streaming")
	require.Less(t, after-before, int64(afterBound), "the live heap grew over the call")
	require.LessOrEqual(t, maxInFlight, int64(inFlightBound), "results sent but not received: something buffers")
}
