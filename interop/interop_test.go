package interop_test

// The peer matrix: real third-party WAMP callers (Autobahn|Python, Autobahn|JS, wampy.js)
// call wampfn procedures through a nexus router, for every case of issue 3 and the
// RegisterMethods service of issue 10 (shop_test.go), serializer and transport the peer
// supports. Each peer runs as a subprocess (interop/*_caller.*) that
// prints one JSON line per thing it saw; the test asserts on those lines and on what the
// callee function itself saw.
//
// Peers are installed by `bash interop/install.sh`. Without them the peer tests skip, and
// say so in one line; with WAMPFN_INTEROP=require (CI) a missing peer fails the test.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	// outPrefix starts every line a caller script prints for the test.
	outPrefix = "WAMPFN-INTEROP "

	// peerTimeout bounds one caller subprocess.
	peerTimeout = 60 * time.Second

	runHint = "bash interop/install.sh && go test ./interop/"
)

// Error texts of wampfn's argument binding (reflect_args.go, errors.go).
const (
	msgBadString   = `argument 0 (n): cannot use string "three" as int`
	msgMissing     = `argument 0 (n): missing required int`
	msgTooMany     = `too many arguments: got 2, want at most 1`
	msgUnknownKw   = `unknown keyword argument "colour"`
	invalidArgURI  = "wamp.error.invalid_argument"
	noSuchProcURI  = "wamp.error.no_such_procedure"
	canceledURI    = "wamp.error.canceled"
	pyCancelledErr = "twisted.internet.defer.CancelledError"
)

type transportKind string

const (
	wsTransport transportKind = "websocket"
	rsTransport transportKind = "rawsocket"
)

var (
	serializers = []string{"json", "msgpack", "cbor"}
	cases       = []string{"progress", "noprogress", "badinput", "cancel", "struct", "bytes", "customerror",
		"methodnames", "methodprogress", "methodstruct", "methodkwargs", "methoderror"}
)

// isMethodCase says whether a case calls the RegisterMethods service (shop_test.go)
// instead of the procedures of newCallee.
func isMethodCase(c string) bool { return strings.HasPrefix(c, "method") }

// peer is one third-party caller library.
type peer struct {
	name   string
	script string
	// supports says whether the peer can use the serializer over the transport, and
	// where not, why (with the evidence from its source).
	supports func(ser string, tr transportKind) (bool, string)
	// command returns the command line that runs script, or why it cannot run.
	command func() ([]string, error)
	// isJS: JavaScript has no int type, and its libraries do not decode the WAMP
	// JSON convention for bytes ("\x00"+base64).
	isJS bool
	// streams: the peer can call with progressive call invocations, and runs the stream
	// cases of TestInteropStream (stream_test.go).
	streams bool
}

var interopDir = func() string {
	wd, err := os.Getwd() // go test runs a package's tests in its directory
	if err != nil {
		panic(err)
	}
	return wd
}()

var (
	nodeOnce  sync.Once
	nodeArgv  []string
	nodeErr   error
	pythonErr = sync.OnceValue(checkPython)
)

const debianPython = "/usr/bin/python3"

func checkPython() error {
	if _, err := os.Stat(debianPython); err != nil {
		return fmt.Errorf("%s not found", debianPython)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, debianPython, "-c",
		"import autobahn.twisted.wamp, twisted, msgpack, cbor2").CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return fmt.Errorf("%s lacks Autobahn|Python, Twisted, msgpack or cbor2 (%s)", debianPython, lines[len(lines)-1])
	}
	return nil
}

// nodeCommand finds node and the npm packages in interop/node_modules.
func nodeCommand() ([]string, error) {
	nodeOnce.Do(func() {
		node, err := exec.LookPath("node")
		if err != nil {
			nodeErr = fmt.Errorf("node not found on PATH")
			return
		}
		for _, pkg := range []string{"autobahn", "when", "wampy"} {
			if _, err := os.Stat(filepath.Join(interopDir, "node_modules", pkg, "package.json")); err != nil {
				nodeErr = fmt.Errorf("interop/node_modules lacks %s", pkg)
				return
			}
		}
		// Autobahn|JS 26 uses the global WebSocket, which Node 20 has only behind
		// --experimental-websocket (Node 22 has it by default).
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, node, "-p", "typeof WebSocket").Output()
		if err != nil {
			nodeErr = fmt.Errorf("node -p: %v", err)
			return
		}
		nodeArgv = []string{node}
		if strings.TrimSpace(string(out)) != "function" {
			nodeArgv = append(nodeArgv, "--experimental-websocket")
		}
	})
	return slices.Clone(nodeArgv), nodeErr
}

