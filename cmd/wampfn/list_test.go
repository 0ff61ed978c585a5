package main

import (
	"strings"
	"testing"

	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn"
	"github.com/wampfn/wampfn/wampfntest"
)

// registerListed registers, on r, an exact, a prefix and a wildcard
// procedure, and one shared by two callees with the roundrobin policy.
func registerListed(t *testing.T, r *wampfntest.Router) {
	t.Helper()
	c1, c2 := r.Connect(t, wampfntest.InProcess), r.Connect(t, wampfntest.InProcess)
	require.NoError(t, wampfn.Register(c1, "com.list.add", func(a, b int) int { return a + b }))
	require.NoError(t, wampfn.Register(c1, "com.list.files.", func() {},
		wampfn.WithRegisterOptions(wamp.Dict{"match": "prefix"})))
	require.NoError(t, wampfn.Register(c2, "com.list..get", func() {},
		wampfn.WithRegisterOptions(wamp.Dict{"match": "wildcard"})))
	shared := wampfn.WithRegisterOptions(wamp.Dict{"invoke": "roundrobin"})
	require.NoError(t, wampfn.Register(c1, "com.list.shared", func() {}, shared))
	require.NoError(t, wampfn.Register(c2, "com.list.shared", func() {}, shared))
}

func TestList(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	registerListed(t, r)
	want := "" +
		"com.list..get    match=wildcard invoke=single     callees=1\n" +
		"com.list.add     match=exact    invoke=single     callees=1\n" +
		"com.list.files.  match=prefix   invoke=single     callees=1\n" +
		"com.list.shared  match=exact    invoke=roundrobin callees=2\n"
	wantJSON := `[
		{"uri": "com.list..get", "match": "wildcard", "invoke": "single", "callees": 1},
		{"uri": "com.list.add", "match": "exact", "invoke": "single", "callees": 1},
		{"uri": "com.list.files.", "match": "prefix", "invoke": "single", "callees": 1},
		{"uri": "com.list.shared", "match": "exact", "invoke": "roundrobin", "callees": 2}]`

	for _, ser := range []string{"json", "msgpack", "cbor"} {
		t.Run(ser, func(t *testing.T) {
			code, out, errOut := runCLI(t.Context(), "list", "--url", r.URL(), "--serializer", ser)
			require.Equal(t, exitOK, code, errOut)
			require.Empty(t, errOut)
			require.Equal(t, want, out)

			code, out, errOut = runCLI(t.Context(), "list", "--url", r.URL(), "--serializer", ser, "--json")
			require.Equal(t, exitOK, code, errOut)
			require.JSONEq(t, wantJSON, out)
			require.True(t, strings.HasPrefix(out, "[\n  {\n    \"uri\": \"com.list..get\",\n"), "indented: %q", out)

			// --all: the router's meta procedures too.
			code, out, errOut = runCLI(t.Context(), "list", "--url", r.URL(), "--serializer", ser, "--all")
			require.Equal(t, exitOK, code, errOut)
			uris := map[string]string{}
			for line := range strings.Lines(out) {
				f := strings.Fields(line)
				require.Len(t, f, 4, "line %q", line)
				uris[f[0]] = strings.Join(f[1:], " ")
			}
			require.Equal(t, "match=exact invoke=roundrobin callees=2", uris["com.list.shared"])
			require.Equal(t, "match=exact invoke=single callees=1", uris["wamp.registration.list"])
			require.Contains(t, uris, "wamp.registration.count_callees")
		})
	}
}

func TestListEmpty(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	code, out, errOut := runCLI(t.Context(), "list", "--url", r.URL())
	require.Equal(t, exitOK, code, errOut)
	require.Empty(t, out)
	code, out, errOut = runCLI(t.Context(), "list", "--url", r.URL(), "--json")
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, "[]\n", out)
}

// denyCalls is a nexus Authorizer that refuses the calls of some
// procedures.
type denyCalls map[wamp.URI]bool

func (d denyCalls) Authorize(_ *wamp.Session, msg wamp.Message) (bool, error) {
	call, ok := msg.(*wamp.Call)
	return !ok || !d[call.Procedure], nil
}

// TestListRefused: a router that refuses the meta procedures.
func TestListRefused(t *testing.T) {
	noLeaks(t)
	for _, proc := range []wamp.URI{wamp.MetaProcRegList, wamp.MetaProcRegGet, wamp.MetaProcRegCountCallees} {
		t.Run(string(proc), func(t *testing.T) {
			r := wampfntest.NewRouter(t, wampfntest.WithRealmConfig(func(rc *router.RealmConfig) {
				rc.Authorizer = denyCalls{proc: true}
			}))
			registerListed(t, r)
			code, out, errOut := runCLI(t.Context(), "list", "--url", r.URL())
			require.Equal(t, exitFailed, code)
			require.Empty(t, out)
			require.Equal(t, "wampfn: list: "+string(proc)+": wamp.error.not_authorized args=[] kwargs={}\n", errOut)
		})
	}
}

func TestListUsage(t *testing.T) {
	noLeaks(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"extra argument", []string{"list", "com.x"}, "wampfn: list: unexpected argument \"com.x\"\n"},
		{"unknown flag", []string{"list", "--nope"}, "wampfn: flag provided but not defined: -nope\n"},
		{"bad timeout", []string{"list", "--timeout", "-1s"}, "wampfn: list: --timeout must be positive, got -1s\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t.Context(), tt.args...)
			require.Equal(t, exitUsage, code)
			require.Empty(t, out)
			require.Equal(t, tt.want, errOut)
		})
	}
	code, out, errOut := runCLI(t.Context(), "list", "-h")
	require.Equal(t, exitOK, code)
	require.Empty(t, errOut)
	require.True(t, strings.HasPrefix(out, "usage: wampfn list [flags]\n"), out)
	require.Contains(t, out, "-all")
}
