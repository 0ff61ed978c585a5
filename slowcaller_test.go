package wampfn

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// Slow caller: a caller whose progress handler is slow while the function
// sends as fast as it can. Nothing in the path buffers without bound, so
// Send blocks and the function runs at the caller's pace:
//
//   - the nexus caller reads its next message only when its progress
//     handler has returned;
//   - the router queues at most OutQueueSize (WebSocket) or LocalQueueSize
//     (in-process) messages for the caller, 64 by default; when that queue
//     is full, the dealer holds the callee's YIELD and retries it with
//     exponential backoff (1 ms, 2 ms, ...), reading nothing else from the
//     callee meanwhile;
//   - the callee's messages then stay in the callee's unbuffered send
//     channel, so SendProgress, and Send with it, blocks.
//
// Over a WebSocket the kernel's socket buffers hold some more messages,
// outside the Go heap.
//
// When the caller leaves, the dealer answers the next YIELD with an
// INTERRUPT: Send returns an error wrapping context.Canceled and the
// function stops. When the caller stays but stops reading, nexus gives up
// after about 65 s (dealer.go's one-minute sendResultDeadline, checked
// between retries that back off exponentially): it drops the result and
// cancels the call (killnowait), which also ends in context.Canceled. Its
// ERROR to the caller is dropped too, the caller's queue being full, so a
// nexus caller's Call never returns. TestSlowCallerRouterGivesUp shows it
// when WAMPFN_SLOW_DEADLINE=1.

const slowPayloadSize = 16 << 10

// slowSender sends one fresh 16 KiB progressive result after another
// until Send fails, counting them. Each payload is a new allocation, so
// results held anywhere in the process show in its heap.
type slowSender struct {
	sent    atomic.Int64
	sendErr error // set before done is closed
	done    chan struct{}
}

func (s *slowSender) fn(ctx context.Context, sink ProgressSink[string]) (int64, error) {
	defer close(s.done)
	for {
		if err := sink.Send(strings.Repeat("x", slowPayloadSize)); err != nil {
			s.sendErr = err
			return s.sent.Load(), err
		}
		s.sent.Add(1)
	}
}

// socketBufferMax returns the most a TCP connection's two socket buffers
// may hold on this machine (Linux autotuning limits), or 64 MiB.
func socketBufferMax() int64 {
	var total int64
	for _, f := range []string{"/proc/sys/net/ipv4/tcp_rmem", "/proc/sys/net/ipv4/tcp_wmem"} {
		b, err := os.ReadFile(f)
		fields := strings.Fields(string(b))
		if err != nil || len(fields) != 3 {
			return 64 << 20
		}
		n, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			return 64 << 20
		}
		total += n
	}
	return total
}

// waitStalled waits until n has not changed for 300 ms, failing the test
// after 10 s.
func waitStalled(t *testing.T, n *atomic.Int64) {
	last, since := n.Load(), time.Now()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		if cur := n.Load(); cur != last {
			last, since = cur, time.Now()
		} else if time.Since(since) >= 300*time.Millisecond {
			return
		}
	}
	t.Fatal("the function still sends 10s after its caller stopped reading")
}

