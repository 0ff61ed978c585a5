package wampfn

// Services: a callee's connection owned end to end: connect, register,
// serve, reconnect, shut down gracefully.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gammazero/nexus/v3/client"
)

// A Service owns a callee's connection to a router: it connects, registers
// every procedure, serves them, and when the router goes away reconnects
// and registers them again. nexus does none of this by itself.
//
//	s := wampfn.NewService(wampfn.Dial("ws://router:8080/ws", wampfn.DialConfig{Realm: "realm1"}))
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
// Register, Unregister, Describe and Run are safe to call concurrently.
type Service struct {
	dial func(ctx context.Context) (*client.Client, error)
	cfg  serviceConfig

	// mu guards the fields below and serializes the registrations and
	// unregistrations on the connection: each holds it for its nexus call,
	// which is bounded (see conn.bounded).
	mu       sync.Mutex
	procs    []*procedure    // in the order of Register
	conn     *conn           // the live connection; nil when there is none
	quit     <-chan struct{} // Run's ctx.Done()
	started  bool            // Run was called
	stopping bool            // Run's shutdown has begun

	calls callTracker

	discovery *procedure               // WithDiscovery's procedure; nil without it
	initErr   error                    // why NewService's options cannot serve; Run returns it
	doc       atomic.Pointer[document] // of procs but discovery; replaced when procs change
}

// NewService returns a Service that connects with dial. dial must return a
// client that has joined its realm ([Dial], client.ConnectNet or
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
	if uri := s.cfg.discovery; uri != "" {
		// The Service's procedure options apply, a shared registration's
		// "invoke" and interceptors among them.
		p, err := planProcedure(uri, s.Describe, slices.Clip(s.cfg.procOpts))
		if err != nil {
			s.initErr = fmt.Errorf("wampfn: WithDiscovery(%q): %w", uri, err)
		} else {
			s.discovery = p
			s.procs = append(s.procs, p)
		}
	}
	s.changed()
	return s
}

// Describe returns the OpenRPC document of the procedures that s serves,
// added by Register and RegisterMethods (see the package documentation
// for the document and its schemas), a JSON object as a map: write it
// with encoding/json, or serve it (see WithDiscovery). It is made once
// after each change of the procedures; the same map is returned until
// then, and must not be modified.
func (s *Service) Describe() map[string]any { return s.doc.Load().get() }

// changed replaces the document after a change of s.procs. s.mu is held,
// or s is new.
func (s *Service) changed() {
	procs := make([]*procedure, 0, len(s.procs))
	for _, p := range s.procs {
		if p != s.discovery {
			procs = append(procs, p)
		}
	}
	s.doc.Store(&document{info: s.cfg.info, procs: procs})
}

// Register analyses fn, as the package-level Register does, checks
// procedure against the WAMP URI rules, and adds it to the procedures
// that the Service registers on every connection, with the REGISTER
// options of opts. The function is analysed once, here, not on every
// reconnection.
//
// The URI check is the one nexus's router makes by default (loose URIs):
// Register refuses an empty URI, an empty component (as in "a..b"), white
// space and "#", and URIs starting with "wamp.", which routers reserve; an
// empty last component is allowed with the option "match": "prefix", and
// empty components with "match": "wildcard". Upper case and characters
// such as "-" are allowed: a router with strict URI checking refuses them,
// which the Service reports as a refused registration (see
// ErrRegistrationRefused).
//
// Before Run, Register only records the procedure. While Run is connected,
// Register also registers the procedure on the live connection and
// returns once the router has confirmed it; if the router refuses it,
// Register returns the router's error and the Service does not keep the
// procedure. If the router does not answer in time (within nexus's
// client.Config.ResponseTimeout, and at most 30 s), Run replaces the
// connection, and the procedure is registered on the next one, as it is
// when Run is between connections. Once Run's shutdown has begun (even
// while Register waits for the router), Register returns an error
// wrapping ErrServiceStopped and the Service does not keep the procedure.
//
// Register returns an error wrapping ErrSignature for a function that
// cannot be served, and an error when the Service already has procedure.
func (s *Service) Register(procedure string, fn any, opts ...Option) error {
	p, err := planProcedure(procedure, fn, append(slices.Clip(s.cfg.procOpts), opts...))
	if err != nil {
		return err
	}
	return s.add(p)
}

// RegisterMethods adds the exported methods of recv to the procedures of
// the Service, as the package-level RegisterMethods names and analyses
// them, with the Service's WithProcedureOptions first. It adds all of them
// or none, as Register adds one: while Run is connected it registers them
// on the live connection, and if the router refuses one, unregisters those
// it made and returns the router's error. They are registered again on
// every new connection, like any procedure.
func (s *Service) RegisterMethods(prefix string, recv any, opts ...Option) error {
	procs, err := methodProcedures(prefix, recv, append(slices.Clip(s.cfg.procOpts), opts...))
	if err != nil {
		return err
	}
	return s.add(procs...)
}

