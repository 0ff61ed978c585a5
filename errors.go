package wampfn

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// Error URIs that wampfn sends on its own account. The others it uses are
// nexus's: wamp.ErrInvalidArgument, wamp.ErrCanceled and wamp.ErrTimeout.
const (
	// ErrRuntimeError is the URI of the ERROR sent for a returned error that
	// is not an *Error, a context error or an *ArgumentError, and for a
	// recovered panic (Autobahn's convention).
	ErrRuntimeError = wamp.URI("wamp.error.runtime_error")
)

var (
	// ErrInvocationDone is returned by ProgressSink.Send after the function
	// has returned: the invocation is answered and nothing more may be sent
	// for it.
	ErrInvocationDone = errors.New("wampfn: invocation already answered")

	// ErrSignature is wrapped by the error Register and Handler return for a
	// function they cannot serve.
	ErrSignature = errors.New("wampfn: unsupported function signature")

	// ErrServiceStopped is wrapped by the error Service.Register and
	// Service.Unregister return once the Service's shutdown has begun.
	ErrServiceStopped = errors.New("wampfn: service stopped")

	// ErrConnectionLost is wrapped by the error a Service reports (see
	// WithErrorHandler) when its session to the router ended without the
	// Service closing it: the router went away, shut down or aborted the
	// session.
	ErrConnectionLost = errors.New("wampfn: connection to the router lost")

	// ErrRegistrationRefused is wrapped by the error a Service reports (see
	// WithErrorHandler) when the router answers a registration with an ERROR
	// (wamp.error.procedure_already_exists while another callee holds a
	// non-shared registration of the procedure, wamp.error.invalid_uri from a
	// router with strict URI checking, ...) as it connects or retries. The
	// Service keeps the connection, serves its other procedures, and retries
	// the refused one with backoff (see WithBackoff).
	ErrRegistrationRefused = errors.New("wampfn: registration refused by the router")

	// ErrInvalidURI is wrapped by the error Register and Service.Register
	// return for a procedure URI that no router accepts.
	ErrInvalidURI = errors.New("invalid procedure URI")
)

// Error is an application error with a WAMP error URI. A function that
// returns an error wrapping an *Error ends its call with an ERROR message
// carrying URI, Args and Kwargs. Application URIs must not start with
// "wamp.".
type Error struct {
	URI    wamp.URI
	Args   wamp.List
	Kwargs wamp.Dict
}

// Error returns the URI followed by Args[0] when it is a string.
func (e *Error) Error() string {
	if len(e.Args) > 0 {
		if s, ok := e.Args[0].(string); ok {
			return string(e.URI) + ": " + s
		}
	}
	return string(e.URI)
}

// ArgumentError reports an invocation whose arguments do not fit the
// function's parameters. The call ends with wamp.error.invalid_argument and
// the error's text as Args[0]:
//
//	argument 0 (n): cannot use string "three" as int
//	argument 2 (cfg) at items[3]: cannot use float64 1.5 as int
//	argument 1 (label): missing required string
//	too many arguments: got 3, want at most 2
type ArgumentError struct {
	// Index is the parameter's position among the WAMP arguments, or -1
	// when the error is about the arguments as a whole.
	Index int
	// Name is the parameter's name given with WithParamNames, or "".
	Name string
	// Path locates the offending value inside the argument, like
	// "items[3].price"; "" for the argument itself.
	Path string
	// Msg says what arrived and what was expected.
	Msg string
	// Err is the underlying error, if any (from UnmarshalText, base64...).
	Err error
}

func (e *ArgumentError) Error() string {
	if e.Index < 0 {
		return e.Msg
	}
	var b strings.Builder
	fmt.Fprintf(&b, "argument %d", e.Index)
	if e.Name != "" {
		b.WriteString(" (" + e.Name + ")")
	}
	if e.Path != "" {
		b.WriteString(" at " + e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

func (e *ArgumentError) Unwrap() error { return e.Err }

// errorResult maps an error returned by a function to the ERROR it ends
// the call with.
func errorResult(err error) client.InvokeResult {
	var werr *Error
	if errors.As(err, &werr) && werr.URI != "" {
		return client.InvokeResult{Err: werr.URI, Args: werr.Args, Kwargs: werr.Kwargs}
	}
	var aerr *ArgumentError
	switch {
	case errors.As(err, &aerr):
		return client.InvokeResult{Err: wamp.ErrInvalidArgument, Args: wamp.List{aerr.Error()}}
	case errors.Is(err, context.Canceled):
		return client.InvokeResult{Err: wamp.ErrCanceled, Args: wamp.List{err.Error()}}
	case errors.Is(err, context.DeadlineExceeded):
		return client.InvokeResult{Err: wamp.ErrTimeout, Args: wamp.List{err.Error()}}
	}
	return client.InvokeResult{Err: ErrRuntimeError, Args: wamp.List{err.Error()}}
}
