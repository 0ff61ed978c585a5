package interop_test

// Discovery: a wampfn.Service with WithDiscovery serves the OpenRPC document of its
// procedures, and third-party peers check that document against what the same procedures
// send and take. Autobahn|JS and Autobahn|Python, over WebSocket with JSON, msgpack and
// CBOR, each run discovery_caller.* once per serializer, which, in one session:
//
//	document   calls the discovery procedure; Node validates the document with
//	           @open-rpc/schema-utils-js and against @open-rpc/meta-schema 1.14.9;
//	           Python prints it whole, and the test compares it with Service.Describe
//	schemas    compiles every schema of the document (each param, result, x-wamp-progress,
//	           x-wamp-input and component): ajv 8 with ajv-formats (schema_check.js), and
//	           jsonschema's Draft7Validator, whose $refs must all resolve
//	calls      makes the calls of the plan that the test writes: checks each argument
//	           against its param's schema before the call, and each progressive result and
//	           the final result against the schemas of the fetched document
//	negatives  validates values that must not validate (a string for an integer, 256 for
//	           a uint8, bad base64 for a []byte...), to show that the validators are live
//
// The corpus covers the signature rules of the document: progress, a struct with every
// json tag rule, recursive types, an optional trailing pointer, a variadic parameter,
// several results, none, a wampfn.Result, an iterator, integer and float edges, optional
// pointers before others and before a variadic parameter, progress of wampfn.Results, and an
// InputStream (in the document only: neither peer streams its input).

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/wampfn/wampfn"
	"github.com/wampfn/wampfn/wampfntest"
)

// discoveryCases are the parts of a discovery run, in the order the scripts run them.
var discoveryCases = []string{"document", "schemas", "calls", "negatives"}

// discoveryInfo is the info object the Service's document must carry.
var discoveryInfo = wampfn.Info{
	Title:       "wampfn interop discovery",
	Version:     "1.2.3",
	Description: "The corpus of TestInteropDiscovery: one procedure per signature rule.",
}

// The JavaScript packages that discovery_caller.js and schema_check.js require, besides
// Autobahn|JS and when (nodeCommand checks those).
var discoveryNodePackages = []string{"ajv", "ajv-formats", "@open-rpc/schema-utils-js", "@open-rpc/meta-schema"}

var (
	jsonschemaErr    = sync.OnceValue(checkJSONSchema)
	discoveryNodeErr = sync.OnceValue(checkDiscoveryNode)
)

// checkJSONSchema checks that Debian's Python has jsonschema (python3-jsonschema), with
// which discovery_caller.py compiles the schemas and validates values.
func checkJSONSchema() error {
	if err := pythonErr(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, debianPython, "-c", "import jsonschema").CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return fmt.Errorf("%s lacks jsonschema (Debian python3-jsonschema: run interop/install.sh) (%s)",
			debianPython, lines[len(lines)-1])
	}
	return nil
}

// checkDiscoveryNode checks that interop/node_modules has the packages of the document and
// schema checks.
func checkDiscoveryNode() error {
	for _, pkg := range discoveryNodePackages {
		if _, err := os.Stat(filepath.Join(interopDir, "node_modules", pkg, "package.json")); err != nil {
			return fmt.Errorf("interop/node_modules lacks %s (run interop/install.sh)", pkg)
		}
	}
	return nil
}

// discoveryPeers are the peers of TestInteropDiscovery: Autobahn|Python with jsonschema,
// and Autobahn|JS with ajv and the OpenRPC packages. wampy.js adds nothing here: it is
// JavaScript over the same serializers.
var discoveryPeers = []peer{
	{
		name:   "autobahn-py",
		script: "discovery_caller.py",
		supports: func(_ string, tr transportKind) (bool, string) {
			// The document's checks run over WebSocket only: RawSocket adds nothing to them.
			return tr == wsTransport, ""
		},
		command: func() ([]string, error) {
			if err := jsonschemaErr(); err != nil {
				return nil, err
			}
			return []string{debianPython}, nil
		},
	},
	{
		name:   "autobahn-js",
		script: "discovery_caller.js",
		supports: func(_ string, tr transportKind) (bool, string) {
			return tr == wsTransport, ""
		},
		command: func() ([]string, error) {
			argv, err := nodeCommand()
			if err != nil {
				return nil, err
			}
			if err := discoveryNodeErr(); err != nil {
				return nil, err
			}
			return argv, nil
		},
		isJS: true,
	},
}

