package wampfn

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// A Service owns a callee's connection to a router: it connects, registers
// every procedure, serves them, and when the router goes away reconnects
// and registers them again. nexus does none of this by itself.
//
//	s := wampfn.NewService(func(ctx context.Context) (*client.Client, error) {
//		return client.ConnectNet(ctx, "ws://router:8080/ws", client.Config{Realm: "realm1"})
//	})
//	if err := s.Register("com.myapp.longop", longop); err != nil { ... }
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	err := s.Run(ctx) // serves until SIGTERM, then shuts down gracefully
//
// Several processes, on one machine or many, may serve the same procedure
// through one router by registering it with a shared registration:
// WithRegisterOptions(wamp.Dict{"invoke": "roundrobin"}) (or "random",
// "first", "last"); the router then spreads the calls over them.
//
// Register and Run are safe to call concurrently.
type Service struct {
	dial func(ctx context.Context) (*client.Client, error)
	cfg  serviceConfig

	mu       sync.Mutex
	procs    []*procedure   // in the order of Register
	c        *client.Client // the connection on which procs are registered; nil when there is none
	started  bool           // Run was called
	stopping bool           // Run's shutdown has begun

	calls callTracker
}

// A ServiceOption configures a Service.
type ServiceOption interface{ applyService(*serviceConfig) }

type serviceConfig struct {
	shutdownTimeout    time.Duration
	shutdownTimeoutSet bool
	minBackoff         time.Duration
	maxBackoff         time.Duration
	onError            func(error)
	onConnect          func(context.Context, *client.Client)
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

// WithBackoff sets the delays between connection attempts: the first
// retry waits about min, each failed attempt doubles the delay up to max,
// and each delay is drawn at random from [d/2, d] so that many callees
// that lost the same router do not come back in step. A connection that
// registers every procedure resets the delay to min. Without the option,
// min is DefaultMinBackoff and max DefaultMaxBackoff; a value of 0 or less
// selects its default, and a max below min is raised to min. Repeating
// the option replaces the earlier values.
func WithBackoff(min, max time.Duration) ServiceOption {
	return serviceOptionFunc(func(c *serviceConfig) { c.minBackoff, c.maxBackoff = min, max })
}

// WithErrorHandler sets the function to which Run reports each error that
// ends a connection or a connection attempt (the dial failed, the router
// rejected a registration, the session was lost: see ErrConnectionLost)
// and each failure to unregister at shutdown. Run goes on after each:
// it reconnects, or finishes its shutdown. f is called from Run's
// goroutine, one error at a time, and must not block for long. Without
// the option, the errors go to the standard logger (log.Printf).
// Repeating the option replaces the earlier function; nil restores the
// default.
func WithErrorHandler(f func(err error)) ServiceOption {
	return serviceOptionFunc(func(c *serviceConfig) { c.onError = f })
}

// WithOnConnect sets a function that Run calls, from its goroutine, each
// time it has connected and registered every procedure: once for the first
// connection and once after each reconnection. ctx is Run's; c is the new
// connection, on which f may subscribe or publish (to announce readiness,
// say), but which f must not close. Calls may already arrive while f runs;
// Run notices neither the loss of the connection nor the end of ctx until
// f returns. Repeating the option replaces the earlier function.
func WithOnConnect(f func(ctx context.Context, c *client.Client)) ServiceOption {
	return serviceOptionFunc(func(c *serviceConfig) { c.onConnect = f })
}

// NewService returns a Service that connects with dial. dial must return a
// client that has joined its realm (client.ConnectNet or
// client.ConnectLocal, for example); it is called for the first connection
// and after every loss. Its ctx is done when Run's ctx is: dial may use it
// to abort connecting, and must not tie the returned client's lifetime to
// it, since the Service closes the client itself after its graceful
// shutdown.
func NewService(dial func(ctx context.Context) (*client.Client, error), opts ...ServiceOption) *Service {
	s := &Service{dial: dial}
	for _, o := range opts {
		o.applyService(&s.cfg)
	}
	if !s.cfg.shutdownTimeoutSet {
		s.cfg.shutdownTimeout = DefaultShutdownTimeout
	}
	if s.cfg.minBackoff <= 0 {
		s.cfg.minBackoff = DefaultMinBackoff
	}
	if s.cfg.maxBackoff <= 0 {
		s.cfg.maxBackoff = DefaultMaxBackoff
	}
	s.cfg.maxBackoff = max(s.cfg.maxBackoff, s.cfg.minBackoff)
	return s
}

// Register analyses fn, as the package-level Register does, and adds it to
// the procedures that the Service registers on every connection, with the
// REGISTER options of opts. The function is analysed once, here, not on
// every reconnection.
//
// Before Run, Register only records the procedure. While Run is connected,
// Register also registers the procedure on the live connection and
// returns once the router has confirmed it; if the router rejects it,
// Register returns the router's error and the Service does not keep the
// procedure. While Run is between connections, the procedure is registered
// on the next one. Once Run's shutdown has begun, Register returns an
// error wrapping ErrServiceStopped.
//
// Register returns an error wrapping ErrSignature for a function that
// cannot be served, and an error when the Service already has procedure.
func (s *Service) Register(procedure string, fn any, opts ...Option) error {
	if procedure == "" {
		return errors.New("wampfn: register: empty procedure URI")
	}
	p, err := newProcedure(procedure, fn, opts)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return fmt.Errorf("wampfn: register %s: %w", procedure, ErrServiceStopped)
	}
	for _, q := range s.procs {
		if q.name == procedure {
			return fmt.Errorf("wampfn: register %s: the service already has this procedure", procedure)
		}
	}
	if c := s.c; c != nil {
		if err := c.Register(procedure, s.handler(p, c), p.registerOpts); err != nil && c.Connected() {
			return fmt.Errorf("wampfn: register %s: %w", procedure, err)
		}
		// Registered, or the connection was lost meanwhile: the next
		// connection registers it.
	}
	s.procs = append(s.procs, p)
	return nil
}