func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestSlowCaller(t *testing.T) {
	run := 2 * time.Second
	if testing.Short() {
		run = 500 * time.Millisecond
	}
	for _, via := range transports {
		t.Run(via.String(), func(t *testing.T) {
			leakCheck(t)
			tr := wampfntest.NewRouter(t) // nexus's default queue: 64 messages
			callee := tr.Connect(t, via)
			sender := &slowSender{done: make(chan struct{})}
			const proc = "wampfn.test.flood"
			require.NoError(t, Register(callee, proc, sender.fn))
			caller := tr.Connect(t, via)
			baseHeap := heapAlloc()

			var received atomic.Int64
			var paused atomic.Bool
			resume := make(chan struct{})
			callDone := make(chan error, 1)
			go func() {
				_, err := caller.Call(context.Background(), proc, nil, nil, nil, func(*wamp.Result) {
					received.Add(1)
					time.Sleep(500 * time.Microsecond)
					if paused.Load() {
						<-resume
					}
				})
				callDone <- err
			}()

			// Sample sent and received while the caller reads slowly.
			var maxInFlight int64
			var sentMid, recvMid int64
			start := time.Now()
			for i := 1; time.Since(start) < run; i++ {
				time.Sleep(100 * time.Millisecond)
				s, r := sender.sent.Load(), received.Load()
				maxInFlight = max(maxInFlight, s-r)
				if i%5 == 0 {
					t.Logf("%5dms sent %6d received %6d in flight %5d", time.Since(start).Milliseconds(), s, r, s-r)
				}
				if time.Since(start) >= run/2 && sentMid == 0 {
					sentMid, recvMid = s, r
				}
			}
			sentEnd, recvEnd := sender.sent.Load(), received.Load()
			// The heap, with the caller stalled: the function is then
			// blocked in Send, so that nothing allocates while the
			// collector runs (a flood allocating during a long collection
			// would count as live), and the heap holds what the path
			// buffers.
			paused.Store(true)
			waitStalled(t, &sender.sent)
			heapGrowth := int64(heapAlloc()) - int64(baseHeap)
			close(resume)
			// Bounded buffering: in-process, the router's queue and a few
			// messages in hand; over a WebSocket also what the kernel's
			// socket buffers hold (two connections).
			bound := int64(64 + 16)
			if via != "inproc" {
				bound += 2 * socketBufferMax() / slowPayloadSize
			}
			t.Logf("max in flight %d messages (bound %d); heap growth %d KiB", maxInFlight, bound, heapGrowth>>10)

			require.Positive(t, recvEnd-recvMid, "the caller stopped receiving")
			require.LessOrEqual(t, maxInFlight, bound, "messages sent but not received")
			// The function runs at the caller's pace: in the second half,
			// once the buffers are full, it sends about what the caller
			// takes.
			require.LessOrEqual(t, sentEnd-sentMid, recvEnd-recvMid+bound, "the function was not slowed to the caller's pace")
			require.Less(t, heapGrowth, int64(32<<20), "the callee's heap grew without bound")

			// The caller leaves: Send, blocked, returns an error and the
			// function stops.
			left := time.Now()
			closed := make(chan error, 1)
			go func() { closed <- caller.Close() }()
			select {
			case <-sender.done:
			case <-time.After(10 * time.Second):
				t.Fatal("the function still runs 10s after its caller left")
			}
			t.Logf("the function stopped %v after the caller left, after %d sends", time.Since(left), sender.sent.Load())
			require.ErrorIs(t, sender.sendErr, context.Canceled)
			require.ErrorIs(t, <-callDone, client.ErrNotConn)
			<-closed
		})
	}
}

// TestSlowCallerRouterGivesUp shows what nexus does with a caller that
// stays connected but stops reading: after its one-minute deadline the
// dealer cancels the call and the function's blocked Send returns an
// error wrapping context.Canceled. It takes more than a minute, so it runs
// only with WAMPFN_SLOW_DEADLINE=1.
func TestSlowCallerRouterGivesUp(t *testing.T) {
	if os.Getenv("WAMPFN_SLOW_DEADLINE") != "1" {
		t.Skip("takes over a minute; set WAMPFN_SLOW_DEADLINE=1 to run")
	}
	leakCheck(t)
	tr := wampfntest.NewRouter(t)
	callee := tr.Connect(t, wampfntest.JSON)
	sender := &slowSender{done: make(chan struct{})}
	const proc = "wampfn.test.flood"
	require.NoError(t, Register(callee, proc, sender.fn))
	caller := tr.Connect(t, wampfntest.JSON)

	release := make(chan struct{})
	callDone := make(chan error, 1)
	go func() {
		_, err := caller.Call(context.Background(), proc, nil, nil, nil, func(*wamp.Result) { <-release })
		callDone <- err
	}()
	start := time.Now()
	select {
	case <-sender.done:
	case <-time.After(3 * time.Minute):
		t.Fatal("the function still runs after 3 minutes")
	}
	t.Logf("the router gave up after %v; %d sent", time.Since(start), sender.sent.Load())
	require.ErrorIs(t, sender.sendErr, context.Canceled)
	close(release)
	select {
	case err := <-callDone:
		var rpcErr client.RPCError
		if errors.As(err, &rpcErr) {
			t.Logf("the caller got %s", rpcErr.Err.Error)
		} else {
			t.Logf("the caller got %v", err)
		}
	case <-time.After(time.Minute):
		t.Log("the caller got no answer")
		caller.Close()
	}
}