// add adds procs to the Service, registering them on the live connection
// if there is one: all of them or none.
func (s *Service) add(procs ...*procedure) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return fmt.Errorf("wampfn: %s: %w", procs[0].what(), ErrServiceStopped)
	}
	for _, p := range procs {
		if s.index(p.name) >= 0 {
			return fmt.Errorf("wampfn: %s: the service already has this procedure", p.what())
		}
	}
	if cn := s.conn; cn != nil {
		var done []string
		for _, p := range procs {
			err := s.registerOn(cn, p, s.quit)
			switch {
			case err == nil:
				done = append(done, p.name)
				continue
			case isClosed(s.quit):
				err = fmt.Errorf("wampfn: %s: %w", p.what(), ErrServiceStopped)
			case isConnTrouble(cn.c, err):
				// The next connection registers them all.
				cn.fail(fmt.Errorf("wampfn: %s: %w", p.what(), err))
				s.procs = append(s.procs, procs...)
				s.changed()
				return nil
			default:
				err = fmt.Errorf("wampfn: %s: %w", p.what(), err)
			}
			// Refused: take back what this call registered.
			for _, name := range done {
				delete(cn.registered, name)
				cn.bounded(nexusCallTimeout, s.quit, func() error { return cn.c.Unregister(name) })
			}
			return err
		}
	}
	s.procs = append(s.procs, procs...)
	s.changed()
	return nil
}

// Unregister removes procedure from the Service: it is not registered on
// later connections. While Run is connected, Unregister also unregisters
// it on the live connection and returns once the router has confirmed it;
// if the router answers with an error, Unregister returns an error
// wrapping the router's (the procedure is removed from the Service all
// the same). If the connection is lost meanwhile, or the router does not
// answer in time (as for Register; Run then replaces the connection), the
// registration ends with the session and Unregister returns nil. A procedure that the
// router refused and the Service is retrying is no longer retried. Calls
// in flight for the procedure are not cancelled: they finish as usual
// (and Run's shutdown still waits for them).
//
// Unregister returns an error for a procedure that the Service does not
// have, and an error wrapping ErrServiceStopped once Run's shutdown has
// begun (if it begins while Unregister waits for the router, the
// procedure is removed all the same, and goes with the session at the end
// of the shutdown).
func (s *Service) Unregister(procedure string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return fmt.Errorf("wampfn: unregister %s: %w", procedure, ErrServiceStopped)
	}
	i := s.index(procedure)
	if i < 0 {
		return fmt.Errorf("wampfn: unregister %s: the service has no such procedure", procedure)
	}
	s.procs = slices.Delete(s.procs, i, i+1)
	s.changed()
	cn := s.conn
	if cn == nil {
		return nil
	}
	if cancel, ok := cn.retrying[procedure]; ok {
		close(cancel)
		delete(cn.retrying, procedure)
		return nil
	}
	if !cn.registered[procedure] {
		return nil
	}
	delete(cn.registered, procedure)
	err := cn.bounded(nexusCallTimeout, s.quit, func() error { return cn.c.Unregister(procedure) })
	switch {
	case err == nil:
		return nil
	case isClosed(s.quit):
		return fmt.Errorf("wampfn: unregister %s: %w", procedure, ErrServiceStopped)
	case isConnTrouble(cn.c, err):
		cn.fail(fmt.Errorf("wampfn: unregister %s: %w", procedure, err))
		return nil
	}
	return fmt.Errorf("wampfn: unregister %s: %w", procedure, err)
}

// index returns the index of the procedure name in s.procs, or -1. s.mu
// is held.
func (s *Service) index(name string) int {
	return slices.IndexFunc(s.procs, func(p *procedure) bool { return p.name == name })
}