var peers = []peer{
	{
		name:   "autobahn-py",
		script: "autobahn_py_caller.py",
		supports: func(string, transportKind) (bool, string) {
			return true, "" // WebSocket and RawSocket, each with json, msgpack and cbor
		},
		command: func() ([]string, error) {
			if err := pythonErr(); err != nil {
				return nil, err
			}
			return []string{debianPython}, nil
		},
	},
	{
		name:   "autobahn-js",
		script: "autobahn_js_caller.js",
		supports: func(ser string, tr transportKind) (bool, string) {
			if tr == rsTransport && ser != "json" {
				return false, "Autobahn|JS's Node rawsocket transport speaks JSON only " +
					"(lib/transport/rawsocket.js: Protocol.prototype.SERIALIZERS = {json: 1})"
			}
			return true, ""
		},
		command: nodeCommand,
		isJS:    true,
	},
	{
		name:   "wampy",
		script: "wampy_caller.js",
		supports: func(ser string, tr transportKind) (bool, string) {
			if tr == rsTransport {
				return false, "wampy.js speaks WAMP over WebSocket only (no rawsocket transport in dist/)"
			}
			return true, ""
		},
		command: func() ([]string, error) {
			argv, err := nodeCommand()
			if err != nil {
				return nil, err
			}
			return argv[:1:1], nil // wampy gets its WebSocket class from the ws package
		},
		isJS:    true,
		streams: true,
	},
}

func interopRequired() bool { return os.Getenv("WAMPFN_INTEROP") == "require" }

// argv returns the command line that runs p's script; when the peer is
// missing it skips t, or, with WAMPFN_INTEROP=require, fails it.
func (p peer) argv(t *testing.T) []string {
	t.Helper()
	argv, err := p.command()
	if err != nil {
		if interopRequired() {
			t.Fatalf("WAMPFN_INTEROP=require but peer %s is missing: %v (install: bash interop/install.sh)", p.name, err)
		}
		t.Skipf("%v; run with: %s", err, runHint)
	}
	return append(slices.Clip(argv), filepath.Join(interopDir, p.script))
}

func TestMain(m *testing.M) {
	// One line that names the interop tests a plain `go test ./...` skips and how to run
	// them. go test shows a passing package's output only with -v or when run in the
	// package's directory, so the line also goes to the terminal when there is one.
	if !interopRequired() {
		var skipped, why []string
		for _, p := range peers {
			if _, err := p.command(); err != nil {
				skipped = append(skipped, "TestInterop/"+p.name)
				if p.streams {
					skipped = append(skipped, "TestInteropStream/"+p.name)
				}
				if !slices.Contains(why, err.Error()) {
					why = append(why, err.Error())
				}
			}
		}
		for lang, err := range map[string]error{"ts": genTSErr(), "py": genPyErr()} {
			if err != nil {
				skipped = append(skipped, "TestGenClients/"+lang)
				if !slices.Contains(why, err.Error()) {
					why = append(why, err.Error())
				}
			}
		}
		if len(skipped) > 0 {
			line := fmt.Sprintf("interop: skipping %s (%s); run them with: %s\n",
				strings.Join(skipped, ", "), strings.Join(why, "; "), runHint)
			fmt.Fprint(os.Stderr, line)
			if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
				fmt.Fprint(tty, line)
				_ = tty.Close()
			}
		}
	}
	os.Exit(m.Run())
}

// peerSlots bounds the caller subprocesses running at once, whatever -parallel says: they
// are CPU-bound while they start, and the machine may have only 2 cores.
var peerSlots = make(chan struct{}, max(2, runtime.NumCPU()))

func TestInterop(t *testing.T) {
	tr := newTestRouter(t)
	for _, p := range peers {
		t.Run(p.name, func(t *testing.T) {
			argv := p.argv(t)
			for _, ser := range serializers {
				t.Run(ser, func(t *testing.T) {
					for _, tk := range []transportKind{wsTransport, rsTransport} {
						if ok, _ := p.supports(ser, tk); !ok {
							continue
						}
						t.Run(string(tk), func(t *testing.T) {
							t.Parallel()
							runMatrixCell(t, tr, p, argv, ser, tk)
						})
					}
				})
			}
		})
	}
}

