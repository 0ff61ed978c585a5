package wampfn

// Options, for every stage: of Register and Handler (Option), of a Service
// (ServiceOption), and of a bound func (CallOption).

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// An Option configures Register and Handler.
type Option interface{ apply(*config) }

type config struct {
	method         string // "method LongOp of *main.Svc", for RegisterMethods; "" for Register
	exclude        bool   // Exclude
	name           string // WithName
	paramNames     []string
	registerOpts   wamp.Dict
	interceptors   []Interceptor
	concurrency    int
	concurrencySet bool
	inputBuffer    int
	inputBufferSet bool
	iterLimit      int
	iterLimitSet   bool
	inputIdle      time.Duration
	inputIdleSet   bool
	doc            procDoc // the descriptions, for the OpenRPC document
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithParamNames names the function's WAMP argument parameters, in order
// (context.Context, Details and ProgressSink parameters are not counted).
// A caller may then pass any of them by name in the call's keyword
// arguments, as Autobahn|Python callers do, and error messages name them.
// Register fails unless there is exactly one name per argument parameter.
// Repeating the option replaces the earlier names.
func WithParamNames(names ...string) Option {
	names = append([]string(nil), names...)
	return optionFunc(func(c *config) { c.paramNames = names })
}

// WithRegisterOptions sets the options of the REGISTER message, for
// example wamp.Dict{"invoke": "roundrobin"} for a shared registration,
// "match": "prefix", "disclose_caller": true or "forward_timeout": true.
// Repeating the option merges the dictionaries; later keys win. Handler
// ignores it.
func WithRegisterOptions(opts wamp.Dict) Option {
	opts = maps.Clone(opts)
	return optionFunc(func(c *config) {
		if c.registerOpts == nil {
			c.registerOpts = wamp.Dict{}
		}
		maps.Copy(c.registerOpts, opts)
	})
}

// WithInterceptors adds interceptors around every call of the procedure;
// the first is the outermost. Repeating the option appends to the
// interceptors given before (so a Service's WithProcedureOptions come
// first, outermost). Without interceptors the call path builds no
// Invocation; each interceptor adds one function call and a deferred
// recover, and all of them together one allocation per call.
func WithInterceptors(interceptors ...Interceptor) Option {
	interceptors = slices.Clone(interceptors)
	return optionFunc(func(c *config) { c.interceptors = append(c.interceptors, interceptors...) })
}

// WithConcurrency lets at most n calls of the procedure run at once, for
// all its registrations together (every connection of a Service); the
// others wait their turn in the order they arrived. The wait is the
// innermost stage of the call, after every interceptor (a RequireRoles
// refuses a call before it waits, and Logging's duration includes the
// wait) and before the arguments are decoded. A waiting call whose context
// ends (the caller cancels, a forwarded timeout passes, a Service shuts
// down) leaves the queue at once, and its caller gets wamp.error.canceled.
// A waiting call costs about 150 bytes besides the goroutine nexus runs
// it on. Register fails for n < 1. Repeating the option replaces n.
//
// The router may enforce a limit of its own (Crossbar.io's "concurrency"
// registration option); the nexus router has none.
func WithConcurrency(n int) Option {
	return optionFunc(func(c *config) { c.concurrency, c.concurrencySet = n, true })
}

// Exclude leaves a method out of RegisterMethods: give it in the
// receiver's MethodOptions for that method. Register and Handler refuse
// it.
func Exclude() Option {
	return optionFunc(func(c *config) { c.exclude = true })
}

// WithName sets the name under which RegisterMethods registers a method:
// the procedure is prefix+name instead of prefix+the method's name in
// snake case. Give it in the receiver's MethodOptions for that method.
// Register and Handler refuse it. Repeating the option replaces the
// name.
func WithName(name string) Option {
	return optionFunc(func(c *config) { c.name = name })
}

// WithInputBuffer sets how many values of the procedure's input stream
// (see InputStream) may wait unread: DefaultInputBuffer without the
// option. A chunk that finds the buffer full ends the call: the caller
// gets an ERROR with InputOverflowURI and Recv returns ErrInputOverflow.
// WAMP has no flow control for call invocations, so a caller that sends
// faster than the function reads meets this bound. Register fails for
// n < 1. Repeating the option replaces n.
func WithInputBuffer(n int) Option {
	return optionFunc(func(c *config) { c.inputBuffer, c.inputBufferSet = n, true })
}

// WithInputIdleTimeout sets how long the procedure's input stream waits
// for the caller's next chunk: DefaultInputIdleTimeout without the option,
// 0 for ever. Past it, Recv returns ErrInputIdle. The nexus v3.3.0 router
// does not tell the callee when a streaming caller leaves, cancels with
// mode skip, or when the router itself drops the call (its queue to the
// callee full): without this bound the function would wait for ever.
// Register fails for d < 0. Repeating the option replaces d.
func WithInputIdleTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.inputIdle, c.inputIdleSet = d, true })
}

// WithIteratorLimit sets how many elements of an iterator result wampfn
// collects for a caller that did not ask for progressive results (see
// the package documentation): DefaultIteratorLimit without the option. An
// iterator with more ends the call with wamp.error.runtime_error naming
// the bound. Register fails for n < 1. Repeating the option replaces n.
func WithIteratorLimit(n int) Option {
	return optionFunc(func(c *config) { c.iterLimit, c.iterLimitSet = n, true })
}

