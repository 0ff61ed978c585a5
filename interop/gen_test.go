package interop_test

// Generated clients: `wampfn gen ts` and `wampfn gen py` write a typed Autobahn|JS
// (TypeScript) and Autobahn|Python client from a wampfn Service's OpenRPC document, and
// programs in interop/gen/ use them against live Go services:
//
//	corpus   the discovery corpus (discoveryCorpus in discovery_test.go) under a fresh prefix
//	library  examples/service's Library (com.example.library.*), served by that program
//	         with -router on a router of its own for each run, so that it starts empty
//
// Each module is generated twice, with --discovery from the live Service and with --from a
// JSON file of its document, which must give the same text. Then, for each language:
//
//   - the programs (corpus, library) and the generated modules type-check: tsc --strict
//     (TypeScript 7) with no error, no `any` in the declarations tsc emits for the
//     modules; pyright in strict mode against Debian's /usr/bin/python3, with no error and
//     no type-checking comment in the generated modules;
//   - two programs that misuse the clients (a string for a number, a missing argument)
//     fail the type check, with errors that name their file and line, and the parameter or
//     the types;
//   - the programs run over JSON and msgpack (WebSocket; TypeScript with Node, corpus.py on
//     asyncio, library.py on Twisted) and print one line per progressive result, result
//     and error, which the test compares with what the Go functions return.
//
// BenchmarkGeneratedClientTS measures what the generated TypeScript client costs per call
// against a hand-written session.call.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/wampfn/wampfn"
	"github.com/wampfn/wampfn/wampfntest"
)

// libraryPrefix is the URI prefix of examples/service's Library.
const libraryPrefix = "com.example.library."

// genDir holds the programs of the generated-client tests.
var genDir = filepath.Join(interopDir, "gen")

var (
	genTSErr = sync.OnceValue(checkGenTS)
	genPyErr = sync.OnceValue(checkGenPy)
)

// checkGenTS checks for node, Autobahn|JS, TypeScript and Autobahn|JS's types.
func checkGenTS() error {
	if _, err := nodeCommand(); err != nil {
		return err
	}
	for _, f := range []string{"typescript/bin/tsc", "@types/autobahn/index.d.ts", "@types/when/index.d.ts"} {
		if _, err := os.Stat(filepath.Join(interopDir, "node_modules", f)); err != nil {
			return fmt.Errorf("interop/node_modules lacks %s (run interop/install.sh)", f)
		}
	}
	return nil
}

// checkGenPy checks for Debian's Python with Autobahn|Python, and pyright (which runs on
// node).
func checkGenPy() error {
	if err := pythonErr(); err != nil {
		return err
	}
	if _, err := nodeCommand(); err != nil {
		return fmt.Errorf("pyright needs node: %w", err)
	}
	if _, err := os.Stat(filepath.Join(interopDir, "node_modules", "pyright", "index.js")); err != nil {
		return fmt.Errorf("interop/node_modules lacks pyright (run interop/install.sh)")
	}
	return nil
}

// requireTools skips t when err says that a tool is missing, or with WAMPFN_INTEROP=require
// fails it.
func requireTools(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if interopRequired() {
		t.Fatalf("WAMPFN_INTEROP=require but %s is missing: %v (install: bash interop/install.sh)", what, err)
	}
	t.Skipf("%s: %v; run with: %s", what, err, runHint)
}

// startLibrary runs examples/service's binary with -router url until the test's cleanup
// stops it with SIGTERM (before the router's cleanup, registered earlier), after which it
// must exit 0. It returns once the program says that it serves the Library.
func startLibrary(t testing.TB, bin, url, ser string) {
	t.Helper()
	cmd := exec.Command(bin, "-router", url, "-realm", realm, "-serializer", ser)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	// The first line, then the exit status, once stdout is closed.
	first := make(chan string, 1)
	waited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for n := 0; sc.Scan(); n++ { // then "service stopped", once stopped
			if n == 0 {
				first <- sc.Text()
			}
		}
		close(first)
		waited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-waited:
			require.NoError(t, err, "examples/service -router after SIGTERM; stderr:\n%s", stderr.String())
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("examples/service -router did not exit 30 s after SIGTERM")
		}
	})
	want := fmt.Sprintf("serving %s* on %s realm %s", libraryPrefix, url, realm)
	select {
	case l, ok := <-first:
		require.True(t, ok, "examples/service -router exited before it served; stderr:\n%s", stderr.String())
		require.Equal(t, want, l, "stderr:\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("examples/service -router did not serve within 30 s; stderr:\n%s", stderr.String())
	}
}

