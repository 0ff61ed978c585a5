package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn"
	"github.com/wampfn/wampfn/wampfntest"
)

// Point is a named struct: a component of the document.
type Point struct {
	X     float64  `json:"x"`
	Y     float64  `json:"y"`
	Label string   `json:"label"`
	Tags  []string `json:"tags"`
}

const discoveryURI = "com.test.describe"

// serveCorpus serves the corpus of signatures with a Service that
// answers discoveryURI, and returns it once it is registered.
func serveCorpus(t *testing.T, r *wampfntest.Router) *wampfn.Service {
	t.Helper()
	ready := make(chan struct{}, 1)
	s := wampfn.NewService(r.Dialer(wampfntest.InProcess),
		wampfn.WithDiscovery(discoveryURI),
		wampfn.WithInfo(wampfn.Info{Title: "corpus", Version: "1.0.0"}),
		wampfn.WithOnConnect(func(context.Context, *client.Client) { ready <- struct{}{} }),
		wampfn.WithErrorHandler(func(err error) { t.Errorf("the Service reported: %v", err) }))
	procs := []struct {
		uri  string
		fn   any
		opts []wampfn.Option
	}{
		{"com.test.longop", func(ctx context.Context, n int, sink wampfn.ProgressSink[int]) (int, error) { return n, nil },
			[]wampfn.Option{wampfn.WithParamNames("n"), wampfn.WithSummary("Counts to n, one progressive result a tick."),
				wampfn.WithParamDescriptions("how many progressive results")}},
		{"com.test.move", func(p Point, by struct {
			DX int8 `json:"dx"`
			DY int8 `json:"dy"`
		}) Point {
			return p
		}, nil},
		{"com.test.find", func(id uint32) (*Point, error) { return nil, nil }, nil},
		{"com.test.greet", func(name string, greeting *string) string { return name },
			[]wampfn.Option{wampfn.WithParamNames("name", "greeting"), wampfn.WithParamDescriptions("", "Hello by default")}},
		{"com.test.sum", func(xs ...int32) int64 { return 0 }, nil},
		{"com.test.divmod", func(a, b uint16) (uint16, uint16, error) { return 0, 0, nil },
			[]wampfn.Option{wampfn.WithResultDescription("the quotient and the remainder")}},
		{"com.test.reset", func(ctx context.Context) error { return nil }, nil},
		{"com.test.count", func(n uint8) iter.Seq[uint8] { return nil }, nil},
		{"com.test.both", func(s wampfn.ProgressSink[string]) iter.Seq[int8] { return nil }, nil},
		{"com.test.hash", func(data []byte) [32]byte { return [32]byte{} }, nil},
		{"com.test.later", func(t time.Time, by float32, at *time.Time) time.Time { return t }, nil},
		{"com.test.counts", func(words []string) map[string]int { return nil }, nil},
		{"com.test.places", func(m map[string]Point, pair [2]uint64) {}, nil},
		{"com.test.upload", func(ctx context.Context, scale float64, in wampfn.InputStream[int]) (int, error) { return 0, nil },
			[]wampfn.Option{wampfn.WithParamNames("scale")}},
		{"com.test.echo", func(v any, flag bool) any { return v }, nil},
		{"com.test.files.", func(d wampfn.Details) string { return "" },
			[]wampfn.Option{wampfn.WithRegisterOptions(wamp.Dict{"match": "prefix"})}},
	}
	for _, p := range procs {
		require.NoError(t, s.Register(p.uri, p.fn, p.opts...), p.uri)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(20 * time.Second):
			t.Error("Service.Run did not return within 20 s of its ctx being cancelled")
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Service.Run returned: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the Service did not connect within 10 s")
	}
	return s
}

