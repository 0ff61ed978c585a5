package main

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/transport"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn"
	"github.com/wampfn/wampfn/wampfntest"
	"go.uber.org/goleak"
)

// callSerializers are the --serializer values every end-to-end test runs on.
var callSerializers = []string{"json", "msgpack", "cbor"}

// calleeWaitLimit bounds the waits of the test procedures and of the
// tests' helpers, so that a failing test fails instead of hanging;
// cancelAssert bounds the wait for a callee's cancellation.
const (
	calleeWaitLimit = 30 * time.Second
	cancelAssert    = 2 * time.Second
)

// floodLine is the length of test.flood's progressive results.
const floodLine = 4096

// calleeEvents is what the test procedures report to the test goroutine.
type calleeEvents struct {
	started   chan struct{} // test.wait and test.block: a call has begun
	cancelled chan error    // test.wait and test.block: a call's ctx ended, with ctx.Err()
	release   chan struct{} // test.block: closed to let its calls return
	flooded   chan struct{} // test.flood: a call has sent its progressive results
}

// newCallRouter starts a router with the test procedures, registered with
// wampfn by an in-process callee:
//
//	test.add(a, b int) int
//	test.greet(name string) string                   "hello, " + name
//	test.sub(a, b int) int                           with names a and b
//	test.count(n int, sink) (int, error)             progress 0..n-1, then n
//	test.divmod(a, b int) (int, int, error)          two results
//	test.fail() error                                com.example.error.not_found
//	test.bytes() []byte                              1, 2, 3
//	test.pair() ([]byte, int)                        1, 2, 3 and 7: two results
//	test.failbytes() error                           an ERROR with bytes in args and kwargs
//	test.echo(v any) any                             v
//	test.wait(ctx, sink) (int, error)                progress 1, then waits for ctx
//	test.sleep(ctx) error                            waits for ctx
//	test.block(ctx) error                            waits for ctx or release
//	test.flood(ctx, n int, sink) (int, error)        progress: n lines of floodLine bytes, then waits for ctx
func newCallRouter(t *testing.T) (*wampfntest.Router, *calleeEvents) {
	t.Helper()
	r := wampfntest.NewRouter(t)
	callee := r.Connect(t, wampfntest.InProcess)
	ev := &calleeEvents{
		started:   make(chan struct{}, 100),
		cancelled: make(chan error, 100),
		release:   make(chan struct{}),
		flooded:   make(chan struct{}, 100),
	}
	// waitCtx waits for ctx, reporting its end, or gives up after
	// calleeWaitLimit so that a test that fails does not hang.
	waitCtx := func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			ev.cancelled <- ctx.Err()
			return ctx.Err()
		case <-time.After(calleeWaitLimit):
			return errors.New("never cancelled")
		}
	}
	procs := []struct {
		name string
		fn   any
		opts []wampfn.Option
	}{
		{"test.add", func(a, b int) int { return a + b }, nil},
		{"test.greet", func(name string) string { return "hello, " + name }, nil},
		{"test.sub", func(a, b int) int { return a - b }, []wampfn.Option{wampfn.WithParamNames("a", "b")}},
		{"test.count", func(n int, sink wampfn.ProgressSink[int]) (int, error) {
			for i := range n {
				if err := sink.Send(i); err != nil {
					return 0, err
				}
			}
			return n, nil
		}, nil},
		{"test.divmod", func(a, b int) (int, int, error) { return a / b, a % b, nil }, nil},
		{"test.fail", func() error {
			return &wampfn.Error{URI: "com.example.error.not_found", Args: wamp.List{"no book 42"}, Kwargs: wamp.Dict{"id": 42}}
		}, nil},
		{"test.bytes", func() []byte { return []byte{1, 2, 3} }, nil},
		{"test.pair", func() ([]byte, int) { return []byte{1, 2, 3}, 7 }, nil},
		{"test.failbytes", func() error {
			return &wampfn.Error{URI: "com.example.error.binary", Args: wamp.List{[]byte{1, 2, 3}, wamp.List{[]byte{4}}},
				Kwargs: wamp.Dict{"b": []byte{5}}}
		}, nil},
		{"test.echo", func(v any) any { return v }, nil},
		{"test.wait", func(ctx context.Context, sink wampfn.ProgressSink[int]) (int, error) {
			ev.started <- struct{}{}
			if err := sink.Send(1); err != nil {
				return 0, err
			}
			return 0, waitCtx(ctx)
		}, nil},
		{"test.sleep", func(ctx context.Context) error { return waitCtx(ctx) }, nil},
		{"test.flood", func(ctx context.Context, n int, sink wampfn.ProgressSink[string]) (int, error) {
			line := strings.Repeat("x", floodLine)
			for range n {
				if err := sink.Send(line); err != nil {
					return 0, err
				}
			}
			ev.flooded <- struct{}{}
			return 0, waitCtx(ctx)
		}, nil},
		{"test.block", func(ctx context.Context) error {
			ev.started <- struct{}{}
			select {
			case <-ev.release:
				return nil
			default:
			}
			select {
			case <-ev.release:
				return nil
			case <-ctx.Done():
				ev.cancelled <- ctx.Err()
				return ctx.Err()
			case <-time.After(calleeWaitLimit):
				return errors.New("never released")
			}
		}, nil},
	}
	for _, p := range procs {
		require.NoError(t, wampfn.Register(callee, p.name, p.fn, p.opts...))
	}
	return r, ev
}