// Gadget is what gadget takes and returns: a named struct with every rule of
// encoding/json that the document's schema of a struct follows.
type Gadget struct {
	GadgetBase                     // embedded: its fields are Gadget's own
	Name       string              `json:"name"`
	Note       string              `json:"note,omitempty"`
	Secret     string              `json:"-"`
	Made       time.Time           `json:"made"`
	Blob       []byte              `json:"blob"`
	Owner      *Owner              `json:"owner"`
	Scores     map[string][]int8   `json:"scores"`
	Pair       [2]uint16           `json:"pair"`
	Serial     int64               `json:"serial,string"`
	Untagged   bool                // keyed by its Go name
	Nested     map[string]*Gadget2 `json:"nested,omitempty"`
}

// GadgetBase is embedded in Gadget.
type GadgetBase struct {
	ID   uint32 `json:"id"`
	Kind string `json:"kind"`
}

// Owner is a Gadget's *pointer field: an object or null.
type Owner struct {
	Name  string     `json:"name"`
	Since *time.Time `json:"since"`
}

// Gadget2 is a second named struct, in a map of pointers.
type Gadget2 struct {
	Level int8 `json:"level"`
}

// Node refers to itself through a slice field.
type Node struct {
	Name string `json:"name"`
	Kids []Node `json:"kids"`
}

// Tree is a named slice of itself.
type Tree []Tree

// discoveryProc is one procedure of the corpus, registered under the test's prefix.
type discoveryProc struct {
	name string
	fn   any
	opts []wampfn.Option
}

var discoveryCorpus = []discoveryProc{
	{"longop", func(ctx context.Context, n int, sink wampfn.ProgressSink[int]) (int, error) {
		for i := range n {
			if !sink.Wanted() {
				break
			}
			if err := sink.Send(i); err != nil {
				return 0, err
			}
		}
		return n, nil
	}, []wampfn.Option{
		wampfn.WithParamNames("n"), wampfn.WithParamDescriptions("how many progressive results"),
		wampfn.WithSummary("Counts to n."), wampfn.WithDescription("Sends 0..n-1 as progress, then n."),
		wampfn.WithResultDescription("n"),
	}},
	{"gadget", func(g Gadget) (Gadget, error) {
		g.Secret = "never on the wire"
		return g, nil
	}, nil},
	{"node", func(n Node) (Node, error) { return n, nil }, nil},
	{"tree", func(t Tree) (Tree, error) { return t, nil }, nil},
	{"greet", func(name string, title *string) (string, error) {
		if title != nil {
			return "hello " + *title + " " + name, nil
		}
		return "hello " + name, nil
	}, []wampfn.Option{wampfn.WithParamNames("name", "title")}},
	{"sum", func(xs ...int) (int, error) {
		s := 0
		for _, x := range xs {
			s += x
		}
		return s, nil
	}, nil},
	{"split", func(n int) (int, string, error) { return n, strconv.Itoa(n), nil }, nil},
	{"touch", func(n int) error { return nil }, nil},
	{"raw", func() (wampfn.Result, error) {
		return wampfn.Result{Args: wamp.List{1, "two", []byte{0xff}}, Kwargs: wamp.Dict{"k": true}}, nil
	}, nil},
	{"count", func(n int) iter.Seq[int16] {
		return func(yield func(int16) bool) {
			for _, v := range []int16{math.MinInt16, -1, 0, math.MaxInt16}[:min(n, 4)] {
				if !yield(v) {
					return
				}
			}
		}
	}, nil},
	{"edges", func(u8 uint8, i16 int16, f32 float32, u64 uint64) (uint8, int16, float32, uint64, error) {
		return u8, i16, f32, u64, nil
	}, []wampfn.Option{wampfn.WithParamNames("u8", "i16", "f32", "u64")}},
	{"blob", func(b []byte) ([]byte, error) { return b, nil }, []wampfn.Option{wampfn.WithParamNames("b")}},
	// An optional pointer before another, and before a variadic parameter: a caller that
	// leaves out the first and gives the second sends null for the first.
	{"optmid", func(a int, b, c *int) string { return fmt.Sprintf("a=%d b=%s c=%s", a, orNil(b), orNil(c)) }, nil},
	{"optvar", func(a int, b *int, c ...int) string { return fmt.Sprintf("a=%d b=%s c=%v", a, orNil(b), c) }, nil},
	// Progress of several values and of keyword values, as wampfn.Results.
	{"multi", func(ctx context.Context, sink wampfn.ProgressSink[wampfn.Result]) (int, error) {
		for _, r := range []wampfn.Result{{Args: wamp.List{1, 2}, Kwargs: wamp.Dict{"k": 3}}, {Args: wamp.List{4}}, {}} {
			if err := sink.Send(r); err != nil {
				return 0, err
			}
		}
		return 3, nil
	}, nil},
	{"streamsum", func(ctx context.Context, in wampfn.InputStream[int]) (int, error) {
		sum := 0
		for v, err := range in.All() {
			if err != nil {
				return 0, err
			}
			sum += v
		}
		return sum, nil
	}, nil},
}