// runMatrixCell runs every case for one peer, serializer and transport: one callee
// session per case, and one caller process that runs the cases in order, each against
// its own procedures; then one subtest per case checks what the peer and the callee saw.
func runMatrixCell(t *testing.T, tr *testRouter, p peer, argv []string, ser string, tk transportKind) {
	url := tr.wsURL
	if tk == rsTransport {
		url = tr.rsURL
	}
	base := newPrefix()
	callees := map[string]*callee{}
	for _, c := range cases {
		if isMethodCase(c) {
			callees[c] = newShopCallee(t, tr, base+c+".")
		} else {
			callees[c] = newCallee(t, tr, base+c+".")
		}
	}
	run := runPeer(t, argv, url, ser, strings.Join(cases, ","), base)
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			evs := run.byCase[c]
			require.NotEmpty(t, evs, "the caller printed nothing for case %s\n%s", c, run.describe)
			for _, e := range evs {
				require.Empty(t, e.Fatal, run.describe)
			}
			last := evs[len(evs)-1]
			require.True(t, last.Done, "the caller did not finish case %s\n%s", c, run.describe)
			checkCase(t, p, ser, c, callees[c], evs[:len(evs)-1])
		})
	}
	require.NoError(t, run.err, run.describe)
	require.True(t, run.ended, "the caller did not run every case\n%s", run.describe)
}

// peerRun is what one caller process printed.
type peerRun struct {
	byCase   map[string][]event
	ended    bool   // it printed {"end": true}
	err      error  // its exit status, or a line that did not parse
	describe string // command line, exit status and all output, for failure messages
}

// runPeer runs one caller script (bounded by peerTimeout) and sorts its lines by case.
func runPeer(t *testing.T, argv []string, url, ser, caseList, prefix string) peerRun {
	t.Helper()
	peerSlots <- struct{}{}
	defer func() { <-peerSlots }()

	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	args := append(append([]string(nil), argv[1:]...), url, realm, ser, caseList, prefix)
	cmd := exec.CommandContext(ctx, argv[0], args...)
	cmd.Dir = interopDir
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	run := peerRun{byCase: map[string][]event{}, err: err}
	run.describe = fmt.Sprintf("command: %s\nexit: %v after %v\nstdout:\n%s\nstderr:\n%s",
		strings.Join(cmd.Args, " "), err, time.Since(start).Round(time.Millisecond), stdout.String(), stderr.String())
	evs, perr := parseEvents(stdout.Bytes())
	if run.err == nil {
		run.err = perr
	}
	for _, e := range evs {
		if e.End {
			run.ended = true
			continue
		}
		run.byCase[e.Case] = append(run.byCase[e.Case], e)
	}
	return run
}

// event is one line a caller script printed.
type event struct {
	Raw      string         `json:"-"`
	Progress *payload       `json:"progress"`
	Final    *payload       `json:"final"`
	Error    *string        `json:"error"`
	Args     []any          `json:"args"`
	Kwargs   map[string]any `json:"kwargs"`
	Class    string         `json:"class"`
	Cancel   string         `json:"cancel"`
	Sent     any            `json:"sent"`  // a chunk's value the stream cases sent
	Info     map[string]any `json:"info"`  // facts about the peer itself
	Abort    string         `json:"abort"` // the URI of an ABORT from the router
	Fatal    string         `json:"fatal"`
	Done     bool           `json:"done"`
	End      bool           `json:"end"`
	Case     string         `json:"case"`
}

// payload is a result as the script normalised it: the positional and keyword results,
// and what shape the library handed them over in.
type payload struct {
	Args   []any          `json:"args"`
	Kwargs map[string]any `json:"kwargs"`
	Shape  string         `json:"shape"`
}

func (e event) kind() string {
	switch {
	case e.Progress != nil:
		return "progress"
	case e.Final != nil:
		return "final"
	case e.Error != nil:
		return "error"
	case e.Cancel != "":
		return "cancel"
	case e.Sent != nil:
		return "sent"
	case e.Info != nil:
		return "info"
	case e.Abort != "":
		return "abort"
	case e.Fatal != "":
		return "fatal"
	case e.Done:
		return "done"
	case e.End:
		return "end"
	}
	return "unknown"
}

