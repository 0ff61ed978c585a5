package main

// list: the procedures registered on a realm, from the router's
// registration meta API.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// listUsage is list's usage text, shown by list -h.
const listUsage = `list [flags]

Lists the procedures registered on the realm, from the router's
registration meta API (wamp.registration.list, wamp.registration.get and
wamp.registration.count_callees), one line each, sorted by URI:

  com.myapp.add     match=exact  invoke=single     callees=1
  com.myapp.files.  match=prefix invoke=roundrobin callees=2

match is exact, prefix or wildcard; invoke is the shared registration's
policy (single, roundrobin, random, first, last); callees is how many
sessions serve it. The router's own meta procedures (wamp.*) are left out
unless --all. --json prints a JSON array of {"uri", "match", "invoke",
"callees"} instead.

flags:`

// listTimeout is the default bound on each meta procedure call;
// listParallel bounds the calls in flight.
const (
	listTimeout  = 10 * time.Second
	listParallel = 8
)

// A registration is one line of list's output.
type registration struct {
	URI     string `json:"uri"`
	Match   string `json:"match"`
	Invoke  string `json:"invoke"`
	Callees int64  `json:"callees"`
}

func runList(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	var cf connFlags
	fs := newFlagSet("list", env, &cf)
	asJSON := fs.Bool("json", false, "print a JSON array of {uri, match, invoke, callees}")
	all := fs.Bool("all", false, "list the router's meta procedures (wamp.*) too")
	timeout := fs.Duration("timeout", listTimeout, "bound on each meta procedure call")
	if code, ok := parse(fs, listUsage, args, stdout, stderr); !ok {
		return code
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "wampfn: list: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	case *timeout <= 0:
		fmt.Fprintf(stderr, "wampfn: list: --timeout must be positive, got %v\n", *timeout)
		return exitUsage
	}

	c, code := cf.connect(ctx, stderr)
	if c == nil {
		return code
	}
	regs, proc, err := registrations(ctx, c, *timeout, *all)
	closeWithin(c, closeWait)
	if err != nil {
		return callFailed(ctx, stderr, "list: "+string(proc), *timeout, err)
	}

	if *asJSON {
		b, err := json.MarshalIndent(regs, "", "  ")
		if err != nil { // not reached: plain strings and numbers
			fmt.Fprintf(stderr, "wampfn: list: %v\n", err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return exitOK
	}
	var wURI, wMatch, wInvoke int
	for _, r := range regs {
		wURI, wMatch, wInvoke = max(wURI, len(r.URI)), max(wMatch, len(r.Match)), max(wInvoke, len(r.Invoke))
	}
	for _, r := range regs {
		fmt.Fprintf(stdout, "%-*s  match=%-*s invoke=%-*s callees=%d\n", wURI, r.URI, wMatch, r.Match, wInvoke, r.Invoke, r.Callees)
	}
	return exitOK
}

// registrations returns the realm's registrations, sorted by URI (and
// match), without the router's meta procedures unless all. On failure it
// also returns the meta procedure that failed. A registration that ends
// while it runs is left out.
func registrations(ctx context.Context, c *client.Client, timeout time.Duration, all bool) ([]registration, wamp.URI, error) {
	res, err := boundedCall(ctx, c, timeout, string(wamp.MetaProcRegList), nil, nil, nil, nil)
	if err != nil {
		return nil, wamp.MetaProcRegList, err
	}
	var ids []wamp.ID
	if len(res.Arguments) > 0 {
		byMatch, _ := dictOf(res.Arguments[0])
		for _, x := range byMatch {
			list, _ := listOf(x)
			for _, v := range list {
				if id, ok := wamp.AsID(v); ok {
					ids = append(ids, id)
				}
			}
		}
	}

	// On the first failure, no new call starts; those in flight finish
	// (cancelling them would have nexus wait for the router's answer to
	// each CANCEL, which a router may never send for a call it refused).
	var (
		mu       sync.Mutex
		regs     []registration
		firstErr error
		failed   wamp.URI
		wg       sync.WaitGroup
		slots    = make(chan struct{}, listParallel)
	)
	for _, id := range ids {
		slots <- struct{}{}
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			r, ok, proc, err := describeRegistration(ctx, c, id, timeout, all)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && firstErr == nil:
				firstErr, failed = err, proc
			case ok:
				regs = append(regs, r)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, failed, firstErr
	}
	slices.SortFunc(regs, func(a, b registration) int {
		return cmp.Or(strings.Compare(a.URI, b.URI), strings.Compare(a.Match, b.Match))
	})
	if regs == nil {
		regs = []registration{} // [] in JSON
	}
	return regs, "", nil
}

// describeRegistration gets registration id's details and callee count.
// ok is false for a registration that has ended, or a meta procedure
// when not all. On failure it also returns the meta procedure that
// failed.
func describeRegistration(ctx context.Context, c *client.Client, id wamp.ID, timeout time.Duration, all bool) (r registration, ok bool, proc wamp.URI, err error) {
	gone := func(err error) bool {
		var rpcErr client.RPCError
		return errors.As(err, &rpcErr) && rpcErr.Err.Error == wamp.ErrNoSuchRegistration
	}
	res, err := boundedCall(ctx, c, timeout, string(wamp.MetaProcRegGet), nil, wamp.List{id}, nil, nil)
	if err != nil {
		return r, false, wamp.MetaProcRegGet, ignoreIf(gone(err), err)
	}
	var details wamp.Dict
	if len(res.Arguments) > 0 {
		details, _ = dictOf(res.Arguments[0])
	}
	r.URI, _ = wamp.AsString(details["uri"])
	r.Match, _ = wamp.AsString(details[wamp.OptMatch])
	r.Invoke, _ = wamp.AsString(details[wamp.OptInvoke])
	if r.Match == "" {
		r.Match = wamp.MatchExact // nexus keeps "" for the default
	}
	if r.Invoke == "" {
		r.Invoke = wamp.InvokeSingle
	}
	if !all && strings.HasPrefix(r.URI, "wamp.") {
		return r, false, "", nil
	}
	res, err = boundedCall(ctx, c, timeout, string(wamp.MetaProcRegCountCallees), nil, wamp.List{id}, nil, nil)
	if err != nil {
		return r, false, wamp.MetaProcRegCountCallees, ignoreIf(gone(err), err)
	}
	if len(res.Arguments) > 0 {
		r.Callees, _ = wamp.AsInt64(res.Arguments[0])
	}
	return r, true, "", nil
}

// ignoreIf returns nil if ignore, else err.
func ignoreIf(ignore bool, err error) error {
	if ignore {
		return nil
	}
	return err
}
