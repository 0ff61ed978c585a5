package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn"
	"github.com/wampfn/wampfn/wampfntest"
)

func TestGenMethodNames(t *testing.T) {
	for _, c := range []struct{ local, ts, py string }{
		{"get_item", "getItem", "get_item"},
		{"shop.get_item", "shopGetItem", "shop_get_item"},
		{"GetItem", "getItem", "get_item"},
		{"longop", "longop", "longop"},
		{"a-b", "aB", "a_b"},
		{"v2.list", "v2List", "v2_list"},
		{"constructor", "constructor_", "constructor"},
		{"class", "class", "class_"},
		{"import", "import", "import_"},
	} {
		ts, err := tsMethodName(c.local)
		require.NoError(t, err, c.local)
		require.Equal(t, c.ts, ts, c.local)
		py, err := pyMethodName(c.local)
		require.NoError(t, err, c.local)
		require.Equal(t, c.py, py, c.local)
	}
	for _, local := range []string{"3d", "..", "-"} {
		_, err := tsMethodName(local)
		require.ErrorContains(t, err, "makes no method name", local)
		_, err = pyMethodName(local)
		require.ErrorContains(t, err, "makes no method name", local)
	}
}

func TestCommonPrefix(t *testing.T) {
	for _, c := range []struct {
		uris []string
		want string
	}{
		{[]string{"com.myapp.longop"}, "com.myapp."},
		{[]string{"com.example.shop.get_item", "com.example.shop.list"}, "com.example.shop."},
		{[]string{"com.example.shop.get_item", "com.example.shop.getaway"}, "com.example.shop."},
		{[]string{"com.a.x", "com.b.y"}, "com."},
		{[]string{"com.a.x", "org.a.x"}, ""},
		{[]string{"longop"}, ""},
		{nil, ""},
	} {
		require.Equal(t, c.want, commonPrefix(c.uris), "%q", c.uris)
	}
}

func TestIdentifier(t *testing.T) {
	for in, want := range map[string]string{
		"Point": "Point", "net.url.Userinfo": "net_url_Userinfo", "sPage_int8_": "sPage_int8_",
		"3d": "_3d", "a-b": "a_b", "": "_", "ünï": "_n_",
	} {
		require.Equal(t, want, identifier(in), in)
	}
}

// writeDocument writes the document of d to a file and returns its path.
func writeDocument(t *testing.T, doc map[string]any) string {
	t.Helper()
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "openrpc.json")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

func TestGenUsage(t *testing.T) {
	d := wampfn.NewDescription(wampfn.Info{Title: "t", Version: "1"})
	require.NoError(t, d.Register("com.test.add", func(a, b int) int { return a + b }))
	doc := writeDocument(t, d.Document())
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"gen"}, "wampfn: gen needs a language first: wampfn gen ts ... or wampfn gen py ...\n"},
		{[]string{"gen", "--from", doc}, "wampfn: gen needs a language first: wampfn gen ts ... or wampfn gen py ...\n"},
		{[]string{"gen", "go"}, "wampfn: gen: unknown language \"go\": want ts or py\n"},
		{[]string{"gen", "ts"}, "wampfn: gen: give one of --discovery URI and --from FILE\n"},
		{[]string{"gen", "py", "--from", doc, "--discovery", "com.test.describe"}, "wampfn: gen: give one of --discovery URI and --from FILE\n"},
		{[]string{"gen", "ts", "--from", doc, "extra"}, "wampfn: gen: unexpected argument \"extra\"\n"},
		{[]string{"gen", "ts", "--bogus"}, "wampfn: flag provided but not defined: -bogus\n"},
	} {
		code, out, errOut := runCLI(t.Context(), c.args...)
		require.Equal(t, exitUsage, code, "%q", c.args)
		require.Empty(t, out, "%q", c.args)
		require.Equal(t, c.want, errOut, "%q", c.args)
	}
	code, out, errOut := runCLI(t.Context(), "gen", "ts", "-h")
	require.Equal(t, exitOK, code)
	require.Empty(t, errOut)
	require.Contains(t, out, "usage: wampfn gen ts|py")
	require.Contains(t, out, "-prefix")
}