func parseEvents(out []byte) ([]event, error) {
	var evs []event
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), outPrefix)
		if !ok {
			continue // a library's own output
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var e event
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("bad line %q: %w", line, err)
		}
		e.Raw = line
		evs = append(evs, e)
	}
	return evs, sc.Err()
}

// js decodes a JSON text the way parseEvents decodes the scripts' lines, so that
// expected values compare equal to what a peer printed, integers and floats apart
// (json.Number "3" is not "3.0").
func js(t testing.TB, text string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v), text)
	return v
}

// jv is js of v's JSON encoding.
func jv(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return js(t, string(b))
}

func kinds(evs []event) []string {
	ks := make([]string, len(evs))
	for i, e := range evs {
		ks[i] = e.kind()
	}
	return ks
}

func dump(evs []event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Raw + "\n")
	}
	return b.String()
}

func requireFinal(t testing.TB, e event, wantArgs string, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, "final", e.kind(), msgAndArgs...)
	require.Equal(t, js(t, wantArgs), jv(t, e.Final.Args), msgAndArgs...)
	require.Empty(t, e.Final.Kwargs, msgAndArgs...)
}

func requireError(t testing.TB, e event, uri string, wantArgs string, wantKwargs string, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, "error", e.kind(), msgAndArgs...)
	require.Equal(t, uri, *e.Error, msgAndArgs...)
	require.Equal(t, js(t, wantArgs), jv(t, e.Args), msgAndArgs...)
	require.Equal(t, js(t, wantKwargs), jv(t, e.Kwargs), msgAndArgs...)
}

