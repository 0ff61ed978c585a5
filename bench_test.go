package wampfn

// Benchmarks of wampfn against a hand-written nexus handler doing the same
// work, run side by side in one run (issue 4). Each figure is a pair of
// sub-benchmarks, .../nexus and .../wampfn, under one parent that sets up
// the router and clients once for both, and a third, .../interleaved,
// that alternates the two call by call and times each apart (see
// benchRunPair). internal/cmd/benchcmp runs them and prints the medians
// and ratios:
//
//	go run ./internal/cmd/benchcmp
//
// Figures: Stream (one call, 1,000 progressive results; per result),
// SmallCall (one int argument, one progressive result, final result; per
// call), Drop (the caller did not ask for progress, the function sends
// 1,000 values; per call), DropSend (one dropped Send, wampfn alone) and
// Decode (the arguments of a realistic signature, decoding alone).
//
// Transports: "inproc" (client.ConnectLocal, Go values as sent) and
// "msgpack" (a loopback WebSocket with MessagePack). The clients are
// nexus's own, so both sides of every pair pay the same router, caller
// and serializer costs; the difference is the wrapper's.
//
// These are benchmarks, not timed tests: nothing here fails because the
// machine is slow.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/wampfn/wampfn/wampfntest"
)

// benchTransports are the transports every end-to-end pair runs on.
var benchTransports = []string{"inproc", "msgpack"}

// benchPair is a caller and a callee joined to one router.
type benchPair struct {
	caller, callee *client.Client
}

// newBenchPair starts a router (in-process and on a loopback WebSocket)
// and connects a caller and a callee over transport; all is closed at
// cleanup.
func newBenchPair(b *testing.B, transport string) *benchPair {
	return newBenchPairQueue(b, transport, 0)
}

// newBenchPairQueue is newBenchPair with the router's per-session queues
// (WebSocket OutQueueSize, in-process LocalQueueSize) sized for queue
// messages in flight; 0 keeps nexus's default, 64.
func newBenchPairQueue(b *testing.B, transport string, queue int) *benchPair {
	b.Helper()
	r := wampfntest.NewRouter(b, wampfntest.WithOutQueueSize(queue))
	local := wampfntest.WithClientConfig(func(cfg *client.Config) { cfg.LocalQueueSize = queue })
	tr := wampfntest.Transport(transport)
	return &benchPair{caller: r.Connect(b, tr, local), callee: r.Connect(b, tr, local)}
}

// register registers the hand-written handler as proc+".nexus" and fn
// with wampfn as proc+".wampfn".
func (bp *benchPair) register(b *testing.B, proc string, h client.InvocationHandler, fn any, opts ...Option) {
	b.Helper()
	if err := bp.callee.Register(proc+".nexus", h, nil); err != nil {
		b.Fatal(err)
	}
	if err := Register(bp.callee, proc+".wampfn", fn, opts...); err != nil {
		b.Fatal(err)
	}
}

// A benchOp does op number i of a benchmark's work on one side of a
// pair, failing b if the result is wrong.
type benchOp func(b *testing.B, i int)

// benchOrder is the order in which the two sides of a pair run: nexus
// first, or wampfn first when WAMPFN_BENCH_REVERSE is set (benchcmp
// alternates it between rounds, so that running second is nobody's bias).
func benchOrder(sides [2]string) [2]string {
	if os.Getenv("WAMPFN_BENCH_REVERSE") != "" {
		return [2]string{sides[1], sides[0]}
	}
	return sides
}

// benchSides are the two sides of most pairs: the hand-written nexus
// handler, the baseline, and wampfn.
var benchSides = [2]string{"nexus", "wampfn"}

// benchRunPair runs the sub-benchmarks nexus and wampfn, each doing its
// op b.N times; per > 0 says how many units of work (results, say) one
// op is, for figures per unit. Then it runs "interleaved", which
// alternates the two sides every block ops and times each side apart,
// reporting nexus-ns/UNIT and wampfn-ns/UNIT: a burst of load from
// elsewhere on the machine then slows both sides alike.
func benchRunPair(b *testing.B, unit string, per float64, block int, ops map[string]benchOp) {
	benchRunSides(b, benchSides, unit, per, block, ops)
}

