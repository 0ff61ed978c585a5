package wampfn

// Serving a call (stage 3): HideInternalErrors, a built-in interceptor.

import (
	"context"

	"github.com/gammazero/nexus/v3/wamp"
)

// HideInternalErrors returns an interceptor that keeps internal error text
// off the wire: an error that is not an *Error with a URI, an
// *ArgumentError or a cancellation (the caller is meant to read those)
// goes out as wamp.error.runtime_error with the fixed message
// "<procedure> failed: internal error". The original stays reachable
// through errors.Unwrap, errors.Is and errors.As, for interceptors
// outside it, and Logging writes it as the record's cause wherever
// Logging is in the chain:
//
//	wampfn.WithInterceptors(wampfn.Logging(logger), wampfn.HideInternalErrors())
func HideInternalErrors() Interceptor {
	return func(next InvokeFunc) InvokeFunc {
		return func(ctx context.Context, inv *Invocation) (Result, error) {
			res, err := next(ctx, inv)
			if err == nil {
				return res, nil
			}
			// An *Error with a URI (even wamp.error.runtime_error, the
			// function's own) goes out as it is, and so does every error
			// that ErrorURI maps to another URI than runtime_error.
			if o := errorOutcomeOf(err); o.werr != nil || o.uri != ErrRuntimeError {
				return res, err
			}
			return Result{}, &Error{URI: ErrRuntimeError, Args: wamp.List{inv.Procedure + " failed: internal error"}, cause: err}
		}
	}
}