func TestGenErrors(t *testing.T) {
	d := wampfn.NewDescription(wampfn.Info{})
	require.NoError(t, d.Register("com.test.shop.get_item", func(id int) int { return id }))
	require.NoError(t, d.Register("com.test.shop.getItem", func(id int) int { return id }))
	require.NoError(t, d.Register("com.test.shop.list", func() []int { return nil }))
	clash := writeDocument(t, d.Document())

	notDoc := filepath.Join(t.TempDir(), "not.json")
	require.NoError(t, os.WriteFile(notDoc, []byte(`{"methods": []}`), 0o600))
	badJSON := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(badJSON, []byte(`{bad`), 0o600))
	trailing := filepath.Join(t.TempDir(), "trailing.json")
	require.NoError(t, os.WriteFile(trailing, []byte(`{"openrpc": "1.3.2", "methods": []} {}`), 0o600))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"gen", "ts", "--from", clash},
			"wampfn: gen ts: procedures com.test.shop.getItem and com.test.shop.get_item both make method getItem: give a --prefix that keeps them apart, or rename one\n"},
		{[]string{"gen", "py", "--from", clash},
			"wampfn: gen py: procedures com.test.shop.getItem and com.test.shop.get_item both make method get_item: give a --prefix that keeps them apart, or rename one\n"},
		{[]string{"gen", "ts", "--from", clash, "--prefix", "com.test.other."},
			"wampfn: gen ts: procedure com.test.shop.getItem does not start with --prefix \"com.test.other.\"\n"},
		{[]string{"gen", "ts", "--from", clash, "--prefix", "com.test.shop.list"},
			"wampfn: gen ts: procedure com.test.shop.getItem does not start with --prefix \"com.test.shop.list\"\n"},
		{[]string{"gen", "ts", "--from", notDoc},
			"wampfn: gen: " + notDoc + ": not an OpenRPC document (an object with openrpc and methods)\n"},
		{[]string{"gen", "ts", "--from", badJSON},
			"wampfn: gen: " + badJSON + ": invalid character 'b' looking for beginning of object key string\n"},
		{[]string{"gen", "py", "--from", trailing},
			"wampfn: gen: " + trailing + ": more after the document, which ends at byte 35\n"},
		{[]string{"gen", "ts", "--from", notDoc + ".missing"},
			"wampfn: gen: open " + notDoc + ".missing: no such file or directory\n"},
	} {
		code, out, errOut := runCLI(t.Context(), c.args...)
		require.Equal(t, exitFailed, code, "%q", c.args)
		require.Empty(t, out, "%q", c.args)
		require.Equal(t, c.want, errOut, "%q", c.args)
	}
}

// TestGenDiscovery: gen fetches the document from a Service's discovery
// procedure, and writes what it writes from the same document in a file;
// an unregistered discovery procedure is named.
func TestGenDiscovery(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	s := serveCorpus(t, r)
	doc := writeDocument(t, s.Describe())
	url := r.URL()
	for _, lang := range []string{"ts", "py"} {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		code, fetched, errOut := runCLI(ctx, "gen", lang, "--url", url, "--realm", r.Realm(), "--discovery", discoveryURI)
		cancel()
		require.Equal(t, exitOK, code, errOut)
		require.Empty(t, errOut)
		out := filepath.Join(t.TempDir(), "client."+lang)
		code, stdout, errOut := runCLI(t.Context(), "gen", lang, "--from", doc, "-o", out)
		require.Equal(t, exitOK, code, errOut)
		require.Empty(t, stdout)
		fromFile, err := os.ReadFile(out)
		require.NoError(t, err)
		// The header names the source; the rest is the same.
		fetchedHeader, fetchedBody, _ := strings.Cut(fetched, "\n")
		fileHeader, fileBody, _ := strings.Cut(string(fromFile), "\n")
		require.Equal(t, fileBody, fetchedBody, lang)
		require.Contains(t, fetchedHeader, "from "+discoveryURI+" at "+url+", realm "+r.Realm()+"; DO NOT EDIT.")
		require.Contains(t, fileHeader, "from "+doc+"; DO NOT EDIT.")
		// The input stream and the prefix registration are left out, with why.
		require.Contains(t, fetched, "Left out: com.test.upload, because it takes an input stream")
		require.Contains(t, fetched, "Left out: com.test.files., because it is a prefix registration")
	}

	code, out, errOut := runCLI(t.Context(), "gen", "ts", "--url", url, "--realm", r.Realm(), "--discovery", "com.test.nothing")
	require.Equal(t, exitFailed, code)
	require.Empty(t, out)
	require.Equal(t, "wampfn: gen: discovery procedure com.test.nothing is not registered on realm \""+r.Realm()+"\"\n", errOut)
}