// benchRunSides is benchRunPair with other names for the baseline and the
// subject: sides[0] and sides[1], the keys of ops.
func benchRunSides(b *testing.B, sides [2]string, unit string, per float64, block int, ops map[string]benchOp) {
	for _, side := range benchOrder(sides) {
		b.Run(side, func(b *testing.B) {
			op := ops[side]
			m := startMeter(b)
			for i := range b.N {
				op(b, i)
			}
			m.stop(b, unit, per)
		})
	}
	b.Run("interleaved", func(b *testing.B) {
		order := benchOrder(sides)
		var spent [2]time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i += block {
			n := min(block, b.N-i)
			for k := range 2 {
				s := (i/block + k) % 2 // who goes first alternates
				op := ops[order[s]]
				t0 := time.Now()
				for j := range n {
					op(b, i+j)
				}
				spent[s] += time.Since(t0)
			}
		}
		b.StopTimer()
		if unit == "" {
			unit, per = "op", 1
		}
		for s, side := range order {
			b.ReportMetric(float64(spent[s].Nanoseconds())/(float64(b.N)*per), side+"-ns/"+unit)
		}
	})
}

// A benchMeter counts heap allocations for figures per unit of work,
// which testing's allocs/op cannot give.
type benchMeter struct {
	mallocs uint64
}

func benchMallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// startMeter resets b's timer and starts counting.
func startMeter(b *testing.B) benchMeter {
	b.ReportAllocs()
	m := benchMeter{mallocs: benchMallocs()}
	b.ResetTimer()
	return m
}

// stop stops b's timer; with per > 0 it reports the time and the
// allocations per unit of work, as ns/UNIT and allocs/UNIT, for per units
// in each op.
func (m benchMeter) stop(b *testing.B, unit string, per float64) {
	b.StopTimer()
	if per > 0 {
		n := float64(b.N) * per
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/"+unit)
		b.ReportMetric(float64(benchMallocs()-m.mallocs)/n, "allocs/"+unit)
	}
}

// handStream is the hand-written handler of the stream benchmarks: n, its
// argument, progressive results 0..n-1 with SendProgress, then an empty
// final result.
func (bp *benchPair) handStream(ctx context.Context, inv *wamp.Invocation) client.InvokeResult {
	n, ok := wamp.AsInt64(inv.Arguments[0])
	if !ok {
		return client.InvokeResult{Err: wamp.ErrInvalidArgument}
	}
	for i := range int(n) {
		if err := bp.callee.SendProgress(ctx, wamp.List{i}, nil); err != nil {
			return client.InvokeResult{Err: wamp.ErrCanceled}
		}
	}
	return client.InvokeResult{}
}

// streamCall returns the op of the stream benchmarks: one call of uri
// with benchStreamLen as its argument, asking for progress, that must get
// benchStreamLen progressive results.
func (bp *benchPair) streamCall(uri string) benchOp {
	var got atomic.Int64
	onProgress := func(*wamp.Result) { got.Add(1) }
	args := wamp.List{benchStreamLen}
	return func(b *testing.B, _ int) {
		got.Store(0)
		if _, err := bp.caller.Call(context.Background(), uri, nil, args, nil, onProgress); err != nil {
			b.Fatal(err)
		}
		if n := got.Load(); n != benchStreamLen {
			b.Fatalf("got %d progressive results, want %d", n, benchStreamLen)
		}
	}
}

// benchStreamLen is the number of progressive results per call in
// BenchmarkStream: enough that the call's own cost is noise per result.
const benchStreamLen = 1000