// lockedBuffer is a bytes.Buffer that a command's output goroutine and the test may use at
// once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fetchDocument returns what the discovery procedure uri answers, as JSON.
func fetchDocument(t testing.TB, tr *testRouter, uri string) []byte {
	t.Helper()
	c := tr.Connect(t, wampfntest.InProcess)
	res, err := c.Call(t.Context(), uri, nil, nil, nil, nil)
	require.NoError(t, err, "call %s", uri)
	require.Len(t, res.Arguments, 1)
	return mustJSON(t, res.Arguments[0])
}

// genModule is one generated module.
type genModule struct {
	name string // the module's name, which the programs import: corpus_client, library_client
	ts   string
	py   string
}

// generate runs `wampfn gen LANG` with --discovery against the live service, and with
// --from a file of its document, checks that both write the same module, and returns it.
func generate(t *testing.T, bin, lang, url, discovery string, doc []byte) string {
	t.Helper()
	dir := t.TempDir()
	docFile := filepath.Join(dir, "doc.json")
	require.NoError(t, os.WriteFile(docFile, doc, 0o600))
	live := filepath.Join(dir, "live."+lang)
	out, err := cliCommand(t, bin, "gen", lang, "--url", url, "--realm", realm, "--serializer", "msgpack",
		"--discovery", discovery, "-o", live).CombinedOutput()
	require.NoError(t, err, "wampfn gen %s --discovery %s: %s", lang, discovery, out)
	require.Empty(t, string(out), "wampfn gen -o writes nothing else")
	fromLive, err := os.ReadFile(live)
	require.NoError(t, err)

	stdout, err := cliCommand(t, bin, "gen", lang, "--from", docFile).Output()
	require.NoError(t, err, "wampfn gen %s --from FILE", lang)
	// The first line says where the document came from.
	strip := func(s string) string {
		first, rest, _ := strings.Cut(s, "\n")
		require.Contains(t, first, "Code generated by wampfn gen "+lang, "the module's first line")
		return rest
	}
	require.Equal(t, strip(string(fromLive)), strip(string(stdout)),
		"wampfn gen %s: --discovery and --from the same document must write the same module", lang)
	return string(fromLive)
}

// genLine is one line that a program of interop/gen printed (see common.ts, common.py).
type genLine struct {
	Raw      string          `json:"-"`
	Call     string          `json:"call"`
	Progress json.RawMessage `json:"progress"`
	Result   json.RawMessage `json:"result"`
	Error    *string         `json:"error"`
	Args     json.RawMessage `json:"args"`
	Kwargs   json.RawMessage `json:"kwargs"`
	Class    string          `json:"class"`
	Bench    json.RawMessage `json:"bench"`
	Fatal    string          `json:"fatal"`
	End      bool            `json:"end"`
}

func (l genLine) kind() string {
	switch {
	case l.Progress != nil:
		return "progress"
	case l.Result != nil:
		return "result"
	case l.Error != nil:
		return "error"
	case l.Bench != nil:
		return "bench"
	case l.Fatal != "":
		return "fatal"
	case l.End:
		return "end"
	}
	return "unknown"
}

// genRun is what one program printed.
type genRun struct {
	lines    []genLine
	describe string // command line, exit status and all output, for failure messages
}