// orNil is *p, or "nil".
func orNil(p *int) string {
	if p == nil {
		return "nil"
	}
	return strconv.Itoa(*p)
}

// discoveryPlan is what the test gives a script, as a JSON file.
type discoveryPlan struct {
	Describe  string          `json:"describe"` // the discovery procedure's URI
	Calls     []discoveryCall `json:"calls"`
	Negatives []negative      `json:"negatives"`
}

// discoveryCall is one call a script makes. It checks the arguments against the params'
// schemas (args[i], or the variadic param's for the rest; kwargs by name), then each
// progressive result (its args[0]) against x-wamp-progress, and the final result against
// result: the Args list when the result is marked x-wamp-args, else its one value, null
// when there is none (the Args list when there are several: a wampfn.Result).
type discoveryCall struct {
	Label    string         `json:"label"`
	Method   string         `json:"method"`
	Args     []any          `json:"args"`
	Kwargs   map[string]any `json:"kwargs,omitempty"`
	Progress bool           `json:"progress,omitempty"`

	progressive int    // how many progressive results the call gets
	want        string // the final result's JSON value as the script prints it; "" unchecked
}

// negative is a value that must not validate against the schema at At of Method: params.NAME,
// result, progress (x-wamp-progress) or input (x-wamp-input); or components.NAME (no method).
type negative struct {
	Label  string `json:"label"`
	Method string `json:"method,omitempty"`
	At     string `json:"at"`
	Value  any    `json:"value"`
}

// checks returns the labels of the checks a script must report for c, in order.
func (c discoveryCall) checks() []string {
	var labels []string
	for i := range c.Args {
		labels = append(labels, fmt.Sprintf("%s: args[%d]", c.Label, i))
	}
	keys := make([]string, 0, len(c.Kwargs))
	for k := range c.Kwargs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		labels = append(labels, fmt.Sprintf("%s: kwargs.%s", c.Label, k))
	}
	for i := range c.progressive {
		labels = append(labels, fmt.Sprintf("%s: progress[%d]", c.Label, i))
	}
	return append(labels, c.Label+": result")
}

const (
	// blobB64 is blobBytes (harness_test.go) in base64, and blobWire what wampfn sends for
	// it on JSON (and what the scripts turn bytes into): the WAMP convention's "\x00"+base64.
	blobB64  = "AAECf4D+/1c="
	blobWire = "\x00" + blobB64
)