// wantCorpus is the signatures of the corpus, as describe prints them,
// written from the format in describeUsage.
var wantCorpus = []string{
	"com.test.both() -> []int8  progress string | int8",
	"com.test.count(arg0 uint8) -> []uint8  progress uint8",
	"com.test.counts(arg0 []string) -> map[string]int64",
	"com.test.divmod(arg0 uint16, arg1 uint16) -> (uint16, uint16)",
	"    -> the quotient and the remainder",
	"com.test.echo(arg0 any, arg1 bool) -> any",
	"com.test.files.() -> string  match prefix",
	"com.test.find(arg0 uint32) -> *Point",
	"com.test.greet(name string, greeting? *string) -> string",
	"    greeting: Hello by default",
	"com.test.hash(arg0 bytes) -> [32]uint8",
	"com.test.later(arg0 time, arg1 float32, arg2? *time) -> time",
	"com.test.longop(n int64) -> int64  progress int64",
	"    Counts to n, one progressive result a tick.",
	"    n: how many progressive results",
	"com.test.move(arg0 Point, arg1 {dx int8, dy int8}) -> Point",
	"com.test.places(arg0 map[string]Point, arg1 [2]uint64)",
	"com.test.reset()",
	"com.test.sum(arg0 ...int32) -> int64",
	"com.test.upload(scale float64) -> int64  input int64",
	"type Point {label string, tags []string, x float64, y float64}",
}

func TestDescribe(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	s := serveCorpus(t, r)
	want := strings.Join(wantCorpus, "\n") + "\n"
	wantDoc, err := json.Marshal(s.Describe())
	require.NoError(t, err)

	for _, ser := range []string{"json", "msgpack", "cbor"} {
		t.Run(ser, func(t *testing.T) {
			conn := []string{"--url", r.URL(), "--serializer", ser}
			describe := func(extra ...string) []string {
				return append(append([]string{"describe"}, conn...), append([]string{"--discovery", discoveryURI}, extra...)...)
			}

			code, out, errOut := runCLI(t.Context(), describe()...)
			require.Equal(t, exitOK, code, errOut)
			require.Empty(t, errOut)
			require.Equal(t, want, out)

			// --json: the document as it came, indented by two spaces.
			code, out, errOut = runCLI(t.Context(), describe("--json")...)
			require.Equal(t, exitOK, code, errOut)
			require.JSONEq(t, string(wantDoc), out)
			require.True(t, strings.HasPrefix(out, "{\n  \""), "indented: %.40q", out)

			// One procedure.
			code, out, errOut = runCLI(t.Context(), describe("com.test.greet")...)
			require.Equal(t, exitOK, code, errOut)
			require.Equal(t, "com.test.greet(name string, greeting? *string) -> string\n    greeting: Hello by default\n", out)
			// With its named types.
			code, out, _ = runCLI(t.Context(), describe("com.test.find")...)
			require.Equal(t, exitOK, code)
			require.Equal(t, "com.test.find(arg0 uint32) -> *Point\ntype Point {label string, tags []string, x float64, y float64}\n", out)
			// One procedure, --json: its method object.
			code, out, _ = runCLI(t.Context(), describe("--json", "com.test.reset")...)
			require.Equal(t, exitOK, code)
			require.JSONEq(t, `{"name": "com.test.reset", "paramStructure": "by-position", "params": [],
				"result": {"name": "result", "schema": {"type": "null"}}}`, out)

			// An unknown procedure.
			code, out, errOut = runCLI(t.Context(), describe("com.test.nope")...)
			require.Equal(t, exitFailed, code)
			require.Empty(t, out)
			require.Equal(t, "wampfn: describe: no procedure com.test.nope in the document of com.test.describe\n", errOut)

			// A discovery URI that nobody registered.
			code, out, errOut = runCLI(t.Context(), "describe", "--url", r.URL(), "--serializer", ser, "--discovery", "com.test.nobody")
			require.Equal(t, exitFailed, code)
			require.Empty(t, out)
			require.Equal(t, "wampfn: describe: discovery procedure com.test.nobody is not registered on realm \"realm1\"\n", errOut)
		})
	}
}

