package interop_test

// Input streams (issue 11): a real caller sends a call's input in chunks (progressive call
// invocations) to wampfn procedures that take a wampfn.InputStream[int]. Of the peers, only
// wampy.js 8.0.2 can call this way (progressiveCall); Autobahn|Python 22.7 and
// Autobahn|JS 26.3.1 do not announce the feature. The cases run over WebSocket with JSON,
// msgpack and CBOR:
//
//	streamsum        sum(1..5) as wampy's README example sends it, and with an empty first
//	                 chunk; and wampy's sendData(0), which sends an empty chunk
//	streamdouble     double: v*2 back as a progress result for each value, interleaved
//	                 with the caller's chunks; the count as the result
//	streamcancel     cancelsum: the caller cancels after three chunks, with no mode
//	                 (nexus: killnowait), kill and skip; the function reports what its Recv
//	                 returned; then a sum on the same session
//	streamnofeature  wampy as it connects by default: the router aborts the session on the
//	                 first chunk, and no function runs

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wampfn/wampfn"
	"github.com/wampfn/wampfn/wampfntest"
)

var streamCases = []string{"streamsum", "streamdouble", "streamcancel", "streamnofeature"}

const (
	// streamIdle is cancelsum's WithInputIdleTimeout. A cancel with mode skip never reaches
	// the callee (the nexus router sends no INTERRUPT), so the function learns of it only
	// when the idle timeout runs out. It must be much longer than a round trip to the
	// caller, or a kill's INTERRUPT could arrive after it.
	streamIdle = time.Second

	protocolViolationURI = "wamp.error.protocol_violation"
	// msgNoProgCallInv is the nexus v3.3.0 router's ABORT message (router/dealer.go).
	msgNoProgCallInv = "Peer is trying to use Progressive Call Invocations while it was not announced during HELLO handshake"
)

// streamRecord is one run of a stream procedure, as the function saw it.
type streamRecord struct {
	proc   string // sum, double or cancelsum
	mode   string // cancelsum: the cancel mode the caller named in the first chunk
	values []int  // what Recv returned, in order
	// err is the error that ended the stream, nil for io.EOF.
	err error
	// ctxErr is the context's error when Recv returned err.
	ctxErr error
	// waited is how long Recv waited for err after the last value.
	waited time.Duration
	// sendErr is the error of a failed ProgressSink.Send, if any.
	sendErr error
}

// streamCallee is one wampfn callee session with the stream procedures registered under its
// own URI prefix. Each function sends its record on records when it returns, so that the
// test goroutine, not the function's, checks it.
type streamCallee struct {
	prefix  string
	records chan streamRecord
}

// newStreamCallee connects a local client to tr and registers, under prefix:
//
//	sum(in InputStream[int]) int                                  the sum of the values
//	double(in InputStream[int], sink ProgressSink[int]) int       v*2 as progress, the count
//	cancelsum(mode string, in InputStream[int],
//	          sink ProgressSink[int]) int                         running sum as progress;
//	                                                              idle timeout streamIdle
func newStreamCallee(t testing.TB, tr *testRouter, prefix string) *streamCallee {
	t.Helper()
	c := tr.Connect(t, wampfntest.InProcess)

	sc := &streamCallee{prefix: prefix, records: make(chan streamRecord, 64)}
	reg := func(name string, fn any, opts ...wampfn.Option) {
		require.NoError(t, wampfn.Register(c, prefix+name, fn, opts...), "register %s", name)
	}
	reg("sum", func(ctx context.Context, in wampfn.InputStream[int]) (int, error) {
		rec := streamRecord{proc: "sum"}
		defer func() { sc.records <- rec }()
		sum := 0
		for v, err := range in.All() {
			if err != nil {
				rec.err, rec.ctxErr = err, ctx.Err()
				return 0, err
			}
			rec.values = append(rec.values, v)
			sum += v
		}
		return sum, nil
	})
	reg("double", func(in wampfn.InputStream[int], sink wampfn.ProgressSink[int]) (int, error) {
		rec := streamRecord{proc: "double"}
		defer func() { sc.records <- rec }()
		for v, err := range in.All() {
			if err != nil {
				rec.err = err
				return 0, err
			}
			rec.values = append(rec.values, v)
			if err := sink.Send(v * 2); err != nil {
				rec.sendErr = err
				return 0, err
			}
		}
		return len(rec.values), nil
	})
	reg("cancelsum", func(ctx context.Context, mode string, in wampfn.InputStream[int], sink wampfn.ProgressSink[int]) (int, error) {
		rec := streamRecord{proc: "cancelsum", mode: mode}
		defer func() { sc.records <- rec }()
		sum := 0
		last := time.Now()
		for {
			v, err := in.Recv()
			if err == io.EOF {
				return sum, nil
			}
			if err != nil {
				rec.err, rec.ctxErr, rec.waited = err, ctx.Err(), time.Since(last)
				return sum, err
			}
			last = time.Now()
			rec.values = append(rec.values, v)
			sum += v
			if err := sink.Send(sum); err != nil {
				rec.sendErr = err
				return sum, err
			}
		}
	}, wampfn.WithParamNames("mode"), wampfn.WithInputIdleTimeout(streamIdle))
	return sc
}

