package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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
		"list ok", "lend ok", "lend ok", "stats ok",
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
	require.Equal(t, "usage: service [-v]\n  -v\tlog each call to stderr\n", out.String())
	require.Empty(t, errOut.String())
}