// TestDescribeNotADocument: a discovery URI whose procedure returns
// something else than an OpenRPC document, or fails.
func TestDescribeNotADocument(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	c := r.Connect(t, wampfntest.InProcess)
	require.NoError(t, wampfn.Register(c, "com.test.string", func() string { return "hello" }))
	require.NoError(t, wampfn.Register(c, "com.test.nomethods", func() map[string]any { return map[string]any{"openrpc": "1.3.2"} }))
	require.NoError(t, wampfn.Register(c, "com.test.fails", func() error { return errors.New("out of documents") }))
	for _, tt := range []struct{ uri, want string }{
		{"com.test.string", "wampfn: describe: com.test.string did not return an OpenRPC document\n"},
		{"com.test.nomethods", "wampfn: describe: com.test.nomethods did not return an OpenRPC document\n"},
		{"com.test.fails", `wampfn: describe: com.test.fails: wamp.error.runtime_error args=["out of documents"] kwargs={}` + "\n"},
	} {
		code, out, errOut := runCLI(t.Context(), "describe", "--url", r.URL(), "--discovery", tt.uri)
		require.Equal(t, exitFailed, code, tt.uri)
		require.Empty(t, out)
		require.Equal(t, tt.want, errOut, tt.uri)
	}
}

func TestDescribeUsage(t *testing.T) {
	noLeaks(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no discovery", []string{"describe"}, "wampfn: describe needs --discovery URI\n"},
		{"extra argument", []string{"describe", "--discovery", "a.b", "c.d", "e.f"},
			"wampfn: describe: unexpected argument \"e.f\": give one PROCEDURE at most\n"},
		{"unknown flag", []string{"describe", "--nope"}, "wampfn: flag provided but not defined: -nope\n"},
		{"bad timeout", []string{"describe", "--discovery", "a.b", "--timeout", "0s"},
			"wampfn: describe: --timeout must be positive, got 0s\n"},
		{"bad serializer", []string{"describe", "--discovery", "a.b", "--serializer", "xml"},
			"wampfn: --serializer \"xml\": want json, msgpack or cbor\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t.Context(), tt.args...)
			require.Equal(t, exitUsage, code)
			require.Empty(t, out)
			require.Equal(t, tt.want, errOut)
		})
	}

	// -h documents the output format.
	code, out, errOut := runCLI(t.Context(), "describe", "-h")
	require.Equal(t, exitOK, code)
	require.Empty(t, errOut)
	require.True(t, strings.HasPrefix(out, "usage: wampfn describe [flags] --discovery URI [PROCEDURE]\n"), out)
	for _, s := range []string{"com.myapp.longop(n int64) -> int64  progress int64", `"name? T"`, "-discovery URI", "-json"} {
		require.Contains(t, out, s)
	}
}

// TestConnectFailures: a refused connection and a refused session are one
// line each, and exit 1, for describe and list.
func TestConnectFailures(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	unused := unusedURL(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"describe refused connection", []string{"describe", "--url", unused, "--discovery", "a.b"}, "wampfn: connect " + unused + ": "},
		{"list refused connection", []string{"list", "--url", unused}, "wampfn: connect " + unused + ": "},
		{"describe refused session", []string{"describe", "--url", r.URL(), "--realm", "nosuchrealm", "--discovery", "a.b"},
			"wampfn: connect " + r.URL() + ", realm \"nosuchrealm\": the router refused the session: "},
		{"list refused session", []string{"list", "--url", r.URL(), "--realm", "nosuchrealm"},
			"wampfn: connect " + r.URL() + ", realm \"nosuchrealm\": the router refused the session: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t.Context(), tt.args...)
			require.Equal(t, exitFailed, code, errOut)
			require.Empty(t, out)
			require.True(t, strings.HasPrefix(errOut, tt.want), "stderr: %q", errOut)
			require.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
		})
	}
}