// runGenProgram runs argv in dir (bounded by peerTimeout, and by peerSlots with the other
// peers), requires it to exit 0 after {"end": true} with no fatal line, and returns its
// lines but the last.
func runGenProgram(t *testing.T, dir string, argv ...string) genRun {
	t.Helper()
	peerSlots <- struct{}{}
	defer func() { <-peerSlots }()
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	run := genRun{describe: fmt.Sprintf("command: %s\nexit: %v after %v\nstdout:\n%s\nstderr:\n%s",
		strings.Join(cmd.Args, " "), err, time.Since(start).Round(time.Millisecond), stdout.String(), stderr.String())}
	require.NoError(t, err, run.describe)
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		text, ok := strings.CutPrefix(sc.Text(), outPrefix)
		if !ok {
			continue
		}
		l := genLine{Raw: text}
		require.NoError(t, json.Unmarshal([]byte(text), &l), "bad line %q\n%s", text, run.describe)
		require.Empty(t, l.Fatal, run.describe)
		run.lines = append(run.lines, l)
	}
	require.NotEmpty(t, run.lines, run.describe)
	require.True(t, run.lines[len(run.lines)-1].End, "the program did not run to its end\n%s", run.describe)
	run.lines = run.lines[:len(run.lines)-1]
	return run
}

// genWant is a line that a program must print.
type genWant struct {
	call string
	kind string // progress, result, error
	// value is the JSON of the progressive result or result, or of the error's kwargs.
	value string
	// uri and args: the error's URI, and a regular expression for its JSON args.
	uri, args string
}

func progressLine(call, value string) genWant {
	return genWant{call: call, kind: "progress", value: value}
}

func resultLine(call, value string) genWant {
	return genWant{call: call, kind: "result", value: value}
}

func errorLine(call, uri, argsRE string) genWant {
	return genWant{call: call, kind: "error", uri: uri, args: argsRE, value: "{}"}
}

// requireLines compares what a program printed with want, line by line.
func requireLines(t *testing.T, want []genWant, errClass string, run genRun) {
	t.Helper()
	var got, wantCalls []string
	for _, l := range run.lines {
		got = append(got, l.kind()+" "+l.Call)
	}
	for _, w := range want {
		wantCalls = append(wantCalls, w.kind+" "+w.call)
	}
	require.Equal(t, wantCalls, got, "the program's lines, in order\n%s", run.describe)
	for i, w := range want {
		l := run.lines[i]
		switch w.kind {
		case "progress", "result":
			raw := l.Progress
			if w.kind == "result" {
				raw = l.Result
			}
			require.Equal(t, js(t, w.value), js(t, string(raw)), "%s %s: %s\n%s", w.kind, w.call, raw, run.describe)
		case "error":
			require.Equal(t, w.uri, *l.Error, "%s: the error URI\n%s", w.call, run.describe)
			require.Equal(t, errClass, l.Class, "%s: the error's class\n%s", w.call, run.describe)
			require.Regexp(t, "^"+w.args+"$", string(l.Args), "%s: the error's args\n%s", w.call, run.describe)
			require.Equal(t, js(t, w.value), js(t, string(l.Kwargs)), "%s: the error's kwargs\n%s", w.call, run.describe)
		}
	}
}

// genLang is one language of the generated clients.
type genLang struct {
	name     string
	ext      string
	config   string // the type checker's configuration, in interop/gen
	check    func() error
	errClass string // what the programs print as an error's class
	tuple    func(elems string) string
	void     string // what a call with no result gives
	u64Max   string // the largest uint64 a program sends (and gets back)
	// bytes, and raw's []byte (undecoded by the client: it is unknown) on each serializer.
	rawBytes func(ser string) string
}

var genLangs = []genLang{
	{
		name: "ts", ext: "ts", config: "tsconfig.json", check: genTSErr, errClass: "autobahn.Error",
		tuple: func(elems string) string { return "[" + elems + "]" },
		void:  `{"$undefined": true}`,
		// A JavaScript number is a double: corpus.ts sends 2^53.
		u64Max: "9007199254740992",
		rawBytes: func(ser string) string {
			if ser == "json" {
				return `"` + jsonEscape("\x00/w==") + `"` // the JSON serializer's string, as it came
			}
			return `{"$bytes": "ff"}`
		},
	},
	{
		name: "py", ext: "py", config: "pyrightconfig.json", check: genPyErr, errClass: "ApplicationError",
		tuple:    func(elems string) string { return `{"$tuple": [` + elems + `]}` },
		void:     "null",
		u64Max:   "18446744073709551615",
		rawBytes: func(string) string { return `{"$bytes": "ff"}` },
	},
}