// typeCheckers returns the TypeScript compiler and pyright that
// interop/install.sh installs, or skips the test (fails it with
// WAMPFN_INTEROP=require) when they are missing.
func typeCheckers(t *testing.T) (tsc, pyright, nodeModules string) {
	t.Helper()
	nodeModules, err := filepath.Abs(filepath.Join("..", "..", "interop", "node_modules"))
	require.NoError(t, err)
	tsc = filepath.Join(nodeModules, ".bin", "tsc")
	pyright = filepath.Join(nodeModules, ".bin", "pyright")
	for _, p := range []string{tsc, pyright, filepath.Join(nodeModules, "@types", "autobahn")} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("WAMPFN_INTEROP") == "require" {
				t.Fatalf("%s is missing: run interop/install.sh", p)
			}
			t.Skipf("%s is missing: run interop/install.sh", p)
		}
	}
	return tsc, pyright, nodeModules
}

// debianPython is the Python that has Autobahn|Python (python3-autobahn).
const debianPython = "/usr/bin/python3"

// Edge is a struct whose keys are not all names in Python or TypeScript.
type Edge struct {
	From  int    `json:"from"`
	MyKey string `json:"my-key"`
	List  []int  `json:"list"`
	Int   int8   `json:"int"`
}

// Client is a type named as the generated class.
type Client struct {
	Name string `json:"name"`
}

// _options, _trim and keyof are named as the Python module's helpers
// (and private to Python) and a TypeScript type operator.
type (
	_options struct {
		Typename string            `json:"__typename"` // mangled in a Python class
		Proto    map[string][]byte `json:"__proto__"`  // the prototype, in a JavaScript object literal
	}
	_trim struct {
		N int `json:"n"`
	}
	keyof struct {
		B []byte `json:"b"`
	}
)

