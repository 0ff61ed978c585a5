package wampfn

import (
	"strings"
	"testing"

	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
)

// matches are the match policies checkProcedureURI distinguishes, and one
// it does not know (checked as exact, as nexus does).
var matches = []string{"", wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard, "other"}

// nexusAccepts is what checkProcedureURI must agree with: nexus's router
// with its default loose URIs, which also refuses "wamp." URIs from
// callees; and wampfn refuses the empty URI.
func nexusAccepts(uri, match string) bool {
	return uri != "" && !strings.HasPrefix(uri, "wamp.") && wamp.URI(uri).ValidURI(false, match)
}

func TestURICheck(t *testing.T) {
	for _, tc := range []struct {
		uri     string
		match   string
		wantErr string // substring of the error; "" for a valid URI
	}{
		{uri: "com.myapp.echo"},
		{uri: "com.myapp.getUser"}, // loose: strict routers refuse it
		{uri: "a"},
		{uri: "a-b.c:d.é"},
		{uri: "wamp"},
		{uri: "wampfn.x"},
		{uri: "", wantErr: "wampfn: register: invalid procedure URI: empty"},
		{uri: "", match: wamp.MatchPrefix, wantErr: "invalid procedure URI: empty"},
		{uri: "", match: wamp.MatchWildcard, wantErr: "invalid procedure URI: empty"},
		{uri: "wamp.x", wantErr: `wampfn: register wamp.x: invalid procedure URI: the prefix "wamp." is reserved for the router`},
		{uri: "wamp.", match: wamp.MatchPrefix, wantErr: `"wamp." is reserved`},
		{uri: "a..b", wantErr: `wampfn: register a..b: invalid procedure URI: component 1 is empty (only match "wildcard" allows empty components) (loose WAMP URI rules`},
		{uri: "a..b", match: wamp.MatchExact, wantErr: "component 1 is empty"},
		{uri: "a..b", match: wamp.MatchPrefix, wantErr: "component 1 is empty (match prefix allows only the last one to be empty)"},
		{uri: "a..b", match: wamp.MatchWildcard},
		{uri: "a.", wantErr: `component 1 is empty (register with match "prefix" for a URI that ends with ".")`},
		{uri: "a.", match: wamp.MatchPrefix},
		{uri: "a.", match: wamp.MatchWildcard},
		{uri: ".a", wantErr: "component 0 is empty"},
		{uri: ".a", match: wamp.MatchPrefix, wantErr: "component 0 is empty"},
		{uri: ".a", match: wamp.MatchWildcard},
		{uri: ".", match: wamp.MatchWildcard},
		{uri: "with space", wantErr: `wampfn: register with space: invalid procedure URI: component 0 ("with space") contains ' '`},
		{uri: "a.b\tc", match: wamp.MatchWildcard, wantErr: `component 1 ("b\tc") contains '\t'`},
		{uri: "#", wantErr: `component 0 ("#") contains '#'`},
		{uri: "a.#", match: wamp.MatchWildcard, wantErr: "contains '#'"},
		{uri: "a.b", match: "other"},
		{uri: "a.", match: "other", wantErr: "component 1 is empty"},
	} {
		t.Run(tc.uri+"/"+tc.match, func(t *testing.T) {
			err := checkProcedureURI(tc.uri, tc.match)
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorIs(t, err, ErrInvalidURI)
			}
			require.Equal(t, nexusAccepts(tc.uri, tc.match), err == nil, "disagrees with nexus")
		})
	}
}

// Every URI of up to 4 characters from an alphabet of the characters that
// matter agrees with nexus, for every match policy.
func TestURICheckAgreesWithNexus(t *testing.T) {
	// \v and U+00A0 are not white space to nexus's \s; "\xff" is invalid
	// UTF-8; "w" and "wamp." make the reserved prefix.
	alphabet := []string{"a", "Z", ".", " ", "#", "\t", "\n", "\f", "\r", "\v", "\u00a0", "\xff", "wamp."}
	n := 0
	var gen func(prefix string, depth int)
	gen = func(prefix string, depth int) {
		for _, match := range matches {
			if got, want := checkProcedureURI(prefix, match) == nil, nexusAccepts(prefix, match); got != want {
				t.Errorf("checkProcedureURI(%q, %q): accepted %v, nexus %v", prefix, match, got, want)
			}
			n++
		}
		if depth == 0 {
			return
		}
		for _, s := range alphabet {
			gen(prefix+s, depth-1)
		}
	}
	depth := 4
	if testing.Short() {
		depth = 3
	}
	gen("", depth)
	t.Logf("%d URI and match pairs", n)
}