// BenchmarkStream: one call, benchStreamLen progressive results back to back,
// then an empty final result. Reports ns/result and allocs/result.
func BenchmarkStream(b *testing.B) {
	for _, transport := range benchTransports {
		b.Run(transport, func(b *testing.B) {
			bp := newBenchPair(b, transport)
			bp.register(b, "bench.stream", bp.handStream,
				func(n int, sink ProgressSink[int]) error {
					for i := range n {
						if err := sink.Send(i); err != nil {
							return err
						}
					}
					return nil
				})
			benchRunPair(b, "result", benchStreamLen, 1, map[string]benchOp{
				"nexus": bp.streamCall("bench.stream.nexus"), "wampfn": bp.streamCall("bench.stream.wampfn"),
			})
		})
	}
}

// benchSmall is the function of BenchmarkSmallCall: one progressive
// result n, final result n+1.
func benchSmall(n int, sink ProgressSink[int]) (int, error) {
	if err := sink.Send(n); err != nil {
		return 0, err
	}
	return n + 1, nil
}

// smallCall returns the op of BenchmarkSmallCall: one call of uri with
// 1000+i, asking for progress, that must get one progressive result and
// 1000+i+1.
func (bp *benchPair) smallCall(uri string) benchOp {
	var got atomic.Int64
	onProgress := func(*wamp.Result) { got.Add(1) }
	return func(b *testing.B, i int) {
		got.Store(0)
		res, err := bp.caller.Call(context.Background(), uri, nil, wamp.List{1000 + i}, nil, onProgress)
		if err != nil {
			b.Fatal(err)
		}
		if n, _ := wamp.AsInt64(res.Arguments[0]); n != int64(1000+i+1) || got.Load() != 1 {
			b.Fatalf("got %v and %d progressive results, want %d and 1", res.Arguments, got.Load(), 1000+i+1)
		}
	}
}

// BenchmarkSmallCall: one int argument, one progressive result, final
// result; per call.
func BenchmarkSmallCall(b *testing.B) {
	for _, transport := range benchTransports {
		b.Run(transport, func(b *testing.B) {
			bp := newBenchPair(b, transport)
			bp.register(b, "bench.small",
				func(ctx context.Context, inv *wamp.Invocation) client.InvokeResult {
					if len(inv.Arguments) != 1 {
						return client.InvokeResult{Err: wamp.ErrInvalidArgument}
					}
					n, ok := wamp.AsInt64(inv.Arguments[0])
					if !ok {
						return client.InvokeResult{Err: wamp.ErrInvalidArgument}
					}
					if err := bp.callee.SendProgress(ctx, wamp.List{n}, nil); err != nil && !errors.Is(err, client.ErrCallerNoProg) {
						return client.InvokeResult{Err: wamp.ErrCanceled}
					}
					return client.InvokeResult{Args: wamp.List{n + 1}}
				},
				benchSmall)
			benchRunPair(b, "", 0, 1, map[string]benchOp{
				"nexus": bp.smallCall("bench.small.nexus"), "wampfn": bp.smallCall("bench.small.wampfn"),
			})
		})
	}
}

// BenchmarkInterceptor: BenchmarkSmallCall's call to wampfn without
// interceptors (the baseline, "plain") and with one interceptor that does
// nothing but call next ("intercepted"); per call. It shows what the
// interceptor machinery costs: the Invocation it builds, one function
// call and a deferred recover.
func BenchmarkInterceptor(b *testing.B) {
	for _, transport := range benchTransports {
		b.Run(transport, func(b *testing.B) {
			bp := newBenchPair(b, transport)
			noop := func(next InvokeFunc) InvokeFunc {
				return func(ctx context.Context, inv *Invocation) (Result, error) { return next(ctx, inv) }
			}
			// URIs of one length: the serializer's allocations depend on it.
			if err := Register(bp.callee, "bench.ic.off", benchSmall); err != nil {
				b.Fatal(err)
			}
			if err := Register(bp.callee, "bench.ic.one", benchSmall, WithInterceptors(noop)); err != nil {
				b.Fatal(err)
			}
			benchRunSides(b, [2]string{"plain", "intercepted"}, "", 0, 1, map[string]benchOp{
				"plain": bp.smallCall("bench.ic.off"), "intercepted": bp.smallCall("bench.ic.one"),
			})
		})
	}
}

