package wampfn

// Benchmarks of bulk data (issue 12): lists and maps of structs and long
// lists of numbers as parameters, lists of structs as results and as
// progressive results, each against a hand-written nexus handler that
// decodes or encodes the same values with plain type assertions and checks
// nothing else. They run side by side like bench_test.go's pairs (the
// hand-written side is .../nexus), over n = 10, 1,000 and 10,000 elements,
// in-process and over a loopback WebSocket with msgpack and JSON, and
// report per element (ns/elem, allocs/elem):
//
//	go run ./internal/cmd/benchcmp -rounds 5 -benchtime 100ms -bench Bulk
//
// End to end, one call through the router:
//
//	BulkRecs    parameter []bulkRec (string, int and float64 fields)
//	BulkWide    parameter []bulkWide (10 fields: a nested struct, a []string, ...)
//	BulkMap     parameter map[string]bulkRec
//	BulkFloats  parameter []float64 of 100,000
//	BulkInts    parameter []int64 of 100,000
//	BulkBytes   parameter []byte of 1 MiB (per call)
//	BulkResult  result []bulkRec
//	BulkStream  n progressive results of one bulkRec each
//
// and the decoding or encoding alone, which the call's other costs do not
// dilute: BulkDecode (the parameters above, from the values each
// serializer delivers) and BulkEncode (the result []bulkRec). MapStore
// measures what no decoder through reflect gets below: storing map
// entries with reflect.Value.SetMapIndex against m[k] = v.
//
// The in-process caller sends what a network caller's serializer would
// deliver, with Go's types: lists and dicts (wamp.List, wamp.Dict) of int,
// float64 and string; a Go caller that sends a []bulkRec itself has it
// assigned as it is, with nothing to measure. Both sides copy bytes, so
// that the function owns them.

import (
	"context"
	"encoding/base64"
	"fmt"
	"reflect"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/wampfn/wampfn/wampfntest"
)

// bulkTransports are the transports of the bulk benchmarks.
var bulkTransports = []string{"inproc", "msgpack", "json"}

// bulkSizes are the numbers of elements of the lists and maps of structs.
var bulkSizes = []int{10, 1000, 10000}

type bulkRec struct {
	Name  string  `json:"name"`
	Count int     `json:"count"`
	Score float64 `json:"score"`
}

type bulkPoint struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// bulkWide has 10 fields of mixed kinds.
type bulkWide struct {
	ID     int64     `json:"id"`
	Name   string    `json:"name"`
	Active bool      `json:"active"`
	Score  float64   `json:"score"`
	Count  uint32    `json:"count"`
	Level  int8      `json:"level"`
	Ratio  float32   `json:"ratio"`
	Tags   []string  `json:"tags"`
	Origin bulkPoint `json:"origin"`
	Note   string    `json:"note"`
}

func bulkRecAt(i int) bulkRec {
	return bulkRec{Name: "rec-" + strconv.Itoa(i), Count: i, Score: float64(i) + 0.25}
}

// bulkRecDict is a bulkRec as a caller sends it, and as the hand-written
// handler encodes it.
func bulkRecDict(r bulkRec) wamp.Dict {
	return wamp.Dict{"name": r.Name, "count": r.Count, "score": r.Score}
}

func bulkWideAt(i int) bulkWide {
	return bulkWide{
		ID: int64(i) << 32, Name: "wide-" + strconv.Itoa(i), Active: i%2 == 0, Score: float64(i) + 0.5,
		Count: uint32(i), Level: int8(i % 100), Ratio: 0.75, Tags: []string{"red", "green", "t" + strconv.Itoa(i%7)},
		Origin: bulkPoint{X: float64(i) + 0.5, Y: -float64(i) - 0.5}, Note: "n",
	}
}

