package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/gammazero/nexus/v3/client"
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

// TestLibraryOnEveryTransport tests the Library as its author would with
// wampfntest: served by a Service that dials the kit's router, called
// through BindAll from a caller on each transport. The kit closes the
// callers, then the router; the Service is stopped before that.
func TestLibraryOnEveryTransport(t *testing.T) {
	noLeaks(t)
	r := wampfntest.NewRouter(t)
	ready := make(chan struct{}, 1)
	svc := wampfn.NewService(r.Dialer(wampfntest.InProcess),
		wampfn.WithOnConnect(func(context.Context, *client.Client) { ready <- struct{}{} }))
	lib := &Library{}
	require.NoError(t, svc.RegisterMethods(prefix, lib))
	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- svc.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-stopped)
	})
	<-ready

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
