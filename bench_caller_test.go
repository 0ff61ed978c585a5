package wampfn

import (
	"context"
	"testing"

	"github.com/gammazero/nexus/v3/wamp"
)

// Benchmarks of the typed caller (Bind) against a hand-written
// client.Call with hand-written decoding of the result, calling the same
// callee (a wampfn procedure), side by side in one run; benchcmp reads them
// like the callee pairs. The hand-written side checks only what it must to
// use the value: it is the floor for any typed caller.

// benchHandInt decodes a result argument as an int the way a hand-written
// caller would: a type switch over what the serializers deliver.
func benchHandInt(v any) (int, bool) {
	switch x := v.(type) {
	case int64:
		return int(x), true
	case uint64:
		return int(x), true
	case int:
		return x, true
	case float64:
		return int(x), true
	}
	return 0, false
}

// BenchmarkBoundCall: one int argument and one int result; per call.
func BenchmarkBoundCall(b *testing.B) {
	for _, transport := range benchTransports {
		b.Run(transport, func(b *testing.B) {
			bp := newBenchPair(b, transport)
			if err := Register(bp.callee, "bench.bound.add", func(n int) int { return n + 1 }); err != nil {
				b.Fatal(err)
			}
			var add func(ctx context.Context, n int) (int, error)
			if err := Bind(bp.caller, "bench.bound.add", &add); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			benchRunPair(b, "", 0, 1, map[string]benchOp{
				"nexus": func(b *testing.B, i int) {
					res, err := bp.caller.Call(ctx, "bench.bound.add", nil, wamp.List{i}, nil, nil)
					if err != nil {
						b.Fatal(err)
					}
					if len(res.Arguments) != 1 {
						b.Fatalf("got %v", res.Arguments)
					}
					if n, ok := benchHandInt(res.Arguments[0]); !ok || n != i+1 {
						b.Fatalf("got %v, want %d", res.Arguments[0], i+1)
					}
				},
				"wampfn": func(b *testing.B, i int) {
					n, err := add(ctx, i)
					if err != nil || n != i+1 {
						b.Fatalf("got %d, %v, want %d", n, err, i+1)
					}
				},
			})
		})
	}
}

// BenchmarkBoundStream: one call, benchStreamLen progressive int results
// received by a progress func; per result.
func BenchmarkBoundStream(b *testing.B) {
	for _, transport := range benchTransports {
		b.Run(transport, func(b *testing.B) {
			bp := newBenchPair(b, transport)
			err := Register(bp.callee, "bench.bound.stream", func(n int, sink ProgressSink[int]) error {
				for i := range n {
					if err := sink.Send(i); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			var stream func(ctx context.Context, n int, progress func(int)) error
			if err := Bind(bp.caller, "bench.bound.stream", &stream); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var sum, want int
			for i := range benchStreamLen {
				want += i
			}
			onProgress := func(i int) { sum += i }
			benchRunPair(b, "result", benchStreamLen, 1, map[string]benchOp{
				"nexus": func(b *testing.B, _ int) {
					sum = 0
					var bad bool
					_, err := bp.caller.Call(ctx, "bench.bound.stream", nil, wamp.List{benchStreamLen}, nil, func(r *wamp.Result) {
						if len(r.Arguments) != 1 {
							bad = true
							return
						}
						n, ok := benchHandInt(r.Arguments[0])
						bad = bad || !ok
						onProgress(n)
					})
					if err != nil || bad || sum != want {
						b.Fatalf("got sum %d, %v (bad %v), want %d", sum, err, bad, want)
					}
				},
				"wampfn": func(b *testing.B, _ int) {
					sum = 0
					if err := stream(ctx, benchStreamLen, onProgress); err != nil || sum != want {
						b.Fatalf("got sum %d, %v, want %d", sum, err, want)
					}
				},
			})
		})
	}
}