// benchDropLen is how many values the function sends in BenchmarkDrop.
const benchDropLen = 1000

// BenchmarkDrop: the caller did not ask for progress; the function sends
// benchDropLen values anyway, and returns. The hand-written handler is the
// stream one, which tries SendProgress for every value and takes
// ErrCallerNoProg as "dropped"; per call.
func BenchmarkDrop(b *testing.B) {
	for _, transport := range benchTransports {
		b.Run(transport, func(b *testing.B) {
			bp := newBenchPair(b, transport)
			bp.register(b, "bench.drop",
				func(ctx context.Context, inv *wamp.Invocation) client.InvokeResult {
					n, ok := wamp.AsInt64(inv.Arguments[0])
					if !ok {
						return client.InvokeResult{Err: wamp.ErrInvalidArgument}
					}
					for i := range int(n) {
						err := bp.callee.SendProgress(ctx, wamp.List{i}, nil)
						if err != nil && !errors.Is(err, client.ErrCallerNoProg) {
							return client.InvokeResult{Err: wamp.ErrCanceled}
						}
					}
					return client.InvokeResult{Args: wamp.List{n}}
				},
				func(n int, sink ProgressSink[int]) (int, error) {
					for i := range n {
						if err := sink.Send(i); err != nil {
							return 0, err
						}
					}
					return n, nil
				})
			args := wamp.List{benchDropLen}
			call := func(uri string) benchOp {
				return func(b *testing.B, _ int) {
					if _, err := bp.caller.Call(context.Background(), uri, nil, args, nil, nil); err != nil {
						b.Fatal(err)
					}
				}
			}
			benchRunPair(b, "", 0, 1, map[string]benchOp{
				"nexus": call("bench.drop.nexus"), "wampfn": call("bench.drop.wampfn"),
			})
		})
	}
}

// BenchmarkDropSend is the cost of one ProgressSink.Send that drops its
// value because the caller did not ask for progress.
func BenchmarkDropSend(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := ProgressSink[int]{st: &sinkState{ctx: ctx}}
	b.ReportAllocs()
	for i := range b.N {
		if err := sink.Send(i); err != nil {
			b.Fatal(err)
		}
	}
}

// benchConfig is the struct of the realistic signature: five fields.
type benchConfig struct {
	Name    string  `json:"name"`
	Count   int     `json:"count"`
	Ratio   float64 `json:"ratio"`
	Enabled bool    `json:"enabled"`
	Limit   uint32  `json:"limit"`
}

// benchDecodeFn has the realistic signature of the decoding benchmark.
func benchDecodeFn(ctx context.Context, n int, label string, cfg benchConfig, xs []float64) error {
	return nil
}

// benchDecodeArgs returns the arguments of the realistic signature as each
// transport delivers them: in-process the Go values a Go caller sends;
// on JSON, msgpack and CBOR what nexus's serializer gives back after a
// round trip through an INVOCATION.
func benchDecodeArgs(b *testing.B, transport string) wamp.List {
	xs := make([]float64, 16)
	for i := range xs {
		xs[i] = float64(i) + 0.5
	}
	cfg := benchConfig{Name: "sensor-7", Count: 42, Ratio: 0.75, Enabled: true, Limit: 1000}
	if transport == "inproc" {
		return wamp.List{7, "temperature", cfg, xs}
	}
	args := wamp.List{7, "temperature", wamp.Dict{
		"name": cfg.Name, "count": cfg.Count, "ratio": cfg.Ratio, "enabled": cfg.Enabled, "limit": cfg.Limit,
	}, xs}
	var s serialize.Serializer
	switch transport {
	case "json":
		s = &serialize.JSONSerializer{}
	case "msgpack":
		s = &serialize.MessagePackSerializer{}
	case "cbor":
		s = &serialize.CBORSerializer{}
	default:
		b.Fatalf("unknown transport %q", transport)
	}
	data, err := s.Serialize(&wamp.Invocation{Request: 1, Registration: 2, Details: wamp.Dict{}, Arguments: args})
	if err != nil {
		b.Fatal(err)
	}
	msg, err := s.Deserialize(data)
	if err != nil {
		b.Fatal(err)
	}
	return msg.(*wamp.Invocation).Arguments
}