func bulkWideDict(w bulkWide) wamp.Dict {
	tags := make(wamp.List, len(w.Tags))
	for i, t := range w.Tags {
		tags[i] = t
	}
	return wamp.Dict{
		"id": w.ID, "name": w.Name, "active": w.Active, "score": w.Score, "count": int(w.Count),
		"level": int(w.Level), "ratio": float64(w.Ratio), "tags": tags,
		"origin": wamp.Dict{"x": w.Origin.X, "y": w.Origin.Y}, "note": w.Note,
	}
}

// The hand-written decoders: plain type assertions over what the
// transports deliver, as a careful nexus handler writes them; they check
// that containers are containers and nothing else.

func benchHandRec(v any) (bulkRec, bool) {
	d, ok := plainDict(v)
	if !ok {
		return bulkRec{}, false
	}
	var r bulkRec
	r.Name, _ = d["name"].(string)
	c, _ := wamp.AsInt64(d["count"])
	r.Count = int(c)
	r.Score, _ = wamp.AsFloat64(d["score"])
	return r, true
}

func benchHandWide(v any) (bulkWide, bool) {
	d, ok := plainDict(v)
	if !ok {
		return bulkWide{}, false
	}
	var w bulkWide
	w.ID, _ = wamp.AsInt64(d["id"])
	w.Name, _ = d["name"].(string)
	w.Active, _ = d["active"].(bool)
	w.Score, _ = wamp.AsFloat64(d["score"])
	c, _ := wamp.AsInt64(d["count"])
	w.Count = uint32(c)
	l, _ := wamp.AsInt64(d["level"])
	w.Level = int8(l)
	r, _ := wamp.AsFloat64(d["ratio"])
	w.Ratio = float32(r)
	if tags, ok := plainList(d["tags"]); ok {
		w.Tags = make([]string, len(tags))
		for i, t := range tags {
			w.Tags[i], _ = t.(string)
		}
	}
	if o, ok := plainDict(d["origin"]); ok {
		w.Origin.X, _ = wamp.AsFloat64(o["x"])
		w.Origin.Y, _ = wamp.AsFloat64(o["y"])
	}
	w.Note, _ = d["note"].(string)
	return w, true
}

// benchHandList decodes a list with elem.
func benchHandList[T any](elem func(any) (T, bool)) func(any) ([]T, bool) {
	return func(v any) ([]T, bool) {
		l, ok := plainList(v)
		if !ok {
			return nil, false
		}
		out := make([]T, len(l))
		for i, e := range l {
			if out[i], ok = elem(e); !ok {
				return nil, false
			}
		}
		return out, true
	}
}

func benchHandRecMap(v any) (map[string]bulkRec, bool) {
	d, ok := plainDict(v)
	if !ok {
		return nil, false
	}
	m := make(map[string]bulkRec, len(d))
	for k, e := range d {
		r, ok := benchHandRec(e)
		if !ok {
			return nil, false
		}
		m[k] = r
	}
	return m, true
}

func benchHandFloat(v any) (float64, bool) { return wamp.AsFloat64(v) }
func benchHandInt64(v any) (int64, bool)   { return wamp.AsInt64(v) }

// benchHandBytes takes bytes as the transports deliver them, a base64
// string on JSON, and copies them as wampfn does, so that the function has
// bytes of its own (in-process, the caller's would be shared).
func benchHandBytes(v any) ([]byte, bool) {
	switch x := v.(type) {
	case []byte:
		return append([]byte(nil), x...), true
	case serialize.BinaryData:
		return append([]byte(nil), x...), true
	case string:
		if len(x) > 0 && x[0] == 0 {
			x = x[1:]
		}
		b, err := base64.StdEncoding.DecodeString(x)
		return b, err == nil
	}
	return nil, false
}

// bulkValue are the parameter types of the bulk benchmarks.
type bulkValue interface {
	[]bulkRec | []bulkWide | map[string]bulkRec | []float64 | []int64 | []byte
}