// command returns the command line that runs program name (corpus, library) of dir, whose
// type check has emitted it (TypeScript), with args.
func (lang genLang) command(dir, name string, args ...string) []string {
	if lang.name == "py" {
		return append([]string{debianPython, filepath.Join(dir, name+".py")}, args...)
	}
	node, _ := nodeCommand()
	return append(append(slices.Clip(node), filepath.Join(dir, "out", name+".js")), args...)
}

// corpusWant is what corpus.ts and corpus.py must print: what the corpus's Go functions
// return for their calls.
func corpusWant(lang genLang, ser string) []genWant {
	const (
		blobHex = `{"$bytes": "0001027f80feff57"}` // blobBytes (harness_test.go)
		gadget  = `{"id": 4294967295, "kind": "k", "name": "g", "made": "2024-02-29T12:34:56.789Z",
			"blob": ` + blobHex + `, "owner": {"name": "ada", "since": "1815-12-10T00:00:00+01:00"},
			"scores": {"a": [-128, 0, 127], "b": null}, "pair": [0, 65535], "serial": "-9223372036854775808",
			"Untagged": true, "nested": {"x": {"level": -128}, "y": null}}`
		zeroGadget = `{"id": 0, "kind": "", "name": "", "made": "0001-01-01T00:00:00Z", "blob": null,
			"owner": null, "scores": null, "pair": [0, 0], "serial": "0", "Untagged": false}`
		node = `{"name": "root", "kids": [{"name": "a", "kids": null}, {"name": "b", "kids": [{"name": "c", "kids": []}]}]}`
	)
	return []genWant{
		progressLine("longop(3) with progress", "0"),
		progressLine("longop(3) with progress", "1"),
		progressLine("longop(3) with progress", "2"),
		resultLine("longop(3) with progress", "3"),
		resultLine("longop(2)", "2"),
		resultLine("longop(1) with a timeout", "1"),
		// Gadget drops its Secret, and Note is omitempty.
		resultLine("gadget(full)", gadget),
		resultLine("gadget({})", zeroGadget),
		resultLine("node", node),
		resultLine("tree", `[[], [[], [[]]], null]`),
		resultLine("greet(name)", `"hello ada"`),
		resultLine("greet(name, title)", `"hello Dr ada"`),
		resultLine("greet(name, null)", `"hello ada"`),
		resultLine("sum()", "0"),
		resultLine("sum(1, 2, 3)", "6"),
		resultLine("sum([])", "0"),
		resultLine("split(7)", lang.tuple(`7, "7"`)),
		resultLine("touch(1)", lang.void),
		// A wampfn.Result of several values: what the library resolves with, untouched.
		resultLine("raw()", `{"$result": {"args": [1, "two", `+lang.rawBytes(ser)+`], "kwargs": {"k": true}}}`),
		resultLine("count(3)", "[-32768, -1, 0]"),
		progressLine("count(4) with progress", "-32768"),
		progressLine("count(4) with progress", "-1"),
		progressLine("count(4) with progress", "0"),
		progressLine("count(4) with progress", "32767"),
		resultLine("count(4) with progress", "null"),
		resultLine("edges(max)", lang.tuple("255, -32768, 1.5, "+lang.u64Max)),
		resultLine("edges(min)", lang.tuple("0, 32767, -0.15625, 0")),
		errorLine("edges(256)", invalidArgURI, regexp.QuoteMeta(`["argument 0 (u8): cannot use `)+`u?int(64)? 256`+
			regexp.QuoteMeta(` as uint8: out of range"]`)),
		resultLine("blob(bytes)", blobHex),
		// Empty bytes come back empty, not null, from every peer on every serializer:
		// "\x00" (the TypeScript client's, and Autobahn|Python's on JSON) and an empty
		// msgpack bin (Autobahn|Python's on msgpack) alike.
		resultLine("blob(empty)", `{"$bytes": ""}`),
		resultLine("optmid(1, -, 3)", `"a=1 b=nil c=3"`),
		resultLine("optmid(1)", `"a=1 b=nil c=nil"`),
		resultLine("optvar(1, -, 5, 6)", `"a=1 b=nil c=[5 6]"`),
		resultLine("optvar(1, 2)", `"a=1 b=2 c=[]"`),
		// Each progressive wampfn.Result as the library gives a call's result: several
		// values or keywords as its Result object, one value as itself, none as null.
		progressLine("multi with progress", `{"$result": {"args": [1, 2], "kwargs": {"k": 3}}}`),
		progressLine("multi with progress", "4"),
		progressLine("multi with progress", "null"),
		resultLine("multi with progress", "3"),
	}
}

