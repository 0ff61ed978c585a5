package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn"
	"github.com/wampfn/wampfn/wampfntest"
	"go.uber.org/goleak"
)

const wantStdout = `add: 1 "The Go Programming Language" by Donovan & Kernighan (2015)
add: 2 "The C Programming Language" by Kernighan & Ritchie (1978)
add: 3 "Structure and Interpretation of Computer Programs" by Abelson & Sussman (1985)
get 2: "The C Programming Language" by Kernighan & Ritchie (1978)
get 42: com.example.error.not_found [no book with ID 42]
list: "The Go Programming Language" by Donovan & Kernighan (2015)
list: "The C Programming Language" by Kernighan & Ritchie (1978)
list: 2 matching "language"
lend 1 to ada: ok
lend id=3 borrower=grace: ok
stats: 3 books, 2 on loan
describe: com.example.library.add: Adds a book; returns its ID.
describe: com.example.library.get: Returns the book with an ID.
describe: com.example.library.lend: Lends a book.
describe: com.example.library.list: Finds books by title or author.
describe: com.example.library.stats: Counts the books, and those on loan.
service stopped
`

// noLeaks checks, after the test's other cleanups (it is registered
// first, and cleanups run last first), that every goroutine started since
// it was called has ended: the router, both sessions and the Service.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent() // now, not when the cleanup runs
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

func TestDemo(t *testing.T) {
	noLeaks(t)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), nil, &out, &errOut), errOut.String())
	require.Equal(t, wantStdout, out.String())
	require.Empty(t, errOut.String())
}

// TestVerbose: -v logs each call to stderr, one line each, and leaves
// stdout as it was.
func TestVerbose(t *testing.T) {
	noLeaks(t)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"-v"}, &out, &errOut), errOut.String())
	require.Equal(t, wantStdout, out.String())

	var got []string
	for _, line := range strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n") {
		m := regexp.MustCompile(`^time=\S+ level=\w+ msg="wamp call" procedure=com\.example\.library\.(\w+) duration=\S+ outcome=(\S+)`).FindStringSubmatch(line)
		require.NotNil(t, m, "stderr line %q", line)
		got = append(got, m[1]+" "+m[2])
	}
	require.Equal(t, []string{
		"add ok", "add ok", "add ok",
		"get ok", "get com.example.error.not_found",
		"list ok", "lend ok", "lend ok", "stats ok", "describe ok",
	}, got)
}

func TestBadFlags(t *testing.T) {
	noLeaks(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, "service: flag provided but not defined: -nope\n"},
		{[]string{"-v=maybe"}, "service: invalid boolean value \"maybe\" for -v: parse error\n"},
		{[]string{"extra"}, "service: unexpected argument \"extra\"\n"},
		{[]string{"-serializer", "xml"}, "service: -serializer must be json, msgpack or cbor, got \"xml\"\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			require.Equal(t, 2, run(t.Context(), tt.args, &out, &errOut))
			require.Equal(t, tt.want, errOut.String(), "one line saying which")
			require.Empty(t, out.String())
		})
	}
}

func TestHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"-h"}, &out, &errOut))
	require.Equal(t, `usage: service [-v] [-router URL [-realm REALM] [-serializer json|msgpack|cbor]]
  -realm string
    	the WAMP realm (default "realm1")
  -router URL
    	serve the Library on the router at this URL (ws://, wss://, tcp://, unix://) until interrupted, instead of the demonstration
  -serializer string
    	serializer for -router: json, msgpack or cbor (default "json")
  -v	log each call to stderr
`, out.String())
	require.Empty(t, errOut.String())
}

// serveLibrary serves lib's methods on a Service with opts that dials r,
// until the test's cleanup stops it, and returns once they are
// registered.
func serveLibrary(t *testing.T, r *wampfntest.Router, lib *Library, opts ...wampfn.ServiceOption) {
	ready := make(chan struct{}, 1)
	svc := wampfn.NewService(r.Dialer(wampfntest.InProcess),
		append(opts, wampfn.WithOnConnect(func(context.Context, *client.Client) { ready <- struct{}{} }))...)
	require.NoError(t, svc.RegisterMethods(prefix, lib))
	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- svc.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-stopped)
	})
	<-ready
}

