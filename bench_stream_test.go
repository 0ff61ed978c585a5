package wampfn

import (
	"context"
	"errors"
	"iter"
	"sync"
	"testing"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// Benchmarks of streams against hand-written nexus code doing the same,
// side by side in one run: an input stream (progressive call
// invocations) into an InputStream, and an iterator result.

// benchInputLen is the number of values per input-stream call. The
// router's queues are sized for it: a caller sending as fast as it can
// overflows nexus's default 64 (see docs/streams.md).
const benchInputLen = 1000

// BenchmarkInputStream: one call whose caller streams benchInputLen ints,
// one per chunk, summed by the callee; per value. The hand-written
// handler keeps each call's sum in a map by request ID and answers on the
// final chunk.
func BenchmarkInputStream(b *testing.B) {
	for _, transport := range benchTransports {
		b.Run(transport, func(b *testing.B) {
			bp := newBenchPairQueue(b, transport, benchInputLen+64)
			var mu sync.Mutex
			sums := map[wamp.ID]int64{}
			hand := func(ctx context.Context, inv *wamp.Invocation) client.InvokeResult {
				var v int64
				if len(inv.Arguments) == 1 {
					n, ok := benchHandInt(inv.Arguments[0])
					if !ok {
						return client.InvokeResult{Err: wamp.ErrInvalidArgument}
					}
					v = int64(n)
				}
				mu.Lock()
				sum := sums[inv.Request] + v
				if progress, _ := inv.Details[wamp.OptProgress].(bool); progress {
					sums[inv.Request] = sum
					mu.Unlock()
					return client.InvokeResult{Err: wamp.InternalProgressiveOmitResult}
				}
				delete(sums, inv.Request)
				mu.Unlock()
				return client.InvokeResult{Args: wamp.List{sum}}
			}
			bp.register(b, "bench.input", hand, func(in InputStream[int]) (int, error) {
				sum := 0
				for v, err := range in.All() {
					if err != nil {
						return 0, err
					}
					sum += v
				}
				return sum, nil
			}, WithInputBuffer(benchInputLen)) // a burst may outrun the function
			want := int64(benchInputLen * (benchInputLen + 1) / 2)
			call := func(uri string) benchOp {
				return func(b *testing.B, _ int) {
					i := 0
					res, err := bp.caller.CallProgressive(context.Background(), uri, func(context.Context) (wamp.Dict, wamp.List, wamp.Dict, error) {
						if i == benchInputLen {
							return nil, nil, nil, errors.New("the call is over")
						}
						i++
						return wamp.Dict{wamp.OptProgress: i < benchInputLen}, wamp.List{i}, nil, nil
					}, nil)
					if err != nil {
						b.Fatal(err)
					}
					if n, _ := benchHandInt(res.Arguments[0]); int64(n) != want {
						b.Fatalf("got %v, want %d", res.Arguments, want)
					}
				}
			}
			benchRunPair(b, "value", benchInputLen, 1, map[string]benchOp{
				"nexus": call("bench.input.nexus"), "wampfn": call("bench.input.wampfn"),
			})
		})
	}
}

// BenchmarkIterResult: one call whose function returns an iter.Seq of
// benchStreamLen ints, each a progressive result, against a hand-written
// SendProgress loop; per result.
func BenchmarkIterResult(b *testing.B) {
	for _, transport := range benchTransports {
		b.Run(transport, func(b *testing.B) {
			bp := newBenchPair(b, transport)
			bp.register(b, "bench.iter", bp.handStream,
				func(n int) iter.Seq[int] {
					return func(yield func(int) bool) {
						for i := range n {
							if !yield(i) {
								return
							}
						}
					}
				})
			benchRunPair(b, "result", benchStreamLen, 1, map[string]benchOp{
				"nexus": bp.streamCall("bench.iter.nexus"), "wampfn": bp.streamCall("bench.iter.wampfn"),
			})
		})
	}
}