// Run connects, registers every procedure and serves calls until ctx is
// done. When the connection is lost, or cannot be made, or the router
// rejects a registration, Run reports the error (see WithErrorHandler),
// waits (see WithBackoff), connects again and registers every procedure
// again. Calls in flight when the connection is lost have their contexts
// cancelled (nexus cancels them when the session ends); their callers get
// an error: wamp.error.canceled from a router that is still up, or the
// loss of their own connection to one that is not. A call that the router
// sends in the instant between confirming a registration and nexus's
// client storing its handler fails with wamp.error.invalid_argument
// "client has no handler for registration", a limit of nexus v3.3.0's
// client (see WithOnConnect to learn when every procedure is registered).
//
// When ctx is done, Run shuts down gracefully: it stops accepting calls by
// unregistering every procedure (from then on a caller gets
// wamp.error.no_such_procedure, or another callee of a shared
// registration serves it), lets calls in flight finish for up to the
// shutdown timeout (see WithShutdownTimeout), then cancels the contexts of
// those still running, so that their callers get wamp.error.canceled. It
// waits for every function that it started to return, so a function that
// ignores its context delays Run's return; then it closes the client and
// returns nil.
//
// Run may be called once; another call returns an error at once.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("wampfn: Service.Run called twice")
	}
	s.started = true
	s.mu.Unlock()
	if s.dial == nil {
		s.stop()
		return errors.New("wampfn: Service.Run: NewService was given a nil dial function")
	}

	delay := s.cfg.minBackoff
	for {
		c, err := s.connect(ctx)
		if err == nil {
			delay = s.cfg.minBackoff
			if s.cfg.onConnect != nil {
				s.cfg.onConnect(ctx, c)
			}
			select {
			case <-ctx.Done():
				s.shutdown(c)
				return nil
			case <-c.Done():
			}
			s.mu.Lock()
			s.c = nil
			s.mu.Unlock()
			err = ErrConnectionLost
			if g := c.RouterGoodbye(); g != nil {
				err = fmt.Errorf("%w: router said goodbye: %s", ErrConnectionLost, g.Reason)
			}
			c.Close() // releases the session; its handlers are already cancelled
		}
		if ctx.Err() != nil {
			s.shutdown(nil)
			return nil
		}
		s.report(err)

		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			s.shutdown(nil)
			return nil
		case <-t.C:
		}
		delay = min(2*delay, s.cfg.maxBackoff)
	}
}