// TestLibraryOnEveryTransport tests the Library as its author would with
// wampfntest: served by a Service that dials the kit's router, called
// through BindAll from a caller on each transport. The kit closes the
// callers, then the router; the Service is stopped before that.
func TestLibraryOnEveryTransport(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	lib := &Library{}
	serveLibrary(t, r, lib)

	for _, tr := range wampfntest.Transports {
		t.Run(tr.String(), func(t *testing.T) {
			var c libraryClient
			require.NoError(t, wampfn.BindAll(r.Connect(t, tr), prefix, &c))
			book := Book{Title: "The Mythical Man-Month (" + tr.String() + ")", Author: "Brooks", Year: 1975}
			id, err := c.Add(t.Context(), book)
			require.NoError(t, err)
			got, err := c.Get(t.Context(), id)
			require.NoError(t, err)
			require.Equal(t, book, got)

			_, err = c.Get(t.Context(), 1000)
			var werr *wampfn.Error
			require.ErrorAs(t, err, &werr)
			require.Equal(t, errNotFound, werr.URI)

			var listed []Book
			n, err := c.List(t.Context(), tr.String(), func(b Book) { listed = append(listed, b) })
			require.NoError(t, err)
			require.Equal(t, 1, n)
			require.Equal(t, []Book{book}, listed)

			require.NoError(t, c.Borrow(t.Context(), id, "ada"))
			err = c.Borrow(t.Context(), id, "grace")
			require.ErrorAs(t, err, &werr)
			require.Equal(t, errOnLoan, werr.URI)
		})
	}
	stats, err := lib.Stats()
	require.NoError(t, err)
	require.Equal(t, Stats{Books: len(wampfntest.Transports), OnLoan: len(wampfntest.Transports)}, stats)
}

// TestDiscovery fetches the Library's OpenRPC document from its discovery
// procedure over each transport, checks what it says against the Go
// signatures (written out here by hand), and validates what real calls
// return against the document's own schemas.
func TestDiscovery(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	serveLibrary(t, r, &Library{},
		wampfn.WithDiscovery(prefix+"describe"), wampfn.WithInfo(wampfn.Info{Title: "library", Version: "1.0.0"}))

	const (
		id   = `{"type": "integer", "minimum": -9223372036854775808, "maximum": 9223372036854775807}`
		book = `{"$ref": "#/components/schemas/Book"}`
	)
	want := map[string]string{
		"info":       `{"title": "library", "version": "1.0.0"}`,
		"components": `{"schemas": {"Book": {"type": "object", "properties": {"title": {"type": "string"}, "author": {"type": "string"}, "year": ` + id + `, "borrower": {"type": "string"}}}, "Stats": {"type": "object", "properties": {"books": ` + id + `, "on_loan": ` + id + `}}}}`,
		"add": `{"name": "com.example.library.add", "summary": "Adds a book; returns its ID.", "paramStructure": "by-position",
			"params": [{"name": "arg0", "required": true, "schema": ` + book + `}], "result": {"name": "result", "schema": ` + id + `}}`,
		"lend": `{"name": "com.example.library.lend", "summary": "Lends a book.", "paramStructure": "either",
			"params": [{"name": "id", "description": "the book's ID", "required": true, "schema": ` + id + `},
				{"name": "borrower", "description": "who borrows it", "required": true, "schema": {"type": "string"}}],
			"result": {"name": "result", "schema": {"type": "null"}}}`,
		"list": `{"name": "com.example.library.list", "summary": "Finds books by title or author.",
			"description": "Sends each matching book as a progressive result, in the order of their IDs, then returns how many matched.",
			"paramStructure": "by-position",
			"params": [{"name": "arg0", "description": "a part of the title or the author, ignoring case; \"\" matches all", "required": true, "schema": {"type": "string"}}],
			"result": {"name": "result", "description": "how many books matched", "schema": ` + id + `},
			"x-wamp-progress": {"name": "progress", "schema": ` + book + `}}`,
	}
	for _, tr := range wampfntest.Transports {
		t.Run(tr.String(), func(t *testing.T) {
			c := r.Connect(t, tr)
			res, err := c.Call(t.Context(), prefix+"describe", nil, nil, nil, nil)
			require.NoError(t, err)
			require.Len(t, res.Arguments, 1)
			doc := jsonOf(t, res.Arguments[0]).(map[string]any)
			require.Equal(t, "1.3.2", doc["openrpc"])
			require.JSONEq(t, want["info"], mustJSON(t, doc["info"]))
			require.JSONEq(t, want["components"], mustJSON(t, doc["components"]))
			methods := map[string]any{}
			var names []string
			for _, m := range doc["methods"].([]any) {
				name := m.(map[string]any)["name"].(string)
				names = append(names, name)
				methods[strings.TrimPrefix(name, prefix)] = m
			}
			require.Equal(t, []string{prefix + "add", prefix + "get", prefix + "lend", prefix + "list", prefix + "stats"}, names, "sorted by name")
			for _, m := range []string{"add", "lend", "list"} {
				require.JSONEq(t, want[m], mustJSON(t, methods[m]), m)
			}

			// What the procedures return validates against the document.
			_, err = c.Call(t.Context(), prefix+"add", nil, wamp.List{map[string]any{"title": "Dune", "author": "Herbert", "year": 1965}}, nil, nil)
			require.NoError(t, err)
			for _, call := range []struct {
				method string
				args   wamp.List
			}{{"get", wamp.List{1}}, {"stats", nil}, {"list", wamp.List{""}}} {
				res, err := c.Call(t.Context(), prefix+call.method, nil, call.args, nil, nil)
				require.NoError(t, err)
				result := methods[call.method].(map[string]any)["result"].(map[string]any)["schema"]
				sch := compile(t, result, doc["components"])
				require.NoError(t, sch.Validate(jsonOf(t, res.Arguments[0])), "%s: %v", call.method, res.Arguments)
			}
			// ... and what does not fit, does not.
			sch := compile(t, methods["lend"].(map[string]any)["params"].([]any)[0].(map[string]any)["schema"], doc["components"])
			require.Error(t, sch.Validate(jsonOf(t, "3")), "a string as an ID")
		})
	}
}