// Run connects, registers every procedure and serves calls until ctx is
// done. When the connection is lost, or cannot be made, or the router does
// not answer a registration, Run reports the error (see WithErrorHandler),
// waits (see WithBackoff), connects again and registers every procedure
// again. A registration that the router refuses does not end the
// connection: Run reports it, serves the other procedures, and retries it
// with backoff for as long as the connection lasts. Calls in flight when
// the connection is lost have their contexts cancelled (nexus cancels
// them when the session ends); their callers get an error:
// wamp.error.canceled from a router that is still up, or the loss of their
// own connection to one that is not. A call that the router sends in the
// instant between confirming a registration and nexus's client storing
// its handler fails with wamp.error.invalid_argument "client has no
// handler for registration", a limit of nexus v3.3.0's client (see
// WithOnConnect to learn when the procedures are registered).
//
// When ctx is done, Run shuts down gracefully: it stops accepting calls by
// unregistering every procedure, all at once (from then on a caller gets
// wamp.error.no_such_procedure, or another callee of a shared
// registration serves it), lets calls in flight finish until the shutdown
// timeout (see WithShutdownTimeout) has passed since ctx was done, then
// cancels the contexts of those still running, so that their callers get
// wamp.error.canceled. It waits for every function that it started to
// return, so a function that ignores its context delays Run's return;
// then it closes the client and returns nil.
//
// Once ctx is done, Run returns at the latest after: the shutdown timeout
// (at least 1 s while unregistering, so that WithShutdownTimeout(0) still
// unregisters from a live router), plus the time the functions take to
// return once cancelled, plus, only if the router is still connected but
// does not answer, up to 2 s (for nexus to send the last answers, and for
// the unanswered unregistrations) and nexus's own wait for the router's
// GOODBYE in Client.Close (2 × client.Config.ResponseTimeout, at least
// 1 s). Should closing the transport then hang (a router frozen in the
// middle of a WebSocket write: nexus sets no write deadline), Run gives
// up on it 5 s after the session ended, reports it and leaves that
// goroutine behind. It does not wait longer for the router, whatever the
// router does.
//
// Run may be called once; another call returns an error at once.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("wampfn: Service.Run called twice")
	}
	s.started = true
	s.quit = ctx.Done()
	s.mu.Unlock()
	if s.dial == nil {
		s.shutdown(nil)
		return errors.New("wampfn: Service.Run: NewService was given a nil dial function")
	}
	if s.initErr != nil {
		s.shutdown(nil)
		return s.initErr
	}

	delay := s.cfg.minBackoff
	for {
		cn, err := s.connect(ctx)
		if err == nil {
			delay = s.cfg.minBackoff
			s.flushReports(cn)
			if s.cfg.onConnect != nil {
				s.cfg.onConnect(ctx, cn.c)
			}
			if err = s.serve(ctx, cn); err == nil {
				s.shutdown(cn)
				return nil
			}
			s.drop(cn)
		}
		if ctx.Err() != nil {
			s.shutdown(nil)
			return nil
		}
		s.report(err)

		t := time.NewTimer(jitter(delay))
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

// nexusCallTimeout bounds a registration or an unregistration while Run
// serves: nexus's own wait for the answer (client.Config.ResponseTimeout,
// 5 s by default) starts only once its request is sent, and the sending
// itself may block for good.
const nexusCallTimeout = 30 * time.Second

// connect dials and registers every procedure. A procedure that the
// router refuses is reported and retried (see retry); the connection is
// given up when the router does not answer. On success the new
// connection is s.conn.
func (s *Service) connect(ctx context.Context) (*conn, error) {
	c, err := s.dial(ctx)
	if err != nil {
		if errors.As(err, new(dialFailed)) {
			return nil, err // "wampfn: connect URL: ..." already
		}
		return nil, fmt.Errorf("wampfn: connect: %w", err)
	}
	if c == nil {
		return nil, errors.New("wampfn: connect: dial returned a nil client")
	}
	cn := newConn(c)
	s.mu.Lock()
	if ctx.Err() != nil {
		s.mu.Unlock()
		cn.close()
		return nil, ctx.Err()
	}
	for _, p := range s.procs {
		err := s.registerOn(cn, p, ctx.Done())
		if err == nil {
			continue
		}
		if ctx.Err() != nil || isConnTrouble(c, err) {
			s.mu.Unlock()
			cn.close()
			return nil, fmt.Errorf("wampfn: %s: %w", p.what(), err)
		}
		cn.queue(&refusedError{procedure: p.name, err: err})
		cancel := make(chan struct{})
		cn.retrying[p.name] = cancel
		cn.retries.Add(1)
		go s.retry(ctx, cn, p, cancel)
	}
	s.conn = cn
	s.mu.Unlock()
	return cn, nil
}

// registerOn registers p on cn, its handler tracking calls for the
// graceful shutdown, and on success records it in cn.registered. The
// nexus call is bounded by nexusCallTimeout and by quit. s.mu is held.
func (s *Service) registerOn(cn *conn, p *procedure, quit <-chan struct{}) error {
	err := cn.bounded(nexusCallTimeout, quit, func() error {
		return cn.c.Register(p.name, p.handler(cn.c, &s.calls), p.registerOpts)
	})
	if err == nil {
		cn.registered[p.name] = true
	}
	return err
}

// retry registers p, which the router refused, on cn, with backoff,
// until the router accepts it, cn ends, ctx is done, or cancel is closed
// (by Unregister). Each refusal is queued for Run to report.
func (s *Service) retry(ctx context.Context, cn *conn, p *procedure, cancel <-chan struct{}) {
	defer cn.retries.Done()
	delay := s.cfg.minBackoff
	for {
		t := time.NewTimer(jitter(delay))
		select {
		case <-t.C:
		case <-ctx.Done():
		case <-cn.done:
		case <-cn.c.Done():
		case <-cancel:
		}
		t.Stop()
		delay = min(2*delay, s.cfg.maxBackoff)

		s.mu.Lock()
		if s.stopping || s.conn != cn || isClosed(cancel) || isClosed(cn.done) || ctx.Err() != nil || !cn.c.Connected() {
			s.mu.Unlock()
			return
		}
		err := s.registerOn(cn, p, ctx.Done())
		if err == nil {
			delete(cn.retrying, p.name)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		switch {
		case ctx.Err() != nil || isClosed(cn.done):
			return
		case isConnTrouble(cn.c, err):
			cn.fail(fmt.Errorf("wampfn: %s: %w", p.what(), err))
			return
		}
		cn.queue(&refusedError{procedure: p.name, err: err})
	}
}

// serve waits until ctx is done (it then returns nil) or cn ends (it
// returns why), and reports what cn's retries queue meanwhile.
func (s *Service) serve(ctx context.Context, cn *conn) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-cn.c.Done():
			if g := cn.c.RouterGoodbye(); g != nil {
				return fmt.Errorf("%w: router said goodbye: %s", ErrConnectionLost, g.Reason)
			}
			return ErrConnectionLost
		case <-cn.lost:
			return cn.lostErr
		case <-cn.reported:
			s.flushReports(cn)
		}
	}
}