func TestCall(t *testing.T) {
	noLeaks(t)
	r, _ := newCallRouter(t)
	tests := []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantErrOut string
	}{
		{name: "add", args: []string{"test.add", "2", "3"}, wantOut: "5\n"},
		{name: "negative and large", args: []string{"test.add", "-7", "9007199254740993"}, wantOut: "9007199254740986\n"},
		{name: "string not JSON", args: []string{"test.greet", "big world"}, wantOut: "\"hello, big world\"\n"},
		{name: "string in JSON", args: []string{"test.greet", `"5"`}, wantOut: "\"hello, 5\"\n"},
		{name: "JSON object", args: []string{"test.echo", `{"a": [1, 2.5, "x", null, true]}`}, wantOut: `{"a":[1,2.5,"x",null,true]}` + "\n"},
		{name: "HTML not escaped", args: []string{"test.echo", "<a&b>"}, wantOut: "\"<a&b>\"\n"},
		{name: "kwargs", args: []string{"-k", "b=3", "-k", "a=10", "test.sub"}, wantOut: "7\n"},
		{name: "kwargs and args", args: []string{"-k", "b=3", "test.sub", "1"}, wantOut: "-2\n"},
		{name: "progress", args: []string{"--progress", "test.count", "3"}, wantOut: "0\n1\n2\n3\n"},
		{name: "no progress asked", args: []string{"test.count", "3"}, wantOut: "3\n"},
		{name: "several results", args: []string{"test.divmod", "7", "2"}, wantOut: `{"args":[3,1],"kwargs":{}}` + "\n"},
		{name: "binary", args: []string{"test.bytes"}, wantOut: "\"AQID\"\n"},
		{name: "binary in several results", args: []string{"test.pair"}, wantOut: `{"args":["AQID",7],"kwargs":{}}` + "\n"},
		{name: "binary in an error", args: []string{"test.failbytes"}, code: exitFailed,
			wantErrOut: `wampfn: call test.failbytes: com.example.error.binary args=["AQID",["BA=="]] kwargs={"b":"BQ=="}` + "\n"},
		{name: "error", args: []string{"test.fail"}, code: exitFailed,
			wantErrOut: `wampfn: call test.fail: com.example.error.not_found args=["no book 42"] kwargs={"id":42}` + "\n"},
		{name: "no such procedure", args: []string{"test.nothing"}, code: exitFailed,
			wantErrOut: "wampfn: call test.nothing: wamp.error.no_such_procedure args=[] kwargs={}\n"},
		{name: "invalid argument", args: []string{"test.add", "two", "3"}, code: exitFailed,
			wantErrOut: "wampfn: call test.add: wamp.error.invalid_argument args=[\"argument 0: cannot use string \\\"two\\\" as int\"] kwargs={}\n"},
		{name: "HTML not escaped in an error", args: []string{"test.add", "<a&b>", "1"}, code: exitFailed,
			wantErrOut: "wampfn: call test.add: wamp.error.invalid_argument args=[\"argument 0: cannot use string \\\"<a&b>\\\" as int\"] kwargs={}\n"},
		{name: "timeout", args: []string{"--timeout", "100ms", "test.sleep"}, code: exitFailed,
			wantErrOut: "wampfn: call test.sleep: wamp.error.timeout args=[\"call timeout\"] kwargs={}\n"},
	}
	for _, ser := range callSerializers {
		t.Run(ser, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					args := append([]string{"call", "--url", r.URL(), "--serializer", ser}, tt.args...)
					code, out, errOut := runCLI(t.Context(), args...)
					require.Equal(t, tt.code, code, "stderr: %q", errOut)
					require.Equal(t, tt.wantOut, out)
					require.Equal(t, tt.wantErrOut, errOut)
				})
			}
		})
	}
}

