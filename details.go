package wampfn

// Serving a call (stage 2): Details, what an INVOCATION says about its
// call, as a function receives it.

import (
	"math"
	"time"

	"github.com/gammazero/nexus/v3/wamp"
)

// Details describes the invocation. A function receives it by declaring a
// parameter of type Details.
type Details struct {
	// Procedure is the URI the caller called: for a pattern-based
	// registration (match prefix or wildcard) the full URI, else the
	// registered one ("" for a Handler whose dealer does not send it).
	Procedure string
	// Caller is the caller's session ID, CallerAuthID and CallerAuthRole
	// its authentication; set only when the procedure was registered
	// with "disclose_caller": true and the router discloses them.
	Caller         wamp.ID
	CallerAuthID   string
	CallerAuthRole string
	// Timeout is the call's timeout as the caller set it, when the
	// procedure was registered with "forward_timeout": true; 0 otherwise,
	// and 0 for a value that is not a positive whole number of
	// milliseconds (one beyond a Duration's range is the largest
	// Duration). The function's context has a deadline that nexus derives
	// from the same value (truncating a fraction, and ignoring a value
	// beyond int64's range).
	Timeout time.Duration
}

func (p *procedure) details(inv *wamp.Invocation) Details {
	d := Details{Procedure: p.name}
	if s, ok := inv.Details[wamp.OptProcedure].(string); ok {
		d.Procedure = s
	} else if u, ok := inv.Details[wamp.OptProcedure].(wamp.URI); ok {
		d.Procedure = string(u)
	}
	if id, ok := wamp.AsID(inv.Details["caller"]); ok {
		d.Caller = id
	}
	d.CallerAuthID, _ = inv.Details["caller_authid"].(string)
	d.CallerAuthRole, _ = inv.Details["caller_authrole"].(string)
	d.Timeout = timeoutDetail(inv.Details[wamp.OptTimeout])
	return d
}

// timeoutDetail reads INVOCATION.Details.timeout, a whole number of
// milliseconds as any transport delivers it, without wrapping or
// truncating: a value that is not a positive whole number gives 0, and
// one beyond time.Duration's range the largest Duration.
func timeoutDetail(v any) time.Duration {
	const maxMS = math.MaxInt64 / int64(time.Millisecond)
	var ms int64
	switch k, i, u, f := number(v); k {
	case signedNumber:
		ms = i
	case unsignedNumber:
		ms = int64(min(u, math.MaxInt64))
	case floatNumber:
		switch {
		case f != math.Trunc(f) || f <= 0: // NaN too
			return 0
		case f >= twoTo63:
			ms = math.MaxInt64
		default:
			ms = int64(f)
		}
	}
	switch {
	case ms <= 0:
		return 0
	case ms > maxMS:
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}