// collect returns the records of n runs, waiting at most timeout for them, and then checks
// that no other run reports within settle.
func (sc *streamCallee) collect(t testing.TB, n int, timeout, settle time.Duration) []streamRecord {
	t.Helper()
	var recs []streamRecord
	deadline := time.After(timeout)
	for len(recs) < n {
		select {
		case r := <-sc.records:
			recs = append(recs, r)
		case <-deadline:
			t.Fatalf("%d of %d stream function runs returned within %v: %+v", len(recs), n, timeout, recs)
		}
	}
	select {
	case r := <-sc.records:
		t.Fatalf("one more stream function run than the %d expected: %+v (the others: %+v)", n, r, recs)
	case <-time.After(settle):
	}
	return recs
}

func TestInteropStream(t *testing.T) {
	tr := newTestRouter(t)
	for _, p := range peers {
		if !p.streams {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			argv := p.argv(t)
			for _, ser := range serializers {
				t.Run(ser, func(t *testing.T) {
					if ok, _ := p.supports(ser, wsTransport); !ok {
						t.Skipf("%s cannot use %s over WebSocket", p.name, ser)
					}
					t.Run(string(wsTransport), func(t *testing.T) {
						t.Parallel()
						runStreamCell(t, tr, argv, ser)
					})
				})
			}
		})
	}
}

// runStreamCell runs every stream case for one serializer over WebSocket: one callee
// session per case, and one caller process that runs the cases in order.
func runStreamCell(t *testing.T, tr *testRouter, argv []string, ser string) {
	base := newPrefix()
	callees := map[string]*streamCallee{}
	for _, c := range streamCases {
		callees[c] = newStreamCallee(t, tr, base+c+".")
	}
	run := runPeer(t, argv, tr.wsURL, ser, strings.Join(streamCases, ","), base)
	for _, c := range streamCases {
		t.Run(c, func(t *testing.T) {
			evs := run.byCase[c]
			require.NotEmpty(t, evs, "the caller printed nothing for case %s\n%s", c, run.describe)
			for _, e := range evs {
				require.Empty(t, e.Fatal, run.describe)
			}
			last := evs[len(evs)-1]
			require.True(t, last.Done, "the caller did not finish case %s\n%s", c, run.describe)
			checkStreamCase(t, c, callees[c], evs[:len(evs)-1])
		})
	}
	require.NoError(t, run.err, run.describe)
	require.True(t, run.ended, "the caller did not run every case\n%s", run.describe)
}

func requireProgress(t testing.TB, e event, wantArgs string, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, "progress", e.kind(), msgAndArgs...)
	require.Equal(t, js(t, wantArgs), jv(t, e.Progress.Args), msgAndArgs...)
	require.Empty(t, e.Progress.Kwargs, msgAndArgs...)
}

func requireSent(t testing.TB, e event, v int, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, "sent", e.kind(), msgAndArgs...)
	require.Equal(t, js(t, fmt.Sprint(v)), jv(t, e.Sent), msgAndArgs...)
}