// jsonOf returns v as a JSON value: numbers as json.Number, as the
// validator reads them.
func jsonOf(t *testing.T, v any) any {
	x, err := jsonschema.UnmarshalJSON(strings.NewReader(mustJSON(t, v)))
	require.NoError(t, err)
	return x
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// compile compiles schema, whose $refs point into components, as draft-07.
func compile(t *testing.T, schema, components any) *jsonschema.Schema {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat()
	root := map[string]any{"allOf": []any{schema}, "components": components}
	require.NoError(t, c.AddResource("mem:///s.json", jsonOf(t, root)))
	sch, err := c.Compile("mem:///s.json")
	require.NoError(t, err)
	return sch
}

// TestRouter serves the Library with -router on a wampfntest router, over
// WebSocket with each serializer and in another realm, calls it from there
// through BindAll and its discovery procedure, and stops it as SIGINT
// would (its ctx): it shuts down gracefully and exits 0.
func TestRouter(t *testing.T) {
	noLeaks(t)
	for _, ser := range []string{"json", "msgpack", "cbor"} {
		t.Run(ser, func(t *testing.T) {
			r := wampfntest.NewRouter(t, wampfntest.WithRealm("library"))
			ctx, cancel := context.WithCancel(t.Context())
			var out, errOut syncBuffer
			done := make(chan int, 1)
			go func() {
				done <- run(ctx, []string{"-router", r.URL(), "-realm", "library", "-serializer", ser}, &out, &errOut)
			}()
			t.Cleanup(func() { // before the router's
				cancel()
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					t.Error("run did not return 30 s after its ctx was done")
				}
			})
			serving := "serving com.example.library.* on " + r.URL() + " realm library\n"
			require.Eventually(t, func() bool { return out.String() == serving }, 10*time.Second, 5*time.Millisecond,
				"stdout: %q, stderr: %q", out.String(), errOut.String())

			c := r.Connect(t, wampfntest.InProcess)
			var lib libraryClient
			require.NoError(t, wampfn.BindAll(c, prefix, &lib))
			id, err := lib.Add(t.Context(), Book{Title: "Dune", Author: "Herbert", Year: 1965})
			require.NoError(t, err)
			require.Equal(t, ID(1), id, "a Library of its own, empty")
			var listed []Book
			n, err := lib.List(t.Context(), "", func(b Book) { listed = append(listed, b) })
			require.NoError(t, err)
			require.Equal(t, 1, n)
			require.Equal(t, []Book{{Title: "Dune", Author: "Herbert", Year: 1965}}, listed)
			_, err = lib.Get(t.Context(), 2)
			var werr *wampfn.Error
			require.ErrorAs(t, err, &werr)
			require.Equal(t, errNotFound, werr.URI)
			res, err := c.Call(t.Context(), prefix+"describe", nil, nil, nil, nil)
			require.NoError(t, err)
			doc, _ := wamp.AsDict(res.Arguments[0])
			require.Equal(t, map[string]any{"title": "library", "version": "1.0.0"}, jsonOf(t, doc["info"]))

			cancel()
			select {
			case code := <-done:
				require.Equal(t, 0, code, "stderr: %q", errOut.String())
			case <-time.After(30 * time.Second):
				t.Fatal("run did not return 30 s after its ctx was done")
			}
			done <- 0 // for the cleanup
			require.Equal(t, serving+"service stopped\n", out.String())
			require.Empty(t, errOut.String())
			_, err = lib.Stats(t.Context())
			require.ErrorAs(t, err, &werr, "unregistered at shutdown")
			require.Equal(t, wamp.ErrNoSuchProcedure, werr.URI)
		})
	}
}

// TestRouterUnreachable: with -router, a router that cannot be reached is
// reported on stderr, and tried again, until the ctx is done; then run
// exits 0, having served nothing.
func TestRouterUnreachable(t *testing.T) {
	noLeaks(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	var out, errOut syncBuffer
	require.Equal(t, 0, run(ctx, []string{"-router", "ws://127.0.0.1:1/ws"}, &out, &errOut))
	require.Equal(t, "service stopped\n", out.String())
	require.Regexp(t, `^(service: wampfn: connect ws://127\.0\.0\.1:1/ws: .*connection refused\n)+$`, errOut.String())
}

// syncBuffer is a bytes.Buffer that the Service's goroutines and the test
// may use at once.
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