// libraryWant is what library.ts and library.py must print: what examples/service's
// Library (library.go) does, starting empty.
func libraryWant(lang genLang) []genWant {
	const (
		goBook   = `{"title": "The Go Programming Language", "author": "Donovan & Kernighan", "year": 2015}`
		cBook    = `{"title": "The C Programming Language", "author": "Kernighan & Ritchie", "year": 1978}`
		goOnLoan = `{"title": "The Go Programming Language", "author": "Donovan & Kernighan", "year": 2015, "borrower": "ada"}`
	)
	return []genWant{
		resultLine("add The Go Programming Language", "1"),
		resultLine("add The C Programming Language", "2"),
		resultLine("add Structure and Interpretation of Computer Programs", "3"),
		resultLine("get(2)", cBook),
		errorLine("get(42)", "com.example.error.not_found", regexp.QuoteMeta(`["no book with ID 42"]`)),
		progressLine("list(language) with progress", goBook),
		progressLine("list(language) with progress", cBook),
		resultLine("list(language) with progress", "2"),
		resultLine("list()", "3"),
		resultLine("lend(1, ada)", lang.void),
		errorLine("lend(1, grace)", "com.example.error.on_loan", regexp.QuoteMeta(`["book 1 is lent to ada"]`)),
		resultLine("get(1)", goOnLoan),
		resultLine("stats()", `{"books": 3, "on_loan": 1}`),
	}
}

// genFixture is what every language's test shares: the CLI, the Library's binary, the
// router with the corpus Service and a Library, and the generated modules.
type genFixture struct {
	tr      *testRouter
	prefix  string // the corpus's
	svcBin  string
	modules []genModule
}

func newGenFixture(t *testing.T) *genFixture {
	t.Helper()
	f := &genFixture{tr: newTestRouter(t), prefix: newPrefix()}
	bin := cliBinary(t)
	f.svcBin = goBinary(t, "github.com/wampfn/wampfn/examples/service", "service")
	svc := newDiscoveryService(t, f.tr, f.prefix)
	startLibrary(t, f.svcBin, f.tr.wsURL, "json")
	corpusDoc := mustJSON(t, svc.Describe())
	libraryDoc := fetchDocument(t, f.tr, libraryPrefix+"describe")
	for _, m := range []struct {
		name, discovery string
		doc             []byte
	}{
		{"corpus_client", f.prefix + "describe", corpusDoc},
		{"library_client", libraryPrefix + "describe", libraryDoc},
	} {
		gm := genModule{name: m.name}
		if genTSErr() == nil || interopRequired() {
			gm.ts = generate(t, bin, "ts", f.tr.wsURL, m.discovery, m.doc)
		}
		if genPyErr() == nil || interopRequired() {
			gm.py = generate(t, bin, "py", f.tr.wsURL, m.discovery, m.doc)
		}
		f.modules = append(f.modules, gm)
	}
	return f
}

// workDir returns a new directory of t's with the generated modules of lang, the files of
// interop/gen named, and a node_modules link to interop/node_modules.
func (f *genFixture) workDir(t *testing.T, lang genLang, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(interopDir, "node_modules"), filepath.Join(dir, "node_modules")))
	for _, m := range f.modules {
		src := m.ts
		if lang.name == "py" {
			src = m.py
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, m.name+"."+lang.ext), []byte(src), 0o600))
	}
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join(genDir, name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	return dir
}

