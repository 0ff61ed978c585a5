package wampfn

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// The invocation pipeline: from a nexus INVOCATION to its final YIELD or
// ERROR.

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

// Result sets a call's result arguments exactly. Returned by a function,
// it becomes the final YIELD's Args and Kwargs; sent on a
// ProgressSink[Result], one progressive YIELD's. Values in Args and Kwargs
// are converted as other results are.
type Result struct {
	Args   wamp.List
	Kwargs wamp.Dict
}

func (r Result) encode() (wamp.List, wamp.Dict, error) {
	args, err := encodeList(r.Args, 0)
	if err != nil {
		return nil, nil, err
	}
	kwargs, err := encodeDict(r.Kwargs, 0)
	if err != nil {
		return nil, nil, err
	}
	return args, kwargs, nil
}

// handler returns the nexus invocation handler that serves p through c.
func (p *procedure) handler(c *client.Client) client.InvocationHandler {
	return func(ctx context.Context, inv *wamp.Invocation) client.InvokeResult {
		growStack(0)
		return p.invoke(ctx, c, inv)
	}
}

// stackReserve is the stack growStack makes room for: invoke, with
// reflect.Value.Call, needs more than 4 KiB; 4 KiB more takes the stack
// from 2 KiB to 8 KiB in one step.
const stackReserve = 4 << 10

// growStack grows the goroutine's stack, once and while it is shallow,
// so that it has stackReserve bytes free. nexus runs every invocation on
// a new goroutine whose stack starts at 2 KiB; left to itself, the stack
// grows inside reflect.Value.Call, once or twice, where many more frames
// are to be copied and adjusted (in a CPU profile of a small in-process
// call, runtime.copystack took 13% of all CPU time that way, 4-6% here).
//
//go:noinline
func growStack(i int) byte {
	var buf [stackReserve]byte
	return buf[i]
}

// invoke serves one invocation: decode, call, encode.
func (p *procedure) invoke(ctx context.Context, c *client.Client, inv *wamp.Invocation) (res client.InvokeResult) {
	if prog, _ := inv.Details[wamp.OptProgress].(bool); prog {
		return client.InvokeResult{Err: wamp.ErrInvalidArgument, Args: wamp.List{
			"progressive call invocations are not supported by this procedure: send the arguments in one call",
		}}
	}
	// The recover covers decoding too: it runs the parameter types'
	// UnmarshalText methods on what the caller sent.
	var st *sinkState
	defer func() {
		if st != nil {
			st.finish()
		}
		if r := recover(); r != nil {
			name := p.name
			if name == "" {
				name = p.fn.Type().String()
			}
			c.Logger().Printf("wampfn: panic in %s: %v\n%s", name, r, debug.Stack())
			res = client.InvokeResult{Err: ErrRuntimeError, Args: wamp.List{
				fmt.Sprintf("%s failed: the callee recovered from a panic and logged it", name),
			}}
		}
	}()
	// The parameter values live on the stack for most functions.
	var inBuf [8]reflect.Value
	var in []reflect.Value
	if n := len(p.kinds); n <= len(inBuf) {
		in = inBuf[:n]
	} else {
		in = make([]reflect.Value, n)
	}
	if err := p.bindArgs(inv.Arguments, inv.ArgumentsKw, in); err != nil {
		return client.InvokeResult{Err: wamp.ErrInvalidArgument, Args: wamp.List{err.Error()}}
	}
	if p.sink != nil {
		wanted, _ := inv.Details[wamp.OptReceiveProgress].(bool)
		st = &sinkState{c: c, ctx: ctx, wanted: wanted, encode: p.sinkEncode}
	}
	for i, k := range p.kinds {
		switch k {
		case paramContext:
			// A Value of interface type needs the interface in memory:
			// the sink's copy when there is one, else a new one.
			var ctxp *context.Context
			if st != nil {
				ctxp = &st.ctx
			} else {
				ctxp = new(context.Context)
				*ctxp = ctx
			}
			in[i] = reflect.ValueOf(ctxp).Elem()
		case paramDetails:
			in[i] = reflect.ValueOf(p.details(inv))
		case paramSink:
			in[i] = p.sink.newValue(st)
		}
	}
	var out []reflect.Value
	if p.variadic {
		out = p.fn.CallSlice(in)
	} else {
		out = p.fn.Call(in)
	}
	// Once the call is cancelled, nexus answers it with
	// wamp.error.canceled, but when the function returns at the same time
	// it may send the function's answer instead: answer as nexus does, so
	// that what the function returns after cancellation never reaches the
	// caller.
	if ctx.Err() != nil {
		return client.InvokeResult{Err: wamp.ErrCanceled}
	}
	return p.result(out)
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

// result turns the function's return values into the final YIELD or an
// ERROR.
func (p *procedure) result(out []reflect.Value) client.InvokeResult {
	if p.hasErr {
		if ev := out[len(out)-1]; !ev.IsNil() {
			res := errorResult(ev.Interface().(error))
			var err error
			if res.Args, res.Kwargs, err = (Result{res.Args, res.Kwargs}).encode(); err != nil {
				return client.InvokeResult{Err: ErrRuntimeError, Args: wamp.List{describeEncodeError("error arguments", err)}}
			}
			return res
		}
	}
	if p.resultIsArgs {
		args, kwargs, err := out[0].Interface().(Result).encode()
		if err != nil {
			return client.InvokeResult{Err: ErrRuntimeError, Args: wamp.List{describeEncodeError("result", err)}}
		}
		return client.InvokeResult{Args: args, Kwargs: kwargs}
	}
	if len(p.results) == 0 {
		return client.InvokeResult{}
	}
	args := make(wamp.List, len(p.results))
	for i, enc := range p.results {
		var err error
		if args[i], err = enc.fn(out[i], 0); err != nil {
			return client.InvokeResult{Err: ErrRuntimeError, Args: wamp.List{describeEncodeError("result "+strconv.Itoa(i), err)}}
		}
	}
	return client.InvokeResult{Args: args}
}
