package wampfn

import (
	"context"
	"fmt"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// Interceptors: code that runs around every call of a procedure, for
// logging, metrics, traces, authorization, or control over the errors
// that leave the process. A chain is built once per registration; the
// innermost stage is the call itself (see procedure.call).

// Invocation is one call as interceptors see it, before its arguments are
// decoded.
type Invocation struct {
	Procedure string    // the URI called (the full URI for a prefix or wildcard registration)
	Details   Details   // who called, and how
	Args      wamp.List // as the caller sent them
	Kwargs    wamp.Dict
	Progress  bool // the caller asked for progressive results
}

// InvokeFunc serves one call. The innermost InvokeFunc takes a
// concurrency slot (see WithConcurrency), decodes inv's Args and Kwargs
// into the function's parameters, calls the function and returns its
// results as a Result of plain WAMP values, or an error: the function's
// own; an *ArgumentError when the arguments do not fit; an error wrapping
// ErrPanic when the function or the decoding panicked; or, when the
// call's context ended first, an error wrapping the context's error.
// Progressive results go out through the function's ProgressSink while it
// runs.
type InvokeFunc func(ctx context.Context, inv *Invocation) (Result, error)

// An Interceptor wraps the InvokeFunc of the procedures it is given to
// (see WithInterceptors): it returns a function that does its work around
// a call of next, or instead of it. It may call next with a changed ctx or
// Invocation, return without calling next (the function then never runs),
// or replace next's Result or error. What the outermost interceptor
// returns goes on the wire: a Result's values are converted as a
// function's results are, an error is mapped by ErrorURI. A panic in an
// interceptor is recovered like one in the function: the interceptors
// outside it see an error wrapping ErrPanic, and the caller gets
// wamp.error.runtime_error.
//
// An Interceptor is called once for each registration (each connection of
// a Service), and the function it returns once per call, concurrently with
// other calls.
type Interceptor func(next InvokeFunc) InvokeFunc

// pipeline returns the interceptor chain of p around its innermost stage
// on c, or nil when p has no interceptors (invoke then calls the innermost
// stage directly, building no Invocation).
func (p *procedure) pipeline(c *client.Client) InvokeFunc {
	if len(p.interceptors) == 0 {
		return nil
	}
	run, _ := p.chain(c)
	return run
}

// chain builds the chain on c, the first interceptor outermost; every
// interceptor's function recovers its own panics. It returns an error for
// an interceptor that panics when given its next or returns a nil one
// (newProcedure calls it once to check that).
func (p *procedure) chain(c *client.Client) (run InvokeFunc, err error) {
	name := p.displayName()
	run = func(ctx context.Context, inv *Invocation) (Result, error) {
		args, kwargs, err := p.call(ctx, c, callInput{inv.Args, inv.Kwargs, nil, &inv.Details, inv.Progress, nil})
		return Result{Args: args, Kwargs: kwargs}, err
	}
	for i := len(p.interceptors) - 1; i >= 0; i-- {
		where := fmt.Sprintf("interceptor %d of %s", i, name)
		next, err := wrap(p.interceptors[i], run)
		if err != nil {
			return nil, fmt.Errorf("interceptor %d: %w", i, err)
		}
		if next == nil {
			return nil, fmt.Errorf("interceptor %d returned a nil InvokeFunc", i)
		}
		run = recovering(c, where, next)
	}
	return run, nil
}

// wrap calls ic with next, returning a panic as an error.
func wrap(ic Interceptor, next InvokeFunc) (f InvokeFunc, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panicked when given its next InvokeFunc: %v", r)
		}
	}()
	return ic(next), nil
}

// recovering returns f with its panics recovered, logged, and returned as
// an error wrapping ErrPanic.
func recovering(c *client.Client, where string, f InvokeFunc) InvokeFunc {
	return func(ctx context.Context, inv *Invocation) (res Result, err error) {
		defer func() {
			if r := recover(); r != nil {
				res, err = Result{}, recovered(c, where, r)
			}
		}()
		return f(ctx, inv)
	}
}