// A ServiceOption configures a Service.
type ServiceOption interface{ applyService(*serviceConfig) }

type serviceConfig struct {
	shutdownTimeout    time.Duration
	shutdownTimeoutSet bool
	minBackoff         time.Duration
	maxBackoff         time.Duration
	onError            func(error)
	procOpts           []Option
	onConnect          func(context.Context, *client.Client)
	discovery          string // WithDiscovery's URI
	info               Info
}

type serviceOptionFunc func(*serviceConfig)

func (f serviceOptionFunc) applyService(c *serviceConfig) { f(c) }

// Defaults of a Service's options.
const (
	DefaultShutdownTimeout = 10 * time.Second
	DefaultMinBackoff      = 500 * time.Millisecond
	DefaultMaxBackoff      = 30 * time.Second
)

// WithShutdownTimeout sets how long Run's graceful shutdown lets calls in
// flight finish before it cancels their contexts: DefaultShutdownTimeout
// without the option; 0 or less cancels them at once. Repeating the option
// replaces the earlier value.
func WithShutdownTimeout(d time.Duration) ServiceOption {
	return serviceOptionFunc(func(c *serviceConfig) {
		c.shutdownTimeout, c.shutdownTimeoutSet = max(d, 0), true
	})
}

// WithBackoff sets the delays between connection attempts, and between
// the attempts to register a procedure that the router refused: the first
// retry waits about min, each failed attempt doubles the delay up to max,
// and each delay is drawn at random from [d/2, d] so that many callees
// that lost the same router do not come back in step. Each connection
// made resets the connection delay to min; each refused procedure starts
// again from min on each connection. Without the option, min is
// DefaultMinBackoff and max DefaultMaxBackoff; a value of 0 or less
// selects its default, and a max below min is raised to min. Repeating
// the option replaces the earlier values.
func WithBackoff(min, max time.Duration) ServiceOption {
	return serviceOptionFunc(func(c *serviceConfig) { c.minBackoff, c.maxBackoff = min, max })
}

// WithErrorHandler sets the function to which Run reports each error that
// ends a connection or a connection attempt (the dial failed, the session
// was lost: see ErrConnectionLost; the router did not answer a
// registration or an unregistration in time), each registration that the
// router refuses as Run connects and each failed retry of it (see
// ErrRegistrationRefused), and each failure to unregister at shutdown. Run goes on after each: it
// reconnects, retries, or finishes its shutdown. f is called from Run's
// goroutine, one error at a time, and must not block for long. Without
// the option, the errors go to the standard logger (log.Printf).
// Repeating the option replaces the earlier function; nil restores the
// default.
func WithErrorHandler(f func(err error)) ServiceOption {
	return serviceOptionFunc(func(c *serviceConfig) { c.onError = f })
}

// WithOnConnect sets a function that Run calls, from its goroutine, each
// time it has connected and attempted to register every procedure: once
// for the first connection and once after each reconnection. The
// procedures that the router refused (already reported, see
// WithErrorHandler) are not registered yet when f is called: they are
// being retried. ctx is Run's; c is the new connection, on which f may
// subscribe or publish (to announce readiness, say), but which f must not
// close. Calls may already arrive while f runs; Run notices neither the
// loss of the connection nor the end of ctx until f returns. Repeating
// the option replaces the earlier function.
func WithOnConnect(f func(ctx context.Context, c *client.Client)) ServiceOption {
	return serviceOptionFunc(func(c *serviceConfig) { c.onConnect = f })
}

// WithProcedureOptions applies opts to every procedure the Service
// registers, before the procedure's own options (so a procedure's own
// WithInterceptors come inside these, and its own WithParamNames or
// WithRegisterOptions keys win). Repeating the option appends.
func WithProcedureOptions(opts ...Option) ServiceOption {
	opts = slices.Clone(opts)
	return serviceOptionFunc(func(c *serviceConfig) { c.procOpts = append(c.procOpts, opts...) })
}

// A CallOption configures Bind and BindAll.
type CallOption interface{ applyCall(*callConfig) }

type callConfig struct {
	timeout    time.Duration
	discloseMe bool
	options    wamp.Dict
}

type callOptionFunc func(*callConfig)

func (f callOptionFunc) applyCall(c *callConfig) { f(c) }

// WithCallTimeout sets CALL.Options.timeout: the router (or, with
// forward_timeout, the callee) ends a call that takes longer, and the
// bound func returns an error wrapping context.DeadlineExceeded. The
// deadline of the call's context sets the timeout too; the sooner wins.
// Repeating the option replaces d; 0 or less means none.
func WithCallTimeout(d time.Duration) CallOption {
	return callOptionFunc(func(c *callConfig) { c.timeout = d })
}

// WithDiscloseMe sets CALL.Options.disclose_me, asking the router to
// disclose the caller's session ID and authentication to the callee (a
// nexus router refuses the call unless the realm allows it).
func WithDiscloseMe() CallOption {
	return callOptionFunc(func(c *callConfig) { c.discloseMe = true })
}

// WithCallOptions adds other options to every CALL message; timeout and
// disclose_me are better set with WithCallTimeout and WithDiscloseMe.
// Repeating the option merges the dictionaries; later keys win.
func WithCallOptions(opts wamp.Dict) CallOption {
	opts = maps.Clone(opts)
	return callOptionFunc(func(c *callConfig) {
		if c.options == nil {
			c.options = wamp.Dict{}
		}
		maps.Copy(c.options, opts)
	})
}