// A bulkParam is one parameter type of the bulk benchmarks.
type bulkParam struct {
	family string // BulkRecs, ...; the shape's name in BulkDecode is family without "Bulk"
	sizes  []int
	unit   string // "elem", or "" to report per call
	arg    func(n int) any
	fn     any                          // func(T) int, for wampfn: the value's length
	hand   func(v any) (n int, ok bool) // the hand-written decoder: the value's length
	value  func(v any) (x any, ok bool) // the hand-written decoder's value, to compare
}

// newBulkParam returns the bulkParam of T, which hand decodes by hand.
func newBulkParam[T bulkValue](family string, sizes []int, unit string, arg func(n int) any, hand func(any) (T, bool)) bulkParam {
	return bulkParam{
		family: family, sizes: sizes, unit: unit, arg: arg,
		fn: func(x T) int { return len(x) },
		hand: func(v any) (int, bool) {
			x, ok := hand(v)
			return len(x), ok
		},
		value: func(v any) (any, bool) { return hand(v) },
	}
}

// bulkList returns n elements made by at as a WAMP list.
func bulkList[T any](n int, at func(int) T) wamp.List {
	l := make(wamp.List, n)
	for i := range l {
		l[i] = at(i)
	}
	return l
}

const (
	bulkScalars = 100_000
	bulkBytes   = 1 << 20
)

var bulkParams = []bulkParam{
	newBulkParam("BulkRecs", bulkSizes, "elem",
		func(n int) any { return bulkList(n, func(i int) any { return bulkRecDict(bulkRecAt(i)) }) },
		benchHandList(benchHandRec)),
	newBulkParam("BulkWide", bulkSizes, "elem",
		func(n int) any { return bulkList(n, func(i int) any { return bulkWideDict(bulkWideAt(i)) }) },
		benchHandList(benchHandWide)),
	newBulkParam("BulkMap", bulkSizes, "elem",
		func(n int) any {
			d := make(wamp.Dict, n)
			for i := range n {
				d["k"+strconv.Itoa(i)] = bulkRecDict(bulkRecAt(i))
			}
			return d
		},
		benchHandRecMap),
	newBulkParam("BulkFloats", []int{bulkScalars}, "elem",
		func(n int) any { return bulkList(n, func(i int) any { return float64(i)*0.5 + 0.25 }) },
		benchHandList(benchHandFloat)),
	newBulkParam("BulkInts", []int{bulkScalars}, "elem",
		func(n int) any { return bulkList(n, func(i int) any { return (i - n/2) * 1_000_003 }) },
		benchHandList(benchHandInt64)),
	newBulkParam("BulkBytes", []int{bulkBytes}, "",
		func(n int) any {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(i * 7)
			}
			return serialize.BinaryData(b)
		},
		benchHandBytes),
}

// newBulkPair is newBenchPair on any of the test transports (JSON too).
func newBulkPair(b *testing.B, transport string) *benchPair {
	tr := wampfntest.NewRouter(b)
	return &benchPair{caller: tr.Connect(b, wampfntest.Transport(transport)), callee: tr.Connect(b, wampfntest.Transport(transport))}
}

// perUnit is what benchRunPair takes for n elements in unit.
func perUnit(unit string, n int) float64 {
	if unit == "" {
		return 0
	}
	return float64(n)
}

// bulkBlock is the interleaving block for ops of n elements: about a
// thousand elements a block.
func bulkBlock(n int) int { return max(1, 1000/n) }

// A bulkCall is one end-to-end bulk figure: each side's function, the
// arguments of a call for n elements and the check of its outcome.
type bulkCall struct {
	proc  string
	hand  func(callee *client.Client) client.InvocationHandler
	fn    any // wampfn's
	sizes []int
	unit  string // "elem", or "" to report per call
	args  func(n int) wamp.List
	// check returns what is wrong with the result of a call for n
	// elements that got progress progressive results.
	check func(res *wamp.Result, progress int64, n int) error
}