// TestCallUsage: usage errors exit 2 with one line saying which, before
// connecting (the URL is never dialled).
func TestCallUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--bogus", "p"}, "wampfn: flag provided but not defined: -bogus\n"},
		{"k without =", []string{"-k", "novalue", "p"}, "wampfn: invalid value \"novalue\" for flag -k: want KEY=VALUE\n"},
		{"k without key", []string{"-k", "=1", "p"}, "wampfn: invalid value \"=1\" for flag -k: empty KEY in KEY=VALUE\n"},
		{"k out of range", []string{"-k", "a=1e999", "p"}, "wampfn: invalid value \"a=1e999\" for flag -k: number 1e999 is out of range\n"},
		{"missing procedure", nil, "wampfn: call: missing PROCEDURE; usage: wampfn call [flags] PROCEDURE [ARG...]\n"},
		{"flags only", []string{"--progress"}, "wampfn: call: missing PROCEDURE; usage: wampfn call [flags] PROCEDURE [ARG...]\n"},
		{"repeat 0", []string{"--repeat", "0", "p"}, "wampfn: call: --repeat 0: want at least 1\n"},
		{"concurrency -1", []string{"--concurrency", "-1", "p"}, "wampfn: call: --concurrency -1: want at least 1\n"},
		{"negative timeout", []string{"--timeout", "-1s", "p"}, "wampfn: call: --timeout -1s: want a positive duration, or 0 for none\n"},
		{"bad timeout", []string{"--timeout", "soon", "p"}, "wampfn: invalid value \"soon\" for flag -timeout: parse error\n"},
		{"ARG out of range", []string{"p", "1", "-1e999"}, "wampfn: call: ARG 2: number -1e999 is out of range\n"},
		{"serializer", []string{"--serializer", "xml", "p"}, "wampfn: --serializer \"xml\": want json, msgpack or cbor\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"call", "--url", "ws://127.0.0.1:1/"}, tt.args...)
			code, out, errOut := runCLI(t.Context(), args...)
			require.Equal(t, exitUsage, code, "stderr: %q", errOut)
			require.Equal(t, tt.want, errOut)
			require.Empty(t, out)
		})
	}

	// -h: the usage on stdout, with call's own flags.
	code, out, errOut := runCLI(t.Context(), "call", "-h")
	require.Equal(t, exitOK, code)
	require.Empty(t, errOut)
	require.True(t, strings.HasPrefix(out, "usage: wampfn call [flags] PROCEDURE [ARG...]\n"), out)
	for _, f := range []string{"-k KEY=VALUE", "-progress", "-timeout D", "-repeat N", "-concurrency C", "-url URL"} {
		require.Contains(t, out, f)
	}
}

// TestCallUnreachable: a router that is not there is one line naming the
// URL, and exit status 1.
func TestCallUnreachable(t *testing.T) {
	noLeaks(t)
	url := unusedURL(t)
	for _, args := range [][]string{{"test.add", "1", "2"}, {"--repeat", "10", "test.add"}} {
		code, out, errOut := runCLI(t.Context(), append([]string{"call", "--url", url}, args...)...)
		require.Equal(t, exitFailed, code)
		require.Empty(t, out)
		require.True(t, strings.HasPrefix(errOut, "wampfn: connect "+url+": "), errOut)
		require.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
	}
}

// firstLineWriter is a stdout that calls onLine, once, when the first line is
// complete; it is written on nexus's progress goroutine.
type firstLineWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	once   sync.Once
	onLine func()
}

func (w *firstLineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	n, _ := w.buf.Write(p)
	line := bytes.IndexByte(w.buf.Bytes(), '\n') >= 0
	w.mu.Unlock()
	if line {
		w.once.Do(w.onLine)
	}
	return n, nil
}