// newDiscoveryPlan returns the calls and negative controls for procedures under prefix. A
// JavaScript number is a double, so a JavaScript peer sends the largest double below 2^64
// as its uint64 edge instead of 2^64-1, which it cannot hold.
func newDiscoveryPlan(t testing.TB, prefix string, isJS bool) discoveryPlan {
	uint64Max := uint64(math.MaxUint64)
	if isJS {
		uint64Max = 1<<64 - 2048
	}
	f32Max := float64(math.MaxFloat32)
	gadgetIn := js(t, `{"id": 4294967295, "kind": "k", "name": "g", "note": "", "made": "2024-02-29T12:34:56.789Z",
		"blob": "`+jsonEscape(blobWire)+`", "owner": {"name": "ada", "since": "1815-12-10T00:00:00+01:00"},
		"scores": {"a": [-128, 0, 127], "b": null}, "pair": [0, 65535], "serial": "-9223372036854775808",
		"Untagged": true, "nested": {"x": {"level": -128}, "y": null}, "extra": "ignored"}`)
	gadgetOut := `{"id": 4294967295, "kind": "k", "name": "g", "made": "2024-02-29T12:34:56.789Z",
		"blob": "` + jsonEscape(blobWire) + `", "owner": {"name": "ada", "since": "1815-12-10T00:00:00+01:00"},
		"scores": {"a": [-128, 0, 127], "b": null}, "pair": [0, 65535], "serial": "-9223372036854775808",
		"Untagged": true, "nested": {"x": {"level": -128}, "y": null}}`
	zeroGadget := `{"id": 0, "kind": "", "name": "", "made": "0001-01-01T00:00:00Z", "blob": null,
		"owner": null, "scores": null, "pair": [0, 0], "serial": "0", "Untagged": false}`
	node := js(t, `{"name": "root", "kids": [{"name": "a", "kids": null}, {"name": "b", "kids": [{"name": "c", "kids": []}]}]}`)
	call := func(label, name string, args []any, progressive int, want string) discoveryCall {
		return discoveryCall{Label: label, Method: prefix + name, Args: args, progressive: progressive, want: want}
	}
	withProgress := func(c discoveryCall) discoveryCall { c.Progress = true; return c }
	withKwargs := func(c discoveryCall, kw map[string]any) discoveryCall { c.Kwargs = kw; return c }
	return discoveryPlan{
		Describe: prefix + "describe",
		Calls: []discoveryCall{
			withProgress(call("longop(3) with progress", "longop", []any{3}, 3, "3")),
			call("longop(2)", "longop", []any{2}, 0, "2"),
			withKwargs(call("longop(n=1) by name", "longop", nil, 0, "1"), map[string]any{"n": 1}),
			call("gadget(full)", "gadget", []any{gadgetIn}, 0, gadgetOut),
			call("gadget({})", "gadget", []any{map[string]any{}}, 0, zeroGadget),
			call("node", "node", []any{node}, 0, `{"name": "root", "kids": [{"name": "a", "kids": null},
				{"name": "b", "kids": [{"name": "c", "kids": []}]}]}`),
			call("tree", "tree", []any{js(t, `[[], [[], [[]]], null]`)}, 0, `[[], [[], [[]]], null]`),
			call("greet(name)", "greet", []any{"ada"}, 0, `"hello ada"`),
			call("greet(name, title)", "greet", []any{"ada", "Dr"}, 0, `"hello Dr ada"`),
			call("greet(name, null)", "greet", []any{"ada", nil}, 0, `"hello ada"`),
			withKwargs(call("greet by name", "greet", nil, 0, `"hello Dr ada"`), map[string]any{"name": "ada", "title": "Dr"}),
			call("sum()", "sum", nil, 0, "0"),
			call("sum(1, 2, 3)", "sum", []any{1, 2, 3}, 0, "6"),
			call("split(7)", "split", []any{7}, 0, `[7, "7"]`),
			call("touch(1)", "touch", []any{1}, 0, "null"),
			call("raw", "raw", nil, 0, `[1, "two", "`+jsonEscape("\x00/w==")+`"]`),
			call("count(3)", "count", []any{3}, 0, "[-32768, -1, 0]"),
			withProgress(call("count(4) with progress", "count", []any{4}, 4, "null")),
			call("edges(max)", "edges", []any{255, -32768, f32Max, uint64Max}, 0, ""),
			call("edges(min)", "edges", []any{0, 32767, -f32Max, 0}, 0, ""),
			call("edges(denormal)", "edges", []any{1, -1, float64(math.SmallestNonzeroFloat32), 1}, 0, ""),
			call("blob(NUL+base64)", "blob", []any{blobWire}, 0, `"`+jsonEscape(blobWire)+`"`),
			call("blob(base64)", "blob", []any{blobB64}, 0, `"`+jsonEscape(blobWire)+`"`),
			call("blob(null)", "blob", []any{nil}, 0, ""),
		},
		Negatives: []negative{
			{Label: "a string as longop's int result", Method: prefix + "longop", At: "result", Value: "three"},
			{Label: "a float as longop's int progress", Method: prefix + "longop", At: "progress", Value: 1.5},
			{Label: "a string as longop's n", Method: prefix + "longop", At: "params.n", Value: "3"},
			{Label: "256 as a uint8", Method: prefix + "edges", At: "params.u8", Value: 256},
			{Label: "32768 as an int16", Method: prefix + "edges", At: "params.i16", Value: 32768},
			{Label: "-1 as a uint64", Method: prefix + "edges", At: "params.u64", Value: -1},
			{Label: "2^129 as a float32", Method: prefix + "edges", At: "params.f32", Value: 6.80564733841877e38},
			{Label: "malformed base64 as a []byte", Method: prefix + "blob", At: "params.b", Value: "\x00AAE"},
			{Label: "base64 with a NUL in the middle as a []byte", Method: prefix + "blob", At: "params.b", Value: "AAEC\x00f4D+/1c="},
			{Label: "a number as a []byte", Method: prefix + "blob", At: "result", Value: 5},
			{Label: "a bad date-time in Gadget.made", Method: prefix + "gadget", At: "params.arg0",
				Value: map[string]any{"made": "yesterday"}},
			{Label: "three items in Gadget.pair ([2]uint16)", Method: prefix + "gadget", At: "result",
				Value: map[string]any{"pair": []any{1, 2, 3}}},
			{Label: "a number in Gadget.serial (int64 ,string)", At: "components.Gadget", Value: map[string]any{"serial": 5}},
			{Label: "128 in Gadget.scores ([]int8)", At: "components.Gadget",
				Value: map[string]any{"scores": map[string]any{"a": []any{128}}}},
			{Label: "a string as Owner (a *pointer field)", At: "components.Gadget", Value: map[string]any{"owner": "ada"}},
			{Label: "a bad kid deep in a Node", Method: prefix + "node", At: "params.arg0",
				Value: map[string]any{"kids": []any{map[string]any{"kids": []any{map[string]any{"kids": "none"}}}}}},
			{Label: "a number deep in a Tree", Method: prefix + "tree", At: "result", Value: []any{[]any{[]any{1}}}},
			{Label: "a number as greet's *string title", Method: prefix + "greet", At: "params.title", Value: 5},
			{Label: "a string among sum's ...int", Method: prefix + "sum", At: "params.arg0", Value: "1"},
			{Label: "[7, 7] as split's (int, string)", Method: prefix + "split", At: "result", Value: []any{7, 7}},
			{Label: "0 as touch's (no) result", Method: prefix + "touch", At: "result", Value: 0},
			{Label: "a number as count's result list", Method: prefix + "count", At: "result", Value: 3},
			{Label: "-32769 as count's int16 progress", Method: prefix + "count", At: "progress", Value: -32769},
			{Label: "a string as streamsum's int input", Method: prefix + "streamsum", At: "input", Value: "x"},
		},
	}
}