// TestGenNamesCompile: procedures and types whose names clash with the
// languages' keywords, builtins and the module's own names make modules
// that type-check strictly, and a program that calls each method by the
// names the rules give type-checks against them.
func TestGenNamesCompile(t *testing.T) {
	tsc, pyright, nodeModules := typeCheckers(t)
	d := wampfn.NewDescription(wampfn.Info{Title: "edges", Version: "0.1.0"})
	for _, p := range []struct {
		uri  string
		fn   any
		opts []wampfn.Option
	}{
		{"com.edge.list", func(items []int) []int { return items }, nil},
		{"com.edge.int", func(v int, e Edge) (int, Edge) { return v, e }, nil},
		{"com.edge.class", func(from int, class string, timeout *bool) string { return class },
			[]wampfn.Option{wampfn.WithParamNames("from", "class", "timeout")}},
		{"com.edge.get_item", func(opts string, onProgress int) Client { return Client{} },
			[]wampfn.Option{wampfn.WithParamNames("opts", "onProgress")}},
		{"com.edge.shop.get_item", func(c Client, by struct {
			In  string `json:"in"`
			Out []byte `json:"out"`
		}) []Client {
			return nil
		}, nil},
		{"com.edge.constructor", func(self string, on_progress ...float32) {}, []wampfn.Option{wampfn.WithParamNames("self", "on_progress")}},
		{"com.edge.helpers", func(a, b, c, d int, e []byte, f, g, h, i int) (int, string) { return 0, "" },
			[]wampfn.Option{wampfn.WithParamNames("_call", "r", "undefined", "typing", "_toBytes", "tuple", "_options", "_trim", "builtins"),
				wampfn.WithSummary("Ends */ a comment, \"\"\" a docstring, \\ escapes, and \x00 stops Python.")}},
		{"com.edge.then", func(o _options, t *_trim, k ...keyof) keyof { return keyof{} }, nil},
	} {
		require.NoError(t, d.Register(p.uri, p.fn, p.opts...), p.uri)
	}
	doc := writeDocument(t, d.Document())
	dir := t.TempDir()
	require.NoError(t, os.Symlink(nodeModules, filepath.Join(dir, "node_modules")))
	for _, lang := range []string{"ts", "py"} {
		code, _, errOut := runCLI(t.Context(), "gen", lang, "--from", doc, "-o", filepath.Join(dir, "edges."+lang))
		require.Equal(t, exitOK, code, errOut)
	}
	files := map[string]string{
		"tsconfig.json": `{"compilerOptions": {"strict": true, "noEmit": true, "module": "commonjs", "target": "es2022",
			"noUnusedLocals": true, "noUnusedParameters": true, "noUncheckedIndexedAccess": true}, "files": ["use.ts"]}`,
		"use.ts": `import type * as autobahn from "autobahn";
import { Client, Client_, Edge, _options, _trim, keyof_ } from "./edges";

export async function use(s: autobahn.Session): Promise<void> {
  const c = new Client(s);
  const xs: number[] | null = await c.list([1, 2]);
  const e: Edge = { from: 1, "my-key": "k", list: null, int: 8 };
  const [n, e2]: [number, Edge] = await c.int(1, e);
  const cls: string = await c.class(1, "c", true);
  await c.class(1, "c");
  const cl: Client_ = await c.getItem("o", 2, { timeout: 100 });
  const cls2: Client_[] | null = await c.shopGetItem({ name: "n" }, { in: "i", out: new Uint8Array([1]) });
  const v: void = await c.constructor_("me", [1.5, 2]);
  const [h1, h2]: [number, string] = await c.helpers(1, 2, 3, 4, new Uint8Array(), 5, 6, 7, 8);
  const o: _options = { __typename: "t", __proto__: { k: new Uint8Array([1]) } };
  const t: _trim = { n: 1 };
  const k: keyof_ = await c.then_(o, t, [{ b: new Uint8Array() }]);
  await c.then_(o, undefined, [{ b: null }]);
  console.log(xs, n, e2, cls, cl, cls2, v, h1, h2, k);
}
`,
		"pyrightconfig.json": `{"typeCheckingMode": "strict", "pythonVersion": "3.11", "include": ["edges.py", "use.py"]}`,
		"use.py": `from edges import Client, Client_, Edge, Session, T_options, T_trim, keyof


async def use(s: Session) -> None:
    c = Client(s)
    xs: list[int] | None = await c.list([1, 2])
    e: Edge = {"from": 1, "my-key": "k", "list": None, "int": 8}
    n, e2 = await c.int(1, e)
    cls: str = await c.class_(1, "c", True)
    await c.class_(1, "c", timeout=0.5)
    cl: Client_ = await c.get_item("o", 2, timeout=1)
    cls2: list[Client_] | None = await c.shop_get_item({"name": "n"}, {"in": "i", "out": b"\x01"})
    await c.constructor("me", 1.5, 2)
    h1, h2 = await c.helpers(1, 2, 3, 4, b"", 5, 6, 7, 8)
    o: T_options = {"__typename": "t", "__proto__": {"k": b"\\x01"}}
    t: T_trim = {"n": 1}
    k: keyof = await c.then(o, t, {"b": b""})
    await c.then(o, None)
    print(xs, n + 1, e2, cls, cl, cls2, h1 + 1, h2, k)
`,
	}
	for name, text := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	check := func(name string, cmd *exec.Cmd) {
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s:\n%s", name, out)
	}
	check("tsc", exec.CommandContext(ctx, tsc, "-p", "tsconfig.json"))
	check("pyright", exec.CommandContext(ctx, pyright, "--pythonpath", debianPython))
	// The module runs: its aliases and TypedDicts are valid at run time,
	// and a key that starts with "__" is not mangled.
	check("python3", exec.CommandContext(ctx, debianPython, "-c",
		"import edges; assert edges.T_options.__optional_keys__ == {'__typename', '__proto__'}, edges.T_options.__optional_keys__"))
}