// typeCheck runs tsc or pyright on dir and returns its output (ANSI colours removed)
// and whether it passed.
func typeCheck(t *testing.T, lang genLang, dir string) (string, bool) {
	t.Helper()
	node, err := nodeCommand()
	require.NoError(t, err)
	var argv []string
	if lang.name == "ts" {
		// --pretty: the errors' related information too ("An argument for 'x' was not
		// provided"), which the plain format leaves out.
		argv = []string{node[0], filepath.Join(interopDir, "node_modules", "typescript", "bin", "tsc"), "-p", dir, "--pretty", "true"}
	} else {
		argv = []string{node[0], filepath.Join(interopDir, "node_modules", "pyright", "index.js"),
			"--project", dir, "--pythonpath", debianPython}
	}
	ctx, cancel := context.WithTimeout(t.Context(), peerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	text := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(string(out), "")
	if err != nil {
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "%s: %s", strings.Join(argv, " "), text)
		return text, false
	}
	return text, true
}

// badLine returns the line number of the WAMPFN-BAD marker in interop/gen/name.
func badLine(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(genDir, name))
	require.NoError(t, err)
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "WAMPFN-BAD") {
			return i + 1
		}
	}
	t.Fatalf("%s has no WAMPFN-BAD line", name)
	return 0
}

func TestGenClients(t *testing.T) {
	// After every other cleanup (this one is registered first), every goroutine started
	// since now has ended: the router, the Service and the sessions.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	if !interopRequired() && genTSErr() != nil && genPyErr() != nil {
		t.Skipf("neither TypeScript (%v) nor Python (%v) can be checked; run with: %s", genTSErr(), genPyErr(), runHint)
	}
	f := newGenFixture(t)
	for _, lang := range genLangs {
		t.Run(lang.name, func(t *testing.T) {
			t.Parallel()
			requireTools(t, "the generated "+lang.name+" client's tools", lang.check())
			dir := f.workDir(t, lang, "common."+lang.ext, "corpus."+lang.ext, "library."+lang.ext, lang.config)
			t.Run("typecheck", func(t *testing.T) {
				if out, ok := typeCheck(t, lang, dir); !ok {
					t.Errorf("the programs and the generated modules must type-check:\n%s", out)
				}
				for _, m := range f.modules {
					checkGenerated(t, lang, dir, m.name)
				}
			})
			t.Run("negative", func(t *testing.T) {
				t.Parallel()
				ndir := f.workDir(t, lang, "bad_string."+lang.ext, "bad_missing."+lang.ext, lang.config)
				out, ok := typeCheck(t, lang, ndir)
				require.False(t, ok, "misuses of the clients must not type-check:\n%s", out)
				checkNegatives(t, lang, ndir, out)
			})
			// The programs run whatever the type check said: tsc emits JavaScript in spite
			// of type errors, and Python does not check types.
			for _, ser := range []string{"json", "msgpack"} {
				t.Run(ser, func(t *testing.T) {
					t.Parallel()
					t.Run("corpus", func(t *testing.T) {
						t.Parallel()
						run := runGenProgram(t, dir, lang.command(dir, "corpus", f.tr.wsURL, realm, ser)...)
						requireLines(t, corpusWant(lang, ser), lang.errClass, run)
					})
					t.Run("library", func(t *testing.T) {
						t.Parallel()
						// A Library of its own, empty, on a router of its own (it serves
						// fixed URIs).
						tr := newTestRouter(t)
						startLibrary(t, f.svcBin, tr.wsURL, ser)
						run := runGenProgram(t, dir, lang.command(dir, "library", tr.wsURL, realm, ser)...)
						requireLines(t, libraryWant(lang), lang.errClass, run)
					})
				})
			}
		})
	}
}