// jsonEscape returns s as it goes inside a JSON string.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// discoveryEvent is one line of a discovery script (a WAMPFN-INTEROP line, as event
// parses it, decoded again with these members).
type discoveryEvent struct {
	Methods   []string       `json:"methods"`   // document: the methods' names, in order
	Validated []string       `json:"validated"` // document: what validated the document (Node)
	Problems  []string       `json:"problems"`  // document: what those validators said
	Document  map[string]any `json:"document"`  // document: the whole document (Python)
	Schema    string         `json:"schema"`    // schemas: which schema it compiled
	Compiled  *bool          `json:"compiled"`
	Check     string         `json:"check"` // calls, negatives: which value it validated
	Valid     *bool          `json:"valid"`
	Unchecked bool           `json:"unchecked"` // the value could not be validated (no such schema...)
	Why       string         `json:"why"`       // why not compiled, valid, or a call's error
	Value     any            `json:"value"`
	Info      map[string]any `json:"info"` // facts about the peer (library versions)
}

func TestInteropDiscovery(t *testing.T) {
	// After every other cleanup (this one is registered first), every goroutine started
	// since now has ended: the router, the Service and its sessions.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	tr := newTestRouter(t)
	prefix := newPrefix()
	svc := newDiscoveryService(t, tr, prefix)
	doc := svc.Describe()
	for _, p := range discoveryPeers {
		t.Run(p.name, func(t *testing.T) {
			argv := p.argv(t)
			planFile := filepath.Join(t.TempDir(), "plan.json")
			plan := newDiscoveryPlan(t, prefix, p.isJS)
			require.NoError(t, os.WriteFile(planFile, mustJSON(t, plan), 0o600))
			for _, ser := range serializers {
				t.Run(ser, func(t *testing.T) {
					if ok, _ := p.supports(ser, wsTransport); !ok {
						t.Skipf("%s cannot use %s over WebSocket", p.name, ser)
					}
					t.Run(string(wsTransport), func(t *testing.T) {
						t.Parallel()
						runDiscoveryCell(t, tr, p, argv, ser, planFile, plan, prefix, doc)
					})
				})
			}
		})
	}
}

