package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/transport/serialize"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn"
	"github.com/wampfn/wampfn/wampfntest"
)

func TestDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	start := time.Now()
	code := run(t.Context(), []string{"-interval", "20ms"}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Equal(t, "Progress: 0\nProgress: 1\nProgress: 2\nFinal: 3\n", out.String())
	require.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond, "one progress per interval")
	// One log line for the one call, on stderr.
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	require.Len(t, lines, 1, "stderr: %q", errOut.String())
	require.Regexp(t, `^time=\S+ level=INFO msg="wamp call" procedure=com\.myapp\.longop duration=\S+ outcome=ok$`, lines[0])

	// -quiet: no log.
	out.Reset()
	errOut.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"-interval", "1ms", "-quiet"}, &out, &errOut))
	require.Equal(t, "Progress: 0\nProgress: 1\nProgress: 2\nFinal: 3\n", out.String())
	require.Empty(t, errOut.String())
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-interval", "-1s"}, 2, "longop: -interval must be positive, got -1s\n"},
		{[]string{"-serializer", "xml"}, 2, "longop: -serializer must be json, msgpack or cbor, got \"xml\"\n"},
		{[]string{"extra"}, 2, "longop: unexpected argument \"extra\"\n"},
		{[]string{"-router", "ws://127.0.0.1:1/ws"}, 1, "longop: wampfn: connect ws://127.0.0.1:1/ws: "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			require.Equal(t, tt.code, run(t.Context(), tt.args, &out, &errOut))
			require.True(t, strings.HasPrefix(errOut.String(), tt.want), "stderr: %q", errOut.String())
			require.Equal(t, 1, strings.Count(errOut.String(), "\n"), "one clear line")
			require.Empty(t, out.String())
		})
	}
}

// TestNegativeN: a negative n is a bad argument. longop reports it as an
// *wampfn.ArgumentError, not as a *wampfn.Error with a "wamp." URI (which
// Error's doc forbids), so the caller gets wamp.error.invalid_argument
// with a message that names the argument, with or without progress.
func TestNegativeN(t *testing.T) {
	const wantMsg = "argument 0 (n): must not be negative, got -1"

	_, err := longop(time.Millisecond)(t.Context(), -1, wampfn.ProgressSink[int]{})
	var argErr *wampfn.ArgumentError
	require.True(t, errors.As(err, &argErr), "want an *wampfn.ArgumentError, got %T %v", err, err)
	require.Equal(t, 0, argErr.Index)
	require.Equal(t, "n", argErr.Name)
	var appErr *wampfn.Error
	require.False(t, errors.As(err, &appErr), "a *wampfn.Error must not carry a wamp. URI")

	r := wampfntest.NewRouter(t)
	callee, caller := r.Connect(t, wampfntest.InProcess), r.Connect(t, wampfntest.InProcess)
	require.NoError(t, wampfn.Register(callee, procedure, longop(time.Millisecond), wampfn.WithParamNames("n")))

	tests := []struct {
		name     string
		args     wamp.List
		kwargs   wamp.Dict
		progress bool
	}{
		{name: "positional", args: wamp.List{-1}},
		{name: "keyword", kwargs: wamp.Dict{"n": -1}},
		{name: "with progress", args: wamp.List{-1}, progress: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu       sync.Mutex
				progress []*wamp.Result
				onProg   client.ProgressHandler
			)
			if tt.progress {
				// Runs on the client's goroutine: record, assert below.
				onProg = func(r *wamp.Result) {
					mu.Lock()
					progress = append(progress, r)
					mu.Unlock()
				}
			}
			res, err := caller.Call(t.Context(), procedure, nil, tt.args, tt.kwargs, onProg)
			require.Nil(t, res)
			var rpcErr client.RPCError
			require.True(t, errors.As(err, &rpcErr), "want a WAMP ERROR, got %v", err)
			require.Equal(t, wamp.ErrInvalidArgument, rpcErr.Err.Error)
			require.Equal(t, wamp.List{wantMsg}, rpcErr.Err.Arguments)
			mu.Lock()
			defer mu.Unlock()
			require.Empty(t, progress)
		})
	}

	// The demonstration call with -n -1 reports the same error.
	var out, errOut bytes.Buffer
	require.Equal(t, 1, run(t.Context(), []string{"-n", "-1", "-interval", "1ms"}, &out, &errOut))
	// The callee logs the call (Warn: an argument error), then the caller
	// reports it.
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	require.Len(t, lines, 2, "stderr: %q", errOut.String())
	require.Regexp(t, `level=WARN msg="wamp call" procedure=com\.myapp\.longop duration=\S+ outcome=wamp\.error\.invalid_argument error="`+regexp.QuoteMeta(wantMsg)+`"$`, lines[0])
	require.Equal(t, "longop: call failed: wamp.error.invalid_argument ["+wantMsg+"]", lines[1])
	require.Empty(t, out.String())
}

// TestListen serves longop with -listen and calls it over WebSocket, with
// and without progress, and checks -router against that same router.
func TestListen(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-interval", "10ms"}, out, &syncBuffer{}) }()
	var url string
	require.Eventually(t, func() bool {
		_, rest, ok := strings.Cut(out.String(), "at ws://")
		if ok {
			url = "ws://" + strings.Fields(rest)[0]
		}
		return ok
	}, 10*time.Second, 10*time.Millisecond)

	for _, ser := range []string{"json", "msgpack", "cbor"} {
		t.Run(ser, func(t *testing.T) {
			c, err := client.ConnectNet(t.Context(), url, client.Config{Realm: "realm1", Serialization: serializations[ser]})
			require.NoError(t, err)
			defer c.Close()
			var progress []any
			res, err := c.Call(t.Context(), procedure, nil, wamp.List{3}, nil, func(r *wamp.Result) {
				progress = append(progress, r.Arguments[0])
			})
			require.NoError(t, err)
			require.Len(t, progress, 3)
			require.EqualValues(t, 3, res.Arguments[0])
			res, err = c.Call(t.Context(), procedure, nil, nil, wamp.Dict{"n": 2}, nil)
			require.NoError(t, err)
			require.EqualValues(t, 2, res.Arguments[0])

			// The OpenRPC document, as docs/discovery.md shows it (written
			// out by hand in the repository's testdata).
			res, err = c.Call(t.Context(), discovery, nil, nil, nil, nil)
			require.NoError(t, err)
			doc, err := json.Marshal(res.Arguments[0])
			require.NoError(t, err)
			want, err := os.ReadFile("../../testdata/openrpc/longop.json")
			require.NoError(t, err)
			require.JSONEq(t, string(want), string(doc))
		})
	}

	// A second longop serves the same router with -router; the shared
	// procedure name is then taken, so registration fails cleanly.
	var errOut bytes.Buffer
	code := run(t.Context(), []string{"-router", url}, &bytes.Buffer{}, &errOut)
	require.Equal(t, 1, code)
	require.Contains(t, errOut.String(), "wamp.error.procedure_already_exists")

	cancel()
	require.Equal(t, 0, <-done)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var serializations = map[string]serialize.Serialization{"json": serialize.JSON, "msgpack": serialize.MSGPACK, "cbor": serialize.CBOR}