func (w *firstLineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestCallInterrupt: ctx, which main ends on SIGINT or SIGTERM, ends
// during the call: wampfn cancels the call (CANCEL, mode kill), the
// callee's ctx ends, and wampfn exits 130 with one line.
func TestCallInterrupt(t *testing.T) {
	noLeaks(t)
	r, ev := newCallRouter(t)
	for _, ser := range callSerializers {
		t.Run(ser, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			out := &firstLineWriter{onLine: cancel}
			var errOut bytes.Buffer
			code := run(ctx, []string{"call", "--url", r.URL(), "--serializer", ser, "--progress", "test.wait"}, noEnv, out, &errOut)
			require.Equal(t, exitInterrupted, code, "stderr: %q", errOut.String())
			require.Equal(t, "1\n", out.String())
			require.Equal(t, "wampfn: call test.wait: interrupted\n", errOut.String())
			assertCancelled(t, ev)
		})
	}
}

// blockedWriter is a stdout that nobody reads: each Write reports on
// writing that it has begun, and blocks until unblock is called, or the
// test ends.
type blockedWriter struct {
	writing chan struct{}
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	buf     bytes.Buffer
}

func newBlockedWriter(t *testing.T) *blockedWriter {
	w := &blockedWriter{writing: make(chan struct{}, 1), release: make(chan struct{})}
	t.Cleanup(w.unblock) // before noLeaks's check
	return w
}

func (w *blockedWriter) unblock() { w.once.Do(func() { close(w.release) }) }