// newDiscoveryService runs a wampfn.Service with the corpus under prefix and discovery at
// prefix+"describe", connected in-process to tr, until the test's cleanup stops it (before
// tr's, which was registered first). It returns once every procedure is registered.
func newDiscoveryService(t *testing.T, tr *testRouter, prefix string) *wampfn.Service {
	t.Helper()
	ready := make(chan struct{}, 1)
	var mu sync.Mutex
	var errs []error
	svc := wampfn.NewService(tr.Dialer(wampfntest.InProcess),
		wampfn.WithDiscovery(prefix+"describe"),
		wampfn.WithInfo(discoveryInfo),
		wampfn.WithErrorHandler(func(err error) {
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, err)
		}),
		wampfn.WithOnConnect(func(context.Context, *client.Client) {
			select {
			case ready <- struct{}{}:
			default:
			}
		}))
	for _, pr := range discoveryCorpus {
		require.NoError(t, svc.Register(prefix+pr.name, pr.fn, pr.opts...), "register %s", pr.name)
	}
	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- svc.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-stopped:
			require.NoError(t, err, "Service.Run")
		case <-time.After(30 * time.Second):
			t.Errorf("Service.Run did not return 30s after its context was cancelled")
		}
	})
	select {
	case <-ready:
	case err := <-stopped:
		stopped <- err // for the cleanup
		t.Fatalf("Service.Run returned before it connected: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatalf("the Service did not connect within 30s")
	}
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, errs, "the router refused procedures of the Service")
	return svc
}

// runDiscoveryCell runs the discovery script of peer p with one serializer, then checks each
// of its parts in a subtest.
func runDiscoveryCell(t *testing.T, tr *testRouter, p peer, argv []string, ser, planFile string,
	plan discoveryPlan, prefix string, doc map[string]any) {
	run := runPeer(t, argv, tr.wsURL, ser, strings.Join(discoveryCases, ","), planFile)
	for _, c := range discoveryCases {
		t.Run(c, func(t *testing.T) {
			evs := run.byCase[c]
			require.NotEmpty(t, evs, "the caller printed nothing for part %s\n%s", c, run.describe)
			for _, e := range evs {
				require.Empty(t, e.Fatal, run.describe)
			}
			last := evs[len(evs)-1]
			require.True(t, last.Done, "the caller did not finish part %s\n%s", c, run.describe)
			devs := make([]discoveryEvent, 0, len(evs)-1)
			for _, e := range evs[:len(evs)-1] {
				var de discoveryEvent
				dec := json.NewDecoder(strings.NewReader(e.Raw))
				dec.UseNumber() // as parseEvents: integers stay exact
				require.NoError(t, dec.Decode(&de), e.Raw)
				devs = append(devs, de)
			}
			checkDiscoveryCase(t, p, c, plan, prefix, doc, devs, dump(evs))
		})
	}
	require.NoError(t, run.err, run.describe)
	require.True(t, run.ended, "the caller did not run every part\n%s", run.describe)
}