// TestDescribeSlow: a discovery procedure that does not answer is given
// up after --timeout, and an interrupt during the call exits 130.
func TestDescribeSlow(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	started := make(chan struct{}, 1)
	require.NoError(t, wampfn.Register(r.Connect(t, wampfntest.InProcess), "com.test.slow", func(ctx context.Context) (map[string]any, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	args := []string{"describe", "--url", r.URL(), "--discovery", "com.test.slow"}

	code, out, errOut := runCLI(t.Context(), append(args, "--timeout", "100ms")...)
	require.Equal(t, exitFailed, code)
	require.Empty(t, out)
	require.Equal(t, "wampfn: describe: com.test.slow: no answer within 100ms\n", errOut)
	recvWithin(t, started, 10*time.Second, "the slow procedure's first call")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, noEnv, &stdout, &stderr) }()
	recvWithin(t, started, 10*time.Second, "the slow procedure's second call")
	cancel()
	require.Equal(t, exitInterrupted, recvWithin(t, done, 10*time.Second, "the interrupted describe"))
	require.Empty(t, stdout.String())
	require.Equal(t, "wampfn: describe: com.test.slow: interrupted\n", stderr.String())
}

// TestTypeOf: schemas that the corpus does not produce, as other
// OpenRPC documents may have them, and numbers as each serializer
// delivers them.
func TestTypeOf(t *testing.T) {
	tests := []struct {
		schema any
		want   string
	}{
		{true, "any"},
		{false, "never"},
		{map[string]any{}, "any"},
		{map[string]any{"type": "null"}, "null"},
		{map[string]any{"type": "integer"}, "integer"},
		{map[string]any{"type": "integer", "minimum": 0, "maximum": 10}, "integer"},
		{map[string]any{"type": "integer", "minimum": uint64(0), "maximum": uint64(65535)}, "uint16"},
		{map[string]any{"type": "integer", "minimum": json.Number("0"), "maximum": json.Number("18446744073709551615")}, "uint64"},
		{map[string]any{"type": "integer", "minimum": float64(-2147483648), "maximum": float64(2147483647)}, "int32"},
		{map[string]any{"type": "integer", "minimum": -9223372036854775808.0, "maximum": 9223372036854775807.0}, "integer"}, // rounded: 2^63
		{wamp.Dict{"type": wamp.List{"integer", "null"}, "minimum": int8(-128), "maximum": int16(127)}, "*int8"},
		{map[string]any{"type": "number", "minimum": 0}, "number"},
		{map[string]any{"type": "number", "exclusiveMinimum": -3.4028235677973366e38, "exclusiveMaximum": 3.4028235677973366e38}, "float32"},
		{map[string]any{"type": []any{"string", "number"}}, "string | number"},
		{map[string]any{"anyOf": []any{map[string]any{"$ref": "#/components/schemas/P"}, map[string]any{"type": "null"}}}, "*P"},
		{map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "boolean"}, map[string]any{"type": "null"}}}, "*(string | bool)"},
		{map[string]any{"type": []any{"object", "null"}, "properties": map[string]any{"b": false, "a": map[string]any{"type": "boolean"}}}, "*{a bool}"},
		{map[string]any{"type": "object"}, "object"},
		{map[string]any{"type": "object", "properties": map[string]any{}, "additionalProperties": false}, "{}"},
		{map[string]any{"type": "array", "items": []any{map[string]any{"type": "string"}, map[string]any{"type": "boolean"}}}, "[string, bool]"},
		{map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "minItems": 1}, "[]string"},
		{map[string]any{"type": []any{"array", "null"}}, "[]any"},
		{map[string]any{"type": []any{"string", "null"}, "format": "date-time"}, "*time"},
	}
	for _, tt := range tests {
		w := &sigWriter{used: map[string]bool{}}
		require.Equal(t, tt.want, w.typeOf(tt.schema), "%v", tt.schema)
	}
}