// drop ends a connection that was lost or given up: its calls in flight
// are cancelled (nexus cancels them when the session ends).
func (s *Service) drop(cn *conn) {
	cn.stop()
	s.mu.Lock()
	if s.conn == cn {
		s.conn = nil
	}
	s.mu.Unlock()
	if err := cn.close(); err != nil {
		cn.queue(err)
	}
	s.flushReports(cn)
}

// shutdown stops accepting calls, lets the calls in flight finish up to
// the shutdown timeout, cancels the others, waits for every function to
// return and closes cn (nil when not connected). See Run for its bounds.
func (s *Service) shutdown(cn *conn) {
	t0 := time.Now()
	s.mu.Lock()
	s.stopping = true
	s.conn = nil
	var names []string // registered on cn, in the order of Register
	if cn != nil {
		for _, p := range s.procs {
			if cn.registered[p.name] {
				names = append(names, p.name)
			}
		}
	}
	s.mu.Unlock()

	if cn != nil && len(names) > 0 {
		s.unregisterAll(cn, names, t0.Add(max(s.cfg.shutdownTimeout, time.Second)))
	}
	if d := time.Until(t0.Add(s.cfg.shutdownTimeout)); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-s.calls.idle():
		case <-t.C:
		}
		t.Stop()
	}
	s.calls.cancelAll()
	<-s.calls.fnsReturned()
	if cn == nil {
		// The client is closed: nexus has cancelled every invocation.
		<-s.calls.idle()
		return
	}
	// Let nexus send the last answers; it cannot while the router does
	// not read, until the client is closed.
	t := time.NewTimer(time.Second)
	select {
	case <-s.calls.idle():
	case <-cn.c.Done():
	case <-t.C:
	}
	t.Stop()
	cn.stop()
	if err := cn.close(); err != nil {
		cn.queue(err)
	} else {
		// Closing the client ended the invocations that had not
		// answered, and those that raced with the unregistration started
		// cancelled.
		<-s.calls.idle()
	}
	s.flushReports(cn)
}

// unregisterAll unregisters names from cn concurrently, each until the
// router answers, the session ends, or deadline; it reports the failures
// while the session lasts.
func (s *Service) unregisterAll(cn *conn, names []string, deadline time.Time) {
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			err := cn.bounded(time.Until(deadline), nil, func() error { return cn.c.Unregister(name) })
			if err != nil && cn.c.Connected() {
				errs[i] = fmt.Errorf("wampfn: shutdown: unregister %s: %w", name, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			s.report(err)
		}
	}
}

func (s *Service) report(err error) {
	if s.cfg.onError != nil {
		s.cfg.onError(err)
		return
	}
	log.Printf("%v", err)
}

// flushReports reports the errors queued on cn.
func (s *Service) flushReports(cn *conn) {
	for _, err := range cn.takeReports() {
		s.report(err)
	}
}

// jitter draws a delay at random from [d/2, d].
func jitter(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) }