// checkGenerated checks generated module name after the type check in dir: a TypeScript
// module's declarations (what tsc emitted for it) have no `any`; a Python module has no
// comment that silences the type checker.
func checkGenerated(t *testing.T, lang genLang, dir, name string) {
	t.Helper()
	if lang.name == "ts" {
		b, err := os.ReadFile(filepath.Join(dir, "out", name+".d.ts"))
		require.NoError(t, err, "tsc emits declarations (declaration: true)")
		var anys []string
		for i, l := range strings.Split(string(b), "\n") {
			if regexp.MustCompile(`\bany\b`).MatchString(stripComment(l)) {
				anys = append(anys, fmt.Sprintf("%s.d.ts:%d: %s", name, i+1, strings.TrimSpace(l)))
			}
		}
		if len(anys) > 0 {
			t.Errorf("the exported signatures of %s.ts must not use any:\n%s", name, strings.Join(anys, "\n"))
		}
		return
	}
	b, err := os.ReadFile(filepath.Join(dir, name+".py"))
	require.NoError(t, err)
	var ignores []string
	for i, l := range strings.Split(string(b), "\n") {
		if regexp.MustCompile(`#\s*(type|pyright)\s*:\s*(ignore|basic|strict)`).MatchString(l) {
			ignores = append(ignores, fmt.Sprintf("%s.py:%d: %s", name, i+1, strings.TrimSpace(l)))
		}
	}
	if len(ignores) > 0 {
		t.Errorf("the generated %s.py must pass pyright strict without silencing it:\n%s", name, strings.Join(ignores, "\n"))
	}
}

// stripComment removes a // comment and the text of a /** */ comment line from a line of
// a .d.ts, roughly: enough for doc comments, which may say "any".
func stripComment(l string) string {
	s := strings.TrimSpace(l)
	if strings.HasPrefix(s, "*") || strings.HasPrefix(s, "/*") || strings.HasPrefix(s, "//") {
		return ""
	}
	if i := strings.Index(l, "//"); i >= 0 {
		return l[:i]
	}
	return l
}

// checkNegatives checks the type checker's errors for bad_string and bad_missing: exactly
// one each, at the WAMPFN-BAD line, naming the types or the parameter.
func checkNegatives(t *testing.T, lang genLang, dir, out string) {
	t.Helper()
	strLine, missLine := badLine(t, "bad_string."+lang.ext), badLine(t, "bad_missing."+lang.ext)
	if lang.name == "ts" {
		require.Regexp(t, fmt.Sprintf(`(?m)^bad_string\.ts:%d:\d+ - error TS2345: Argument of type 'string' is not assignable to parameter of type 'number'\.$`, strLine), out)
		// longop(n, opts?) and lend(id, borrower, opts?).
		require.Regexp(t, fmt.Sprintf(`(?m)^bad_missing\.ts:%d:\d+ - error TS2554: Expected 2-3 arguments, but got 1\.$`, missLine), out)
		require.Regexp(t, `(?m)^\s*library_client\.ts:\d+:\d+ - An argument for 'borrower' was not provided\.$`, out)
		require.Contains(t, out, "Found 2 errors in 2 files.", "no other error: the generated modules compile")
		return
	}
	file := func(name string) string { return regexp.QuoteMeta(filepath.Join(dir, name)) }
	require.Regexp(t, fmt.Sprintf(`(?m)^\s*%s:%d:\d+ - error: Argument of type "Literal\['3'\]" cannot be assigned to parameter "n" of type "int" in function "longop"$`,
		file("bad_string.py"), strLine), out)
	require.Regexp(t, fmt.Sprintf(`(?m)^\s*%s:%d:\d+ - error: Argument missing for parameter "borrower" \(reportCallIssue\)$`,
		file("bad_missing.py"), missLine), out)
	require.Contains(t, out, "\n2 errors, 0 warnings, 0 informations", "no other error: the generated modules check")
}