// benchHandDecode is what a careful hand-written nexus handler does with the
// realistic signature's arguments: check each, convert, reject the rest.
func benchHandDecode(args wamp.List) (n int, label string, cfg benchConfig, xs []float64, err error) {
	bad := func(i int) error { return fmt.Errorf("argument %d: bad type %T", i, args[i]) }
	if len(args) != 4 {
		return 0, "", cfg, nil, errors.New("want 4 arguments")
	}
	i64, ok := wamp.AsInt64(args[0])
	if !ok {
		return 0, "", cfg, nil, bad(0)
	}
	n = int(i64)
	if label, ok = args[1].(string); !ok {
		return 0, "", cfg, nil, bad(1)
	}
	var d map[string]any
	switch x := args[2].(type) {
	case benchConfig:
		cfg = x
	case wamp.Dict:
		d = x
	case map[string]any:
		d = x
	default:
		if d, ok = wamp.AsDict(x); !ok || d == nil {
			return 0, "", cfg, nil, bad(2)
		}
	}
	if d != nil {
		cfg.Name, _ = d["name"].(string)
		c, _ := wamp.AsInt64(d["count"])
		cfg.Count = int(c)
		cfg.Ratio, _ = wamp.AsFloat64(d["ratio"])
		cfg.Enabled, _ = d["enabled"].(bool)
		l, _ := wamp.AsInt64(d["limit"])
		cfg.Limit = uint32(l)
	}
	switch x := args[3].(type) {
	case []float64:
		xs = x
	default:
		l, ok := wamp.AsList(x)
		if !ok {
			return 0, "", cfg, nil, bad(3)
		}
		xs = make([]float64, len(l))
		for i, e := range l {
			if xs[i], ok = wamp.AsFloat64(e); !ok {
				return 0, "", cfg, nil, bad(3)
			}
		}
	}
	return n, label, cfg, xs, nil
}

var (
	benchSinkN   int
	benchSinkCfg benchConfig
)

// BenchmarkDecode: decoding the arguments of the realistic signature
// (int, string, struct of 5 fields, []float64 of 16) alone, from the
// values each serializer delivers. wampfn's side is what invoke does
// before the call: the parameter values, then bindArgs.
func BenchmarkDecode(b *testing.B) {
	for _, transport := range []string{"inproc", "json", "msgpack", "cbor"} {
		b.Run(transport, func(b *testing.B) {
			args := benchDecodeArgs(b, transport)
			p, err := newProcedure("bench.decode", benchDecodeFn, nil)
			if err != nil {
				b.Fatal(err)
			}
			// Both sides decode the same values.
			n, label, cfg, xs, err := benchHandDecode(args)
			if err != nil {
				b.Fatal(err)
			}
			in := make([]reflect.Value, len(p.kinds))
			if err := p.bindArgs(args, nil, in); err != nil {
				b.Fatal(err)
			}
			if got, want := []any{in[1].Interface(), in[2].Interface(), in[3].Interface(), in[4].Interface()}, []any{n, label, cfg, xs}; !reflect.DeepEqual(got, want) {
				b.Fatalf("wampfn decoded %v, the hand-written decoder %v", got, want)
			}
			benchRunPair(b, "", 0, 64, map[string]benchOp{
				"nexus": func(b *testing.B, _ int) {
					n, _, cfg, _, err := benchHandDecode(args)
					if err != nil {
						b.Fatal(err)
					}
					benchSinkN, benchSinkCfg = n, cfg
				},
				"wampfn": func(b *testing.B, _ int) {
					var inBuf [8]reflect.Value // as invoke does
					in := inBuf[:len(p.kinds)]
					if err := p.bindArgs(args, nil, in); err != nil {
						b.Fatal(err)
					}
				},
			})
		})
	}
}