// benchBulkCalls runs bc on every bulk transport: the hand-written handler
// registered as bc.proc+".hand" and bc.fn with wampfn as bc.proc+".wmfn"
// (URIs of one length: the serializers' allocations depend on it).
func benchBulkCalls(b *testing.B, bc bulkCall) {
	for _, transport := range bulkTransports {
		b.Run(transport, func(b *testing.B) {
			pair := newBulkPair(b, transport)
			if err := pair.callee.Register(bc.proc+".hand", bc.hand(pair.callee), nil); err != nil {
				b.Fatal(err)
			}
			if err := Register(pair.callee, bc.proc+".wmfn", bc.fn); err != nil {
				b.Fatal(err)
			}
			var progress atomic.Int64
			onProgress := func(*wamp.Result) { progress.Add(1) }
			for _, n := range bc.sizes {
				b.Run(strconv.Itoa(n), func(b *testing.B) {
					args := bc.args(n)
					call := func(uri string) benchOp {
						return func(b *testing.B, _ int) {
							progress.Store(0)
							res, err := pair.caller.Call(context.Background(), uri, nil, args, nil, onProgress)
							if err == nil {
								err = bc.check(res, progress.Load(), n)
							}
							if err != nil {
								b.Fatal(err)
							}
						}
					}
					benchRunPair(b, bc.unit, perUnit(bc.unit, n), 1, map[string]benchOp{
						"nexus": call(bc.proc + ".hand"), "wampfn": call(bc.proc + ".wmfn"),
					})
				})
			}
		})
	}
}

// paramCall is the bulkCall of a parameter: both functions return the
// length of what they decoded.
func paramCall(bp bulkParam) bulkCall {
	return bulkCall{
		proc: "bench.bulk." + bp.family,
		hand: func(*client.Client) client.InvocationHandler {
			return func(_ context.Context, inv *wamp.Invocation) client.InvokeResult {
				if len(inv.Arguments) != 1 {
					return client.InvokeResult{Err: wamp.ErrInvalidArgument}
				}
				n, ok := bp.hand(inv.Arguments[0])
				if !ok {
					return client.InvokeResult{Err: wamp.ErrInvalidArgument}
				}
				return client.InvokeResult{Args: wamp.List{n}}
			}
		},
		fn: bp.fn, sizes: bp.sizes, unit: bp.unit,
		args: func(n int) wamp.List { return wamp.List{bp.arg(n)} },
		check: func(res *wamp.Result, _ int64, n int) error {
			if got, _ := wamp.AsInt64(res.Arguments[0]); got != int64(n) {
				return fmt.Errorf("got %v, want %d", res.Arguments, n)
			}
			return nil
		},
	}
}

func BenchmarkBulkRecs(b *testing.B)   { benchBulkCalls(b, paramCall(bulkParams[0])) }
func BenchmarkBulkWide(b *testing.B)   { benchBulkCalls(b, paramCall(bulkParams[1])) }
func BenchmarkBulkMap(b *testing.B)    { benchBulkCalls(b, paramCall(bulkParams[2])) }
func BenchmarkBulkFloats(b *testing.B) { benchBulkCalls(b, paramCall(bulkParams[3])) }
func BenchmarkBulkInts(b *testing.B)   { benchBulkCalls(b, paramCall(bulkParams[4])) }
func BenchmarkBulkBytes(b *testing.B)  { benchBulkCalls(b, paramCall(bulkParams[5])) }

// bulkRecs are the records the result benchmarks send.
var bulkRecs = func() []bulkRec {
	recs := make([]bulkRec, bulkSizes[len(bulkSizes)-1])
	for i := range recs {
		recs[i] = bulkRecAt(i)
	}
	return recs
}()

// benchHandEncodeRecs is the hand-written handler's encoding of a result
// []bulkRec.
func benchHandEncodeRecs(recs []bulkRec) wamp.List {
	l := make(wamp.List, len(recs))
	for i, r := range recs {
		l[i] = bulkRecDict(r)
	}
	return l
}