// connect dials and registers every procedure. On success the new client
// is s.c.
func (s *Service) connect(ctx context.Context) (*client.Client, error) {
	c, err := s.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("wampfn: connect: %w", err)
	}
	if c == nil {
		return nil, errors.New("wampfn: connect: dial returned a nil client")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ctx.Err() != nil {
		c.Close()
		return nil, ctx.Err()
	}
	for _, p := range s.procs {
		if err := c.Register(p.name, s.handler(p, c), p.registerOpts); err != nil {
			c.Close()
			return nil, fmt.Errorf("wampfn: register %s: %w", p.name, err)
		}
	}
	s.c = c
	return c, nil
}

// shutdown stops accepting calls, lets the calls in flight finish up to
// the shutdown timeout, cancels the others, waits for every function to
// return and closes c (nil when not connected).
func (s *Service) shutdown(c *client.Client) {
	procs := s.stop()
	if c != nil {
		for _, p := range procs {
			if err := c.Unregister(p.name); err != nil && c.Connected() {
				s.report(fmt.Errorf("wampfn: shutdown: unregister %s: %w", p.name, err))
			}
		}
	}
	if d := s.cfg.shutdownTimeout; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-s.calls.idle():
		case <-t.C:
		}
		t.Stop()
	}
	s.calls.cancelAll()
	<-s.calls.idle()
	if c != nil {
		c.Close()
		// An invocation that raced with the unregistration started
		// cancelled; wait for it too.
		<-s.calls.idle()
	}
}

// stop marks the Service as shutting down and returns its procedures.
func (s *Service) stop() []*procedure {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopping = true
	s.c = nil
	return s.procs
}

func (s *Service) report(err error) {
	if s.cfg.onError != nil {
		s.cfg.onError(err)
		return
	}
	log.Printf("%v", err)
}

// handler returns the invocation handler that serves p through c and
// tracks the call for the graceful shutdown. The function gets a child of
// nexus's context: it keeps the value SendProgress needs, and the Service
// can cancel it.
func (s *Service) handler(p *procedure, c *client.Client) client.InvocationHandler {
	return func(ctx context.Context, inv *wamp.Invocation) client.InvokeResult {
		call, callCtx := s.calls.start(ctx)
		defer s.calls.returned(ctx, call)
		return p.invoke(callCtx, c, inv)
	}
}

// callTracker keeps the calls in flight, from the start of the function
// until nexus has queued its answer, so that a graceful shutdown can wait
// for them and cancel them.
type callTracker struct {
	mu        sync.Mutex
	calls     map[*trackedCall]struct{}
	empty     chan struct{} // closed when calls becomes empty; nil while it is
	cancelled bool          // cancelAll was called: later calls start cancelled
}

type trackedCall struct{ cancel context.CancelFunc }

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (t *callTracker) start(parent context.Context) (*trackedCall, context.Context) {
	ctx, cancel := context.WithCancel(parent)
	call := &trackedCall{cancel: cancel}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cancelled {
		cancel()
	}
	if t.calls == nil {
		t.calls = map[*trackedCall]struct{}{}
	}
	if len(t.calls) == 0 {
		t.empty = make(chan struct{})
	}
	t.calls[call] = struct{}{}
	return call, ctx
}

// returned is called when the function has returned. nexus sends the
// answer and only then cancels parent, the invocation's context: the call
// ends there, so that closing the client after idle cannot overtake the
// answer.
func (t *callTracker) returned(parent context.Context, call *trackedCall) {
	call.cancel()
	context.AfterFunc(parent, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.calls, call)
		if len(t.calls) == 0 && t.empty != nil {
			close(t.empty)
			t.empty = nil
		}
	})
}

// idle returns a channel that is closed when no call is in flight.
func (t *callTracker) idle() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.calls) == 0 {
		return closedChan
	}
	return t.empty
}

// cancelAll cancels the contexts of the calls in flight and of every call
// that starts later.
func (t *callTracker) cancelAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cancelled = true
	for call := range t.calls {
		call.cancel()
	}
}