// checkCase asserts a case's events (the peer's view) and the callee's records.
func checkCase(t *testing.T, p peer, ser, caseName string, ce *callee, evs []event) {
	out := dump(evs)
	switch caseName {
	case "progress", "methodprogress":
		// longop(3) or long_op(3): progress 0, 1, 2 in order, then final 3; integers as
		// integers.
		require.Equal(t, []string{"progress", "progress", "progress", "final"}, kinds(evs), out)
		for i := range 3 {
			require.Equal(t, js(t, fmt.Sprintf("[%d]", i)), jv(t, evs[i].Progress.Args), out)
			require.Empty(t, evs[i].Progress.Kwargs, out)
		}
		requireFinal(t, evs[3], "[3]", out)
		recs := ce.waitDone(t, 5*time.Second)
		require.Len(t, recs, 1)
		require.True(t, recs[0].wanted, "the callee saw receive_progress")
		require.Equal(t, []int{0, 1, 2}, recs[0].sent)

	case "noprogress":
		// only the final result: a caller that did not ask gets no progress.
		require.Equal(t, []string{"final", "final"}, kinds(evs), out)
		requireFinal(t, evs[0], "[2]", out)
		requireFinal(t, evs[1], "[2]", "chatty's progress must be dropped\n"+out)
		recs := ce.waitDone(t, 5*time.Second)
		require.Len(t, recs, 1)
		require.False(t, recs[0].wanted, "the caller did not ask for progress")
		require.Empty(t, recs[0].sent)

	case "badinput":
		require.Equal(t, []string{"error", "error", "error"}, kinds(evs), out)
		requireError(t, evs[0], invalidArgURI, jsonString(msgBadString), "{}", out)
		requireError(t, evs[1], invalidArgURI, jsonString(msgMissing), "{}", out)
		requireError(t, evs[2], invalidArgURI, jsonString(msgTooMany), "{}", out)
		require.Empty(t, ce.records(), "longop must not run for bad arguments")

	case "cancel":
		// Some progress (the peer cancels on the first), the cancel, the call's error,
		// then the next call's result. A progress value that was on its way when the
		// peer cancelled may still arrive after the cancel (or, for Autobahn|Python,
		// whose Deferred fails at once, after the error).
		require.Equal(t, "progress", evs[0].kind(), out)
		var others []event
		nprog := 0
		for _, e := range evs {
			if e.kind() == "progress" {
				require.Equal(t, js(t, fmt.Sprintf("[%d]", nprog)), jv(t, e.Progress.Args), out)
				nprog++
				continue
			}
			others = append(others, e)
		}
		require.Equal(t, []string{"cancel", "error", "final"}, kinds(others), out)
		errEv := others[1]
		if p.name == "autobahn-py" {
			// Deferred.cancel() fails the Deferred at once (Twisted), before the router's
			// ERROR; Autobahn|Python sends CANCEL without a mode (nexus: killnowait).
			requireError(t, errEv, pyCancelledErr, "[]", "{}", out)
		} else {
			// mode kill: the router waits for the callee's ERROR, which nexus's client
			// sends on INTERRUPT.
			require.Equal(t, "error", errEv.kind(), out)
			require.Equal(t, canceledURI, *errEv.Error, out)
		}
		requireFinal(t, others[2], "[1]", "the call after the cancelled one succeeds\n"+out)
		recs := ce.waitDone(t, 5*time.Second)
		require.Len(t, recs, 2)
		requireCancelled(t, recs[0], nprog, p.name != "autobahn-py")
		require.NoError(t, recs[1].ctxErr)
		require.Equal(t, 1, recs[1].n)

	case "struct":
		require.Equal(t, []string{"final"}, kinds(evs), out)
		requireFinal(t, evs[0], "["+itemJSON+"]", out)

	case "bytes":
		require.Equal(t, []string{"final"}, kinds(evs), out)
		require.Len(t, evs[0].Final.Args, 1, out)
		got := evs[0].Final.Args[0]
		switch {
		case p.isJS && ser == "json":
			// Neither Autobahn|JS (JSONSerializer: plain JSON.parse) nor wampy.js
			// (JsonSerializer: JSON.parse) decodes the WAMP convention for binary
			// on JSON: they hand over the "\x00"+base64 string as it came.
			require.Equal(t, "\x00"+base64.StdEncoding.EncodeToString(blobBytes), got,
				"bytes on JSON must be the WAMP convention's \"\\x00\"+base64 string\n%s", out)
		case p.isJS:
			m, ok := got.(map[string]any)
			require.True(t, ok, "bytes must arrive as a Buffer/Uint8Array\n%s", out)
			require.Equal(t, hex.EncodeToString(blobBytes), m["$bytes"], out)
			require.Contains(t, []any{"Buffer", "Uint8Array"}, m["$class"], out)
		default:
			// Autobahn|Python decodes "\x00"+base64 on JSON: bytes on every serializer.
			require.Equal(t, map[string]any{"$bytes": hex.EncodeToString(blobBytes)}, got,
				"bytes must arrive as Python bytes\n%s", out)
		}

	case "customerror":
		require.Equal(t, []string{"error"}, kinds(evs), out)
		requireError(t, evs[0], customURI, string(mustJSON(t, customArgs)), string(mustJSON(t, customKwargs)), out)

	case "methodnames":
		// get_http_status and info (StoreInfo, WithName) answer; store_info, audit
		// (Exclude) and method_options (MethodOptioner) are not procedures.
		require.Equal(t, []string{"final", "final", "error", "error", "error"}, kinds(evs), out)
		requireFinal(t, evs[0], fmt.Sprintf("[%d]", shopHTTPStatus), out)
		requireFinal(t, evs[1], jsonString(shopInfo), out)
		for _, e := range evs[2:] {
			requireError(t, e, noSuchProcURI, "[]", "{}", out)
		}

	case "methodstruct":
		// place_order(theOrder): the dict/object the peer sent arrives as theOrder, and
		// the Receipt comes back keyed by its json tags.
		require.Equal(t, []string{"final"}, kinds(evs), out)
		requireFinal(t, evs[0], "["+receiptJSON+"]", out)
		require.Equal(t, []Order{theOrder}, ce.shop.placed(), "what place_order received")

	case "methodkwargs":
		// quote(sku, qty) by keyword, by position and keyword, and with an unknown keyword.
		require.Equal(t, []string{"final", "final", "error"}, kinds(evs), out)
		requireFinal(t, evs[0], fmt.Sprintf("[%d]", 4*unitCents), out)
		requireFinal(t, evs[1], fmt.Sprintf("[%d]", 2*unitCents), out)
		requireError(t, evs[2], invalidArgURI, jsonString(msgUnknownKw), "{}", out)

	case "methoderror":
		// cancel_order("A-1") returns nil: an empty result; cancel_order("Z-9") a
		// *wampfn.Error.
		require.Equal(t, []string{"final", "error"}, kinds(evs), out)
		requireFinal(t, evs[0], "[]", out)
		requireError(t, evs[1], shopErrorURI, string(mustJSON(t, shopErrorArgs)), string(mustJSON(t, shopErrorKwargs)), out)

	default:
		t.Fatalf("unknown case %s", caseName)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal([]string{s})
	return string(b)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