func (w *blockedWriter) Write(p []byte) (int, error) {
	select {
	case w.writing <- struct{}{}:
	default:
	}
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *blockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestCallInterruptBlockedStdout: stdout blocks (a pipe that its reader
// stopped reading), and ctx ends while wampfn writes a result to it: a
// progressive result's write is abandoned at once, so the call is
// cancelled at once; the final result's write gets cancelWait, as a call
// does. wampfn exits 130 with one line.
func TestCallInterruptBlockedStdout(t *testing.T) {
	noLeaks(t)
	r, ev := newCallRouter(t)
	for _, tt := range []struct {
		name, proc string
		args       []string
	}{
		{"progressive", "test.wait", []string{"--progress", "test.wait"}},
		{"final", "test.add", []string{"test.add", "1", "2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			out := newBlockedWriter(t)
			var errOut bytes.Buffer
			done := make(chan int, 1)
			go func() { done <- run(ctx, append([]string{"call", "--url", r.URL()}, tt.args...), noEnv, out, &errOut) }()
			recvWithin(t, out.writing, calleeWaitLimit, "the first write to stdout")
			cancel()
			start := time.Now()
			code := recvWithin(t, done, cancelWait+3*time.Second, "wampfn's exit once interrupted")
			if tt.name == "progressive" {
				require.Less(t, time.Since(start), cancelWait, "the write is abandoned at once")
			}
			require.Equal(t, exitInterrupted, code, "stderr: %q", errOut.String())
			require.Equal(t, "wampfn: call "+tt.proc+": interrupted\n", errOut.String())
			if tt.name == "progressive" {
				assertCancelled(t, ev)
			}
		})
	}
}

// TestCallInterruptStubborn: a callee that does not stop when
// interrupted; wampfn waits cancelWait for it, no longer, and exits 130.
func TestCallInterruptStubborn(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	interrupted, release := stubbornCallee(t, r)
	// What is left once run has returned: nexus's Call, which waits for
	// the router's ERROR for up to its response timeout (5 s).
	settled := goleak.IgnoreCurrent()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &firstLineWriter{onLine: cancel}
	var errOut bytes.Buffer
	start := time.Now()
	code := run(ctx, []string{"call", "--url", r.URL(), "--progress", "test.stubborn"}, noEnv, out, &errOut)
	elapsed := time.Since(start)
	require.Equal(t, exitInterrupted, code, "stderr: %q", errOut.String())
	require.Equal(t, "1\n", out.String())
	require.Equal(t, "wampfn: call test.stubborn: interrupted\n", errOut.String())
	select {
	case <-interrupted:
	default:
		t.Fatal("the callee got no INTERRUPT")
	}
	require.GreaterOrEqual(t, elapsed, cancelWait, "wampfn waits for the callee")
	require.Less(t, elapsed, cancelWait+5*time.Second, "for cancelWait, not longer")

	release()
	require.Eventually(t, func() bool { return goleak.Find(settled) == nil }, 15*time.Second, 50*time.Millisecond,
		"the goroutines of the abandoned call end")
}

// stubbornCallee registers test.stubborn on r with a callee that speaks
// WAMP messages itself, so that it can do what a nexus client would not:
// ignore an INTERRUPT. It answers an INVOCATION with one progressive
// YIELD [1], reports an INTERRUPT on interrupted, and sends the final
// YIELD [2] when release is called. It leaves at cleanup.
func stubbornCallee(t *testing.T, r *wampfntest.Router) (interrupted <-chan struct{}, release func()) {
	t.Helper()
	peer, routerSide := transport.LinkedPeers()
	go r.Nexus().Attach(routerSide)
	features := wamp.Dict{"call_canceling": true, "progressive_call_results": true}
	peer.Send() <- &wamp.Hello{Realm: wamp.URI(r.Realm()), Details: wamp.Dict{
		"roles": wamp.Dict{"callee": wamp.Dict{"features": features}},
	}}
	msg, err := wamp.RecvTimeout(peer, 5*time.Second)
	require.NoError(t, err)
	require.IsType(t, &wamp.Welcome{}, msg)
	peer.Send() <- &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "test.stubborn"}
	msg, err = wamp.RecvTimeout(peer, 5*time.Second)
	require.NoError(t, err)
	require.IsType(t, &wamp.Registered{}, msg)

	invoked := make(chan wamp.ID, 1)
	intr := make(chan struct{}, 1)
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for m := range peer.Recv() {
			switch m := m.(type) {
			case *wamp.Invocation:
				peer.Send() <- &wamp.Yield{Request: m.Request, Options: wamp.Dict{wamp.OptProgress: true}, Arguments: wamp.List{1}}
				invoked <- m.Request
			case *wamp.Interrupt:
				select {
				case intr <- struct{}{}:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		select {
		case peer.Send() <- &wamp.Goodbye{Reason: wamp.CloseRealm, Details: wamp.Dict{}}:
		case <-time.After(2 * time.Second):
		}
		peer.Close()
		select {
		case <-gone:
		case <-time.After(5 * time.Second):
			t.Error("the stubborn callee's session did not end")
		}
	})
	release = func() {
		select {
		case id := <-invoked:
			peer.Send() <- &wamp.Yield{Request: id, Options: wamp.Dict{}, Arguments: wamp.List{2}}
		default:
		}
	}
	return intr, release
}

// assertCancelled asserts that one call of a test procedure has seen its
// ctx cancelled, within cancelAssert.
func assertCancelled(t *testing.T, ev *calleeEvents) {
	t.Helper()
	select {
	case err := <-ev.cancelled:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(cancelAssert):
		t.Fatalf("the callee's ctx was not cancelled within %v", cancelAssert)
	}
}

func TestParseArg(t *testing.T) {
	tests := []struct {
		in      string
		want    any
		wantErr string
	}{
		{in: "5", want: int64(5)},
		{in: " -3 ", want: int64(-3)},
		{in: "9223372036854775807", want: int64(9223372036854775807)},
		{in: "9223372036854775808", want: uint64(9223372036854775808)},
		{in: "18446744073709551615", want: uint64(18446744073709551615)},
		{in: "18446744073709551616", want: float64(18446744073709551616)},
		{in: "-9223372036854775809", want: float64(-9223372036854775809)},
		{in: "1.5", want: 1.5},
		{in: "1e3", want: 1000.0},
		{in: "2.0", want: 2.0},
		{in: "1e999", wantErr: "number 1e999 is out of range"},
		{in: "[1, [1e999]]", wantErr: "number 1e999 is out of range"},
		{in: "hello", want: "hello"},
		{in: "", want: ""},
		{in: `"5"`, want: "5"},
		{in: "1 2", want: "1 2"},
		{in: "[1,", want: "[1,"},
		{in: "true", want: true},
		{in: "null", want: nil},
		{in: `[1, "a", {"b": 2}]`, want: []any{int64(1), "a", map[string]any{"b": int64(2)}}},
		{in: `{"n": -1, "f": 0.5}`, want: map[string]any{"n": int64(-1), "f": 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseArg(tt.in)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestPrintable(t *testing.T) {
	// encoding/json prints []byte in base64; nexus's JSON serializer
	// carries binary as a NUL and base64.
	require.Equal(t, []byte{1, 2, 3}, printable("\x00AQID"))
	require.Equal(t, "\x00not base64", printable("\x00not base64"))
	require.Equal(t, []any{[]byte{1}, map[string]any{"b": []byte{2}}},
		printable([]any{"\x00AQ==", wamp.Dict{"b": "\x00Ag=="}}))
	// The named types, as nexus delivers a message's args and kwargs.
	require.Equal(t, []any{[]byte{1}, []any{[]byte{2}}}, printable(wamp.List{"\x00AQ==", wamp.List{"\x00Ag=="}}))
	require.Equal(t, map[string]any{"a": []byte{1}}, printable(wamp.Dict{"a": "\x00AQ=="}))
}

func TestResultWriter(t *testing.T) {
	var out bytes.Buffer
	rw := newResultWriter(&out)
	require.True(t, rw.print(nil, wamp.List{"a"}, nil))
	require.True(t, rw.print(nil, nil, nil))
	require.True(t, rw.print(nil, wamp.List{1, 2}, wamp.Dict{"k": []byte{0xff}}))
	require.True(t, rw.print(nil, nil, wamp.Dict{"k": "v"}))
	require.True(t, rw.print(nil, wamp.List{"<a&b>", []byte{1}}, nil))
	require.NoError(t, rw.err())
	require.Equal(t, `"a"
{"args":[],"kwargs":{}}
{"args":[1,2],"kwargs":{"k":"/w=="}}
{"args":[],"kwargs":{"k":"v"}}
{"args":["<a&b>","AQ=="],"kwargs":{}}
`, out.String())

	// A NaN cannot be printed: the first error, and nothing after it.
	out.Reset()
	require.False(t, rw.print(nil, wamp.List{math.NaN()}, nil))
	require.False(t, rw.print(nil, wamp.List{1}, nil))
	require.EqualError(t, rw.err(), "cannot print a result as JSON: json: unsupported value: NaN")
	require.Empty(t, out.String())

	// Closed: nothing more.
	rw = newResultWriter(&out)
	rw.close()
	rw.close()
	require.False(t, rw.print(nil, wamp.List{1}, nil))
	require.NoError(t, rw.err())
	require.Empty(t, out.String())

	// A write that blocks: close does not wait for it, and print returns.
	blocked := newBlockedWriter(t)
	rw = newResultWriter(blocked)
	printed := make(chan bool, 1)
	go func() { printed <- rw.print(nil, wamp.List{1}, nil) }()
	recvWithin(t, blocked.writing, 5*time.Second, "the write")
	closed := make(chan struct{})
	go func() {
		rw.close()
		close(closed)
	}()
	recvWithin(t, closed, time.Second, "close")
	require.False(t, recvWithin(t, printed, time.Second, "print, once closed"))
	require.NoError(t, rw.err())

	// print's stop abandons the write; a later print waits for it, as
	// long as it would wait for its own.
	blocked = newBlockedWriter(t)
	rw = newResultWriter(blocked)
	stop := make(chan struct{})
	go func() { printed <- rw.print(stop, wamp.List{1}, nil) }()
	recvWithin(t, blocked.writing, 5*time.Second, "the write")
	close(stop)
	require.False(t, recvWithin(t, printed, time.Second, "print, once stopped"))
	require.False(t, rw.print(stop, wamp.List{2}, nil), "stopped, while the first write is blocked")
	go func() { printed <- rw.print(nil, wamp.List{3}, nil) }()
	time.Sleep(10 * time.Millisecond) // print waits for the first write (if not yet, the test tests less)
	blocked.unblock()
	require.True(t, recvWithin(t, printed, 5*time.Second, "print, once the first write is done"))
	require.Equal(t, "1\n3\n", blocked.String())
	require.NoError(t, rw.err())

	// closeAfter: closed grace after ctx ends, unless stopped.
	ctx, cancel := context.WithCancel(t.Context())
	rw = newResultWriter(newBlockedWriter(t))
	defer rw.closeAfter(ctx, 10*time.Millisecond)()
	go func() { printed <- rw.print(nil, wamp.List{1}, nil) }()
	cancel()
	require.False(t, recvWithin(t, printed, 5*time.Second, "print, closed after ctx ended"))
	rw = newResultWriter(&out)
	rw.closeAfter(t.Context(), time.Millisecond)()
	require.False(t, rw.isClosed(), "stopped")
}