// checkDiscoveryCase asserts what a discovery script reported for one part.
func checkDiscoveryCase(t *testing.T, p peer, part string, plan discoveryPlan, prefix string,
	doc map[string]any, evs []discoveryEvent, out string) {
	switch part {
	case "document":
		var names []string
		for _, pr := range discoveryCorpus {
			names = append(names, prefix+pr.name)
		}
		slices.Sort(names)
		var sawMethods, sawValidated, sawDocument bool
		for _, e := range evs {
			switch {
			case e.Methods != nil:
				sawMethods = true
				require.Equal(t, names, e.Methods, "the document's methods: the corpus's URIs, sorted\n%s", out)
			case e.Validated != nil:
				sawValidated = true
				require.Empty(t, e.Problems, "the document is not valid OpenRPC (%s)\n%s",
					strings.Join(e.Validated, ", "), out)
			case e.Document != nil:
				// Integers stay integers in Python, and every serializer carries the whole
				// document: it is the one that Describe returns.
				sawDocument = true
				require.Equal(t, jv(t, doc), jv(t, e.Document), "the document the peer fetched\n%s", out)
			}
		}
		require.True(t, sawMethods, "no methods reported\n%s", out)
		if p.isJS {
			require.True(t, sawValidated, "the document was not validated\n%s", out)
		} else {
			require.True(t, sawDocument, "the document was not printed\n%s", out)
		}

	case "schemas":
		want := schemaCount(t, doc)
		n := 0
		for _, e := range evs {
			if e.Compiled == nil {
				continue
			}
			n++
			require.True(t, *e.Compiled, "schema %s does not compile: %s", e.Schema, e.Why)
		}
		require.Equal(t, want, n, "every schema of the document is compiled\n%s", out)

	case "calls":
		var labels []string
		results := map[string]any{}
		for _, e := range evs {
			if e.Valid == nil {
				continue
			}
			require.True(t, *e.Valid, "%s: %s: the value %s", e.Check, e.Why, string(mustJSON(t, e.Value)))
			labels = append(labels, e.Check)
			results[e.Check] = e.Value
		}
		var want []string
		for _, c := range plan.Calls {
			want = append(want, c.checks()...)
		}
		require.Equal(t, want, labels, "a check per argument, progressive result and result of each call\n%s", out)
		for _, c := range plan.Calls {
			if c.want != "" {
				require.Equal(t, js(t, c.want), jv(t, results[c.Label+": result"]), "%s: the result\n%s", c.Label, out)
			}
		}

	case "negatives":
		var labels []string
		for _, e := range evs {
			if e.Valid == nil {
				continue
			}
			require.False(t, e.Unchecked, "%s: not validated: %s", e.Check, e.Why)
			require.False(t, *e.Valid, "%s: the value %s validates, and must not", e.Check, string(mustJSON(t, e.Value)))
			require.NotEmpty(t, e.Why, "%s: refused without a reason", e.Check)
			labels = append(labels, e.Check)
		}
		var want []string
		for _, n := range plan.Negatives {
			want = append(want, n.Label)
		}
		require.Equal(t, want, labels, "every negative control is checked\n%s", out)

	default:
		t.Fatalf("unknown discovery part %s", part)
	}
}

// schemaCount returns how many schemas doc has: each method's params, result, and
// x-wamp-progress and x-wamp-input when present; and the components.
func schemaCount(t testing.TB, doc map[string]any) int {
	t.Helper()
	var d struct {
		Methods []struct {
			Params   []any `json:"params"`
			Progress any   `json:"x-wamp-progress"`
			Input    any   `json:"x-wamp-input"`
		} `json:"methods"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(mustJSON(t, doc), &d))
	n := len(d.Components.Schemas)
	for _, m := range d.Methods {
		n += len(m.Params) + 1
		if m.Progress != nil {
			n++
		}
		if m.Input != nil {
			n++
		}
	}
	return n
}