// checkStreamCase asserts a stream case's events (the peer's view) and what the functions
// saw.
func checkStreamCase(t *testing.T, caseName string, sc *streamCallee, evs []event) {
	out := dump(evs)
	switch caseName {
	case "streamsum":
		// README example: 15. Empty first chunk, then 1..5: 15. 1, sendData(0), 2: the
		// zero chunk carries no value (wampy's `payload ?` test), so 3.
		require.Equal(t, []string{"final", "final", "final"}, kinds(evs), out)
		requireFinal(t, evs[0], "[15]", out)
		requireFinal(t, evs[1], "[15]", out)
		requireFinal(t, evs[2], "[3]", "wampy's sendData(0) sends an empty chunk\n"+out)
		recs := sc.collect(t, 3, 5*time.Second, 2*interval)
		for i, want := range [][]int{{1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}, {1, 2}} {
			require.Equal(t, "sum", recs[i].proc)
			require.Equal(t, want, recs[i].values, "call %d: the values Recv returned", i)
			require.NoError(t, recs[i].err, "call %d: the stream ends with io.EOF", i)
		}

	case "streamdouble":
		// Progress 2v for each v, each before the caller sends the next chunk; the final
		// result is the count.
		require.Equal(t, []string{"progress", "sent", "progress", "sent", "progress", "sent",
			"progress", "sent", "progress", "final"}, kinds(evs), out)
		for i, v := range []int{1, 2, 3, 4, 5} {
			requireProgress(t, evs[2*i], fmt.Sprintf("[%d]", 2*v), out)
			if v < 5 {
				requireSent(t, evs[2*i+1], v+1, out)
			}
		}
		requireFinal(t, evs[9], "[5]", out)
		recs := sc.collect(t, 1, 5*time.Second, 2*interval)
		require.Equal(t, "double", recs[0].proc)
		require.Equal(t, []int{1, 2, 3, 4, 5}, recs[0].values)
		require.NoError(t, recs[0].err)
		require.NoError(t, recs[0].sendErr)

	case "streamcancel":
		// For each mode: progress 1, sent 2, progress 3, sent 3, progress 6, the cancel,
		// then wamp.error.canceled; then a sum on the same session gives 15.
		var want []string
		for range 3 {
			want = append(want, "progress", "sent", "progress", "sent", "progress", "cancel", "error")
		}
		require.Equal(t, append(want, "final"), kinds(evs), out)
		for i, mode := range []string{"default", "kill", "skip"} {
			e := evs[7*i:]
			requireProgress(t, e[0], "[1]", out)
			requireSent(t, e[1], 2, out)
			requireProgress(t, e[2], "[3]", out)
			requireSent(t, e[3], 3, out)
			requireProgress(t, e[4], "[6]", out)
			require.Equal(t, mode, e[5].Cancel, out)
			// kill: the callee's ERROR (nexus's client answers the INTERRUPT); default
			// (nexus: killnowait) and skip: the router's, at once. Both without args.
			requireError(t, e[6], canceledURI, "[]", "{}", out)
			require.Equal(t, "CallError", e[6].Class, out)
		}
		requireFinal(t, evs[21], "[15]", "the session works after the cancels\n"+out)

		// skip's run returns streamIdle after its last chunk: wait that long and more.
		recs := sc.collect(t, 4, streamIdle+10*time.Second, 2*interval)
		byMode := map[string]streamRecord{}
		for _, r := range recs {
			if r.proc == "sum" {
				require.Equal(t, []int{1, 2, 3, 4, 5}, r.values)
				require.NoError(t, r.err)
				continue
			}
			require.Equal(t, "cancelsum", r.proc)
			byMode[r.mode] = r
		}
		require.Len(t, byMode, 3, "%+v", recs)
		for mode, r := range byMode {
			require.Equal(t, []int{1, 2, 3}, r.values, "mode %s: the values Recv returned before the cancel", mode)
			require.NoError(t, r.sendErr, "mode %s", mode)
		}
		// No mode and kill: the router sends INTERRUPT; nexus cancels the context, and
		// Recv returns context.Canceled at once.
		for _, mode := range []string{"default", "kill"} {
			r := byMode[mode]
			require.ErrorIs(t, r.err, context.Canceled, "mode %s: Recv after the INTERRUPT", mode)
			require.ErrorIs(t, r.ctxErr, context.Canceled, "mode %s", mode)
			require.Less(t, r.waited, streamIdle, "mode %s: Recv returned only after the idle timeout", mode)
		}
		// skip: no INTERRUPT, and no more chunks: Recv returns ErrInputIdle after the idle
		// timeout, with the context still live.
		r := byMode["skip"]
		require.ErrorIs(t, r.err, wampfn.ErrInputIdle, "mode skip: Recv")
		require.NoError(t, r.ctxErr, "mode skip: the callee is not told of the cancel")
		require.GreaterOrEqual(t, r.waited, streamIdle/2, "mode skip: Recv failed before the idle timeout")

	case "streamnofeature":
		// wampy's own HELLO lacks the feature, the router aborts the session on the first
		// chunk, and wampy rejects the call when the socket closes. The ABORT itself may
		// not arrive: the nexus router queues it and closes the session at once, and its
		// websocket peer's Close discards what its writer has not sent yet.
		require.Equal(t, "info", evs[0].kind(), out)
		require.Equal(t, false, evs[0].Info["announces"],
			"wampy now announces progressive_call_invocations: drop the workaround\n"+out)
		rest := evs[1:]
		if len(rest) == 2 {
			require.Equal(t, "abort", rest[0].kind(), out)
			require.Equal(t, protocolViolationURI, rest[0].Abort, out)
			require.Equal(t, js(t, jsonString(msgNoProgCallInv)), jv(t, rest[0].Args), out)
			rest = rest[1:]
		}
		require.Equal(t, []string{"error"}, kinds(rest), out)
		require.Equal(t, "js:WebsocketError", *rest[0].Error, "the call fails when the router closes the session\n"+out)
		sc.collect(t, 0, 0, 2*interval)

	default:
		t.Fatalf("unknown stream case %s", caseName)
	}
}