// bulkCount is the arguments of a call for n records.
func bulkCount(n int) wamp.List { return wamp.List{n} }

// BenchmarkBulkResult: the caller asks for n records; the function returns
// them as a []bulkRec. Per element.
func BenchmarkBulkResult(b *testing.B) {
	benchBulkCalls(b, bulkCall{
		proc: "bench.bulk.result",
		hand: func(*client.Client) client.InvocationHandler {
			return func(_ context.Context, inv *wamp.Invocation) client.InvokeResult {
				n, ok := wamp.AsInt64(inv.Arguments[0])
				if !ok {
					return client.InvokeResult{Err: wamp.ErrInvalidArgument}
				}
				return client.InvokeResult{Args: wamp.List{benchHandEncodeRecs(bulkRecs[:n])}}
			}
		},
		fn:    func(n int) []bulkRec { return bulkRecs[:n] },
		sizes: bulkSizes, unit: "elem", args: bulkCount,
		check: func(res *wamp.Result, _ int64, n int) error {
			if l, _ := plainList(res.Arguments[0]); len(l) != n {
				return fmt.Errorf("got %d records, want %d", len(l), n)
			}
			return nil
		},
	})
}

// BenchmarkBulkStream: the caller asks for n records; the function sends
// each as a progressive result, a bulkRec on a ProgressSink[bulkRec]. Per
// element.
func BenchmarkBulkStream(b *testing.B) {
	benchBulkCalls(b, bulkCall{
		proc: "bench.bulk.stream",
		hand: func(callee *client.Client) client.InvocationHandler {
			return func(ctx context.Context, inv *wamp.Invocation) client.InvokeResult {
				n, ok := wamp.AsInt64(inv.Arguments[0])
				if !ok {
					return client.InvokeResult{Err: wamp.ErrInvalidArgument}
				}
				for _, r := range bulkRecs[:n] {
					if err := callee.SendProgress(ctx, wamp.List{bulkRecDict(r)}, nil); err != nil {
						return client.InvokeResult{Err: wamp.ErrCanceled}
					}
				}
				return client.InvokeResult{}
			}
		},
		fn: func(n int, sink ProgressSink[bulkRec]) error {
			for _, r := range bulkRecs[:n] {
				if err := sink.Send(r); err != nil {
					return err
				}
			}
			return nil
		},
		sizes: bulkSizes, unit: "elem", args: bulkCount,
		check: func(_ *wamp.Result, progress int64, n int) error {
			if progress != int64(n) {
				return fmt.Errorf("got %d progressive results, want %d", progress, n)
			}
			return nil
		},
	})
}

// bulkDelivered returns args as a callee receives them over transport,
// through a router.
func bulkDelivered(b *testing.B, transport string, args wamp.List) wamp.List {
	pair := newBulkPair(b, transport)
	got := make(chan wamp.List, 1)
	capture := func(_ context.Context, inv *wamp.Invocation) client.InvokeResult {
		got <- inv.Arguments
		return client.InvokeResult{}
	}
	if err := pair.callee.Register("bench.bulk.capture", capture, nil); err != nil {
		b.Fatal(err)
	}
	if _, err := pair.caller.Call(context.Background(), "bench.bulk.capture", nil, args, nil, nil); err != nil {
		b.Fatal(err)
	}
	return <-got
}

var benchSinkLen int