// BenchmarkGeneratedClientTS compares greet("ada") through the generated TypeScript client
// with a hand-written session.call, in Node over msgpack and a loopback WebSocket, against
// the corpus's procedures: bench.ts runs interleaved batches (see there) and reports the
// median time per call of each, which the benchmark reports as gen-ns/call and
// hand-ns/call, and the median of the pairs' ratios as gen/hand, for calls one at a time
// (serial-) and 16 in flight (parallel-); it logs the ratios' quartiles too.
// The figures are for reading, not for failing: a slow machine does not fail it.
//
//	WAMPFN_BENCH_PAIRS=20 WAMPFN_BENCH_CALLS=200 go test ./interop/ -run '^$' -bench GeneratedClientTS -benchtime 1x
func BenchmarkGeneratedClientTS(b *testing.B) {
	requireTools(b, "the generated TypeScript client's tools", genTSErr())
	pairs, calls := envInt(b, "WAMPFN_BENCH_PAIRS", 20), envInt(b, "WAMPFN_BENCH_CALLS", 200)
	tr := newTestRouter(b)
	prefix := newPrefix()
	// The corpus, registered on a session of the router, and its document.
	c := tr.Connect(b, wampfntest.InProcess)
	d := wampfn.NewDescription(discoveryInfo)
	for _, pr := range discoveryCorpus {
		require.NoError(b, d.Register(prefix+pr.name, pr.fn, pr.opts...), "describe %s", pr.name)
		require.NoError(b, wampfn.Register(c, prefix+pr.name, pr.fn, pr.opts...), "register %s", pr.name)
	}
	bin := cliBinary(b)
	dir := b.TempDir()
	docFile := filepath.Join(dir, "doc.json")
	require.NoError(b, os.WriteFile(docFile, mustJSON(b, d.Document()), 0o600))
	out, err := exec.Command(bin, "gen", "ts", "--from", docFile, "-o", filepath.Join(dir, "corpus_client.ts")).CombinedOutput()
	require.NoError(b, err, "wampfn gen ts: %s", out)
	for _, name := range []string{"common.ts", "bench.ts", "tsconfig.json"} {
		src, err := os.ReadFile(filepath.Join(genDir, name))
		require.NoError(b, err)
		require.NoError(b, os.WriteFile(filepath.Join(dir, name), src, 0o600))
	}
	require.NoError(b, os.Symlink(filepath.Join(interopDir, "node_modules"), filepath.Join(dir, "node_modules")))
	node, _ := nodeCommand()
	out, err = exec.Command(node[0], filepath.Join(interopDir, "node_modules", "typescript", "bin", "tsc"), "-p", dir).CombinedOutput()
	require.NoError(b, err, "tsc: %s", out)

	b.ResetTimer()
	// One run measures everything, whatever b.N: each of its batches is a benchmark of its
	// own.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	argv := append(slices.Clip(node), filepath.Join(dir, "out", "bench.js"), tr.wsURL, realm, "msgpack",
		prefix, strconv.Itoa(pairs), strconv.Itoa(calls))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	require.NoError(b, err, "%s\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), stdout, stderr.String())
	b.StopTimer()
	var res struct {
		Bench map[string]struct {
			Gen, Hand, Ratio, RatioQ1, RatioQ3 float64
		} `json:"bench"`
	}
	for _, l := range strings.Split(string(stdout), "\n") {
		if text, ok := strings.CutPrefix(l, outPrefix); ok && strings.Contains(text, `"bench"`) {
			require.NoError(b, json.Unmarshal([]byte(text), &res), text)
		}
	}
	require.Len(b, res.Bench, 2, "bench.js printed no figures: %s", stdout)
	for _, mode := range []string{"serial", "parallel"} {
		m := res.Bench[mode]
		b.ReportMetric(m.Gen, mode+"-gen-ns/call")
		b.ReportMetric(m.Hand, mode+"-hand-ns/call")
		b.ReportMetric(m.Ratio, mode+"-gen/hand")
		b.Logf("%s: generated %.0f ns/call, hand-written %.0f ns/call (medians); generated/hand-written per pair: "+
			"median %.3f, quartiles %.3f to %.3f (%d interleaved pairs of batches of %d calls)",
			mode, m.Gen, m.Hand, m.Ratio, m.RatioQ1, m.RatioQ3, pairs, calls)
	}
}

// envInt returns the positive integer in the environment variable name, or def.
func envInt(tb testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	require.NoError(tb, err, "%s", name)
	require.Positive(tb, n, "%s", name)
	return n
}
