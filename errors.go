package wampfn

// Serving a call (stage 7): errors, and the one mapping of a Go error to
// the ERROR that the caller gets.

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
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

// The package's sentinel errors. Every message an error of this package
// carries starts with "wampfn:" once: a sentinel that a function returns
// as it is starts with it, and so does one that leads a message that wraps
// it (ErrSignature); one that is only ever wrapped after the message's
// start ("wampfn: register com.x: service stopped") has none of its own.
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
	ErrServiceStopped = errors.New("service stopped")

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

	// ErrPanic is wrapped by the error that interceptors see for a panic in
	// the function (or in the decoding of its arguments) or in an
	// interceptor further in: the panic's value and stack go to the
	// client's logger and into the error's message, never on the wire,
	// where the caller gets wamp.error.runtime_error.
	ErrPanic = errors.New("wampfn: recovered from a panic")

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

	cause error // the error this one replaces (HideInternalErrors)
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

// Unwrap returns the error that e replaces on the wire, if any: the
// original error behind HideInternalErrors' runtime error.
func (e *Error) Unwrap() error { return e.cause }

// ErrorURI returns the error URI that a caller sees for err, an error
// returned by a function or an interceptor; "" for nil. It is the one
// mapping from Go errors to WAMP error URIs: the wire, Logging and
// otelwampfn all use it, so a log line, a span and the caller agree.
//
//	an error wrapping *Error with a URI   that URI
//	an error wrapping *ArgumentError      wamp.error.invalid_argument
//	an error wrapping ErrPanic            wamp.error.runtime_error
//	the call's context ended              wamp.error.canceled
//	an error wrapping context.Canceled    wamp.error.canceled
//	... context.DeadlineExceeded          wamp.error.timeout
//	any other error                       wamp.error.runtime_error
//
// The call's context ending is the outcome interceptors see once the
// call is cancelled (INTERRUPT, a forwarded timeout, a Service's
// shutdown): it wraps the context's error, and the caller gets
// wamp.error.canceled from nexus whatever the function returns.
func ErrorURI(err error) wamp.URI { return errorOutcomeOf(err).uri }

// An errorOutcome is how an error goes on the wire: its URI, and what decided
// it, which also says what the ERROR carries.
type errorOutcome struct {
	uri      wamp.URI
	werr     *Error         // the *Error with a URI that the error wraps: its Args and Kwargs
	aerr     *ArgumentError // else the *ArgumentError it wraps: its text
	panicked bool           // else it wraps ErrPanic: a fixed text
}

// errorOutcomeOf is the one mapping from Go errors to the wire, as ErrorURI
// documents it.
func errorOutcomeOf(err error) errorOutcome {
	if err == nil {
		return errorOutcome{}
	}
	var werr *Error
	if errors.As(err, &werr) && werr.URI != "" {
		return errorOutcome{uri: werr.URI, werr: werr}
	}
	var aerr *ArgumentError
	var cerr callCanceledError
	switch {
	case errors.As(err, &aerr):
		return errorOutcome{uri: wamp.ErrInvalidArgument, aerr: aerr}
	case errors.Is(err, ErrPanic):
		return errorOutcome{uri: ErrRuntimeError, panicked: true}
	case errors.As(err, &cerr), errors.Is(err, context.Canceled):
		return errorOutcome{uri: wamp.ErrCanceled}
	case errors.Is(err, context.DeadlineExceeded):
		return errorOutcome{uri: wamp.ErrTimeout}
	}
	return errorOutcome{uri: ErrRuntimeError}
}

// errorResult maps err to the ERROR that ends the call: ErrorURI's URI,
// with *Error's Args and Kwargs, *ArgumentError's message, a fixed
// message for a panic (its value and stack go to the log only), or
// err.Error(). name is the procedure's, for the panic's message.
func errorResult(err error, name string) client.InvokeResult {
	o := errorOutcomeOf(err)
	res := client.InvokeResult{Err: o.uri}
	switch {
	case o.werr != nil:
		var eerr error
		if res.Args, res.Kwargs, eerr = (Result{Args: o.werr.Args, Kwargs: o.werr.Kwargs}).encode(); eerr != nil {
			return client.InvokeResult{Err: ErrRuntimeError, Args: wamp.List{describeEncodeError("error arguments", eerr)}}
		}
	case o.aerr != nil:
		res.Args = wamp.List{o.aerr.Error()}
	case o.panicked:
		res.Args = wamp.List{name + " failed: the callee recovered from a panic and logged it"}
	default:
		res.Args = wamp.List{err.Error()}
	}
	return res
}

// panicError is the error a recovered panic becomes: it wraps ErrPanic,
// and its message and Stack have what the log needs and the wire must not
// carry.
type panicError struct {
	where string // "longop", or "interceptor 1 of longop"
	value any
	stack []byte
}

func (e *panicError) Error() string {
	return fmt.Sprintf("wampfn: panic in %s: %v", e.where, e.value)
}

func (e *panicError) Unwrap() error { return ErrPanic }

// recovered logs r, recovered in where, with its stack to c's logger and
// returns it as a *panicError.
func recovered(c *client.Client, where string, r any) error {
	e := &panicError{where: where, value: r, stack: debug.Stack()}
	if c != nil {
		c.Logger().Printf("wampfn: panic in %s: %v\n%s", where, r, e.stack)
	}
	return e
}

// callCanceledError is the outcome of a call whose context ended before
// the function returned, or while it waited for a concurrency slot: the
// context's error, which the caller sees as wamp.error.canceled (nexus
// answers so).
type callCanceledError struct{ err error }

func (e callCanceledError) Error() string { return "wampfn: call cancelled: " + e.err.Error() }
func (e callCanceledError) Unwrap() error { return e.err }