// BenchmarkBulkDecode: the parameters of the end-to-end benchmarks decoded
// alone, from the values each serializer delivers: wampfn's bindArgs, as
// invoke calls it, against the hand-written decoder. Per element.
func BenchmarkBulkDecode(b *testing.B) {
	for _, bp := range bulkParams {
		shape := bp.family[len("Bulk"):]
		b.Run(shape, func(b *testing.B) {
			p, err := newProcedure("bench.bulk.decode", bp.fn, nil)
			if err != nil {
				b.Fatal(err)
			}
			for _, transport := range bulkTransports {
				b.Run(transport, func(b *testing.B) {
					for _, n := range bp.sizes {
						b.Run(strconv.Itoa(n), func(b *testing.B) {
							args := bulkDelivered(b, transport, wamp.List{bp.arg(n)})
							// Both sides decode the same values alike.
							want, ok := bp.value(args[0])
							if !ok {
								b.Fatal("the hand-written decoder refused the arguments")
							}
							in := make([]reflect.Value, 1)
							if err := p.bindArgs(args, nil, in); err != nil {
								b.Fatal(err)
							}
							if got := in[0].Interface(); !reflect.DeepEqual(got, want) {
								b.Fatalf("wampfn decoded %v, the hand-written decoder %v", got, want)
							}
							benchRunPair(b, bp.unit, perUnit(bp.unit, n), bulkBlock(n), map[string]benchOp{
								"nexus": func(b *testing.B, _ int) {
									n, ok := bp.hand(args[0])
									if !ok {
										b.Fatal("refused")
									}
									benchSinkLen = n
								},
								"wampfn": func(b *testing.B, _ int) {
									var inBuf [1]reflect.Value
									if err := p.bindArgs(args, nil, inBuf[:]); err != nil {
										b.Fatal(err)
									}
								},
							})
						})
					}
				})
			}
		})
	}
}

var benchSinkList wamp.List

// BenchmarkBulkEncode: a result []bulkRec encoded alone, as invoke encodes
// a function's results, against the hand-written encoding. Per element.
func BenchmarkBulkEncode(b *testing.B) {
	p, err := newProcedure("bench.bulk.encode", func() []bulkRec { return nil }, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range bulkSizes {
		b.Run("recs/"+strconv.Itoa(n), func(b *testing.B) {
			recs := bulkRecs[:n]
			out := []reflect.Value{reflect.ValueOf(recs)}
			args, _, err := p.result(out)
			if err != nil {
				b.Fatal(err)
			}
			if want := (wamp.List{benchHandEncodeRecs(recs)}); !reflect.DeepEqual(args, want) {
				b.Fatalf("wampfn encoded %v, the hand-written encoder %v", args, want)
			}
			benchRunPair(b, "elem", float64(n), bulkBlock(n), map[string]benchOp{
				"nexus": func(b *testing.B, _ int) {
					benchSinkList = wamp.List{benchHandEncodeRecs(recs)}
				},
				"wampfn": func(b *testing.B, _ int) {
					args, _, err := p.result(out)
					if err != nil {
						b.Fatal(err)
					}
					benchSinkList = args
				},
			})
		})
	}
}

var benchSinkRecMap map[string]bulkRec

// BenchmarkMapStore: storing 1,000 entries into a map[string]bulkRec, with
// m[k] = r (typed, as a hand-written decoder stores) and with
// reflect.Value.SetMapIndex from one reused key and value (as wampfn's map
// decoder stores): the floor of decoding a map through reflect.
//
//	go test -run '^$' -bench MapStore -count 6 .
func BenchmarkMapStore(b *testing.B) {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	r := bulkRecAt(5)
	b.Run("typed", func(b *testing.B) {
		for range b.N {
			m := make(map[string]bulkRec, len(keys))
			for _, k := range keys {
				m[k] = r
			}
			benchSinkRecMap = m
		}
	})
	b.Run("reflect", func(b *testing.B) {
		t := reflect.TypeFor[map[string]bulkRec]()
		kv, ev := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
		ev.Set(reflect.ValueOf(r))
		for range b.N {
			m := reflect.MakeMapWithSize(t, len(keys))
			for _, k := range keys {
				kv.SetString(k)
				m.SetMapIndex(kv, ev)
			}
			benchSinkRecMap = m.Interface().(map[string]bulkRec)
		}
	})
}
