package wampfn

// Services: one connection of a Service, the state of the procedures on
// it, and a bound on every nexus call the Service makes on it.

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// refusedError is the error reported for a registration the router
// refused as the Service connected or retried.
type refusedError struct {
	procedure string
	err       error // nexus's, with the router's ERROR
}

func (e *refusedError) Error() string {
	return "wampfn: register " + e.procedure + ": refused by the router, retrying: " + e.err.Error()
}

func (e *refusedError) Unwrap() []error { return []error{ErrRegistrationRefused, e.err} }

// conn is one connection of a Service: the client, the state of the
// procedures on it, and the nexus calls the Service makes on it.
type conn struct {
	c *client.Client

	// Guarded by Service.mu.
	registered map[string]bool          // procedures registered on c
	retrying   map[string]chan struct{} // refused procedures being retried; closing the chan cancels the retry

	retries    sync.WaitGroup // retry goroutines
	nexusCalls sync.WaitGroup // goroutines of bounded, running a nexus call on c

	done     chan struct{} // closed by stop: the Service is done with c
	stopOnce sync.Once

	lost     chan struct{} // closed by fail: Run replaces the connection
	lostErr  error         // why; written before lost is closed
	lostOnce sync.Once

	reportMu sync.Mutex
	reports  []error       // for Run to report
	reported chan struct{} // capacity 1: a report was queued
}

func newConn(c *client.Client) *conn {
	return &conn{
		c:          c,
		registered: map[string]bool{},
		retrying:   map[string]chan struct{}{},
		done:       make(chan struct{}),
		lost:       make(chan struct{}),
		reported:   make(chan struct{}, 1),
	}
}

// bounded runs f, a nexus call on cn.c, and returns its error; but it gives
// up and returns an error wrapping client.ErrNotConn when the session
// ends or cn is stopped, client.ErrReplyTimeout after d, or errStopped
// when stop (which may be nil) is closed. nexus v3.3.0 sends its requests
// on the session's channel without a guard (client.go:583, 646): once
// the router is gone, nothing reads it and the send blocks for good. So f
// runs on its own goroutine, which ends when the Service closes the
// client (see conn.close). The Service closes every client on which it
// gave up a call.
func (cn *conn) bounded(d time.Duration, stop <-chan struct{}, f func() error) error {
	res := make(chan error, 1)
	cn.nexusCalls.Add(1)
	go func() {
		defer cn.nexusCalls.Done()
		defer func() {
			// Closing the client closes the session's channel: a send
			// still blocked on it panics. conn.close takes what such a
			// send sends before it closes the client, so this is the
			// fallback.
			if r := recover(); r != nil {
				if !isSendOnClosed(r) {
					panic(r)
				}
				res <- fmt.Errorf("%w: %v", client.ErrNotConn, r)
			}
		}()
		res <- f()
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-res:
		return err
	case <-cn.c.Done():
	case <-cn.done:
	case <-t.C:
		return fmt.Errorf("%w: no answer from the router within %v", client.ErrReplyTimeout, d)
	case <-stop:
		return errStopped
	}
	select {
	case err := <-res: // f ended in the same instant
		return err
	default:
		return fmt.Errorf("%w: the connection ended", client.ErrNotConn)
	}
}

// isSendOnClosed reports whether r, a recovered panic, is the runtime's
// "send on closed channel": how a send of nexus v3.3.0's on a session's
// channel ends when Client.Close closes that channel under it.
func isSendOnClosed(r any) bool {
	e, ok := r.(runtime.Error)
	return ok && e.Error() == "send on closed channel"
}

// errStopped is returned by conn.bounded when its stop channel is closed;
// always wrapped, like ErrServiceStopped.
var errStopped = errors.New("service stopping")

// isConnTrouble tells a registration that failed because of the
// connection from one that the router refused (with an ERROR, for which
// nexus returns a plain error).
func isConnTrouble(c *client.Client, err error) bool {
	return !c.Connected() || errors.Is(err, client.ErrNotConn) || errors.Is(err, client.ErrReplyTimeout) ||
		errors.Is(err, errStopped)
}

// stop cancels cn's retries and its calls in flight.
func (cn *conn) stop() { cn.stopOnce.Do(func() { close(cn.done) }) }

// fail makes Run replace cn, reporting err, unless the session has
// already ended (Run then reports that).
func (cn *conn) fail(err error) {
	if !cn.c.Connected() {
		return
	}
	cn.lostOnce.Do(func() {
		cn.lostErr = err
		close(cn.lost)
	})
}

// queue queues err for Run to report.
func (cn *conn) queue(err error) {
	cn.reportMu.Lock()
	cn.reports = append(cn.reports, err)
	cn.reportMu.Unlock()
	select {
	case cn.reported <- struct{}{}:
	default:
	}
}

func (cn *conn) takeReports() []error {
	cn.reportMu.Lock()
	defer cn.reportMu.Unlock()
	errs := cn.reports
	cn.reports = nil
	return errs
}

// closeGrace is how long conn.close waits for the nexus calls it gave up
// on before it closes the client on a session that is still up; and
// closeAfterSession how long it waits, once the session is over, for
// nexus's Client.Close to finish.
const (
	closeGrace        = time.Second
	closeAfterSession = 5 * time.Second
)

// close stops cn, closes its client and waits for every nexus call that
// the Service made on it to return. It returns an error, leaving a
// goroutine behind, only when nexus's Client.Close has not finished
// closeAfterSession after the session ended (a WebSocket write blocked
// for good on a router frozen mid-connection: nexus sets no write
// deadline, and its Close waits for that write).
//
// A nexus call that the Service gave up on may be blocked for good
// sending on the session's channel, which nobody reads once the router is
// gone; so may nexus's receive loop (it answers an invocation for an
// unknown registration with an unguarded send), which Close waits for.
// Closing the session's channel ends such a send with a panic, which call
// recovers, but the race detector reports a send that a close ends as a
// data race. So once the session is over, and only then, close takes and
// drops what is sent on that channel: nothing sent there can reach the
// router any more.
func (cn *conn) close() error {
	cn.stop()
	cn.retries.Wait()
	returned := make(chan struct{}) // every call has returned
	go func() {
		cn.nexusCalls.Wait()
		close(returned)
	}()
	stopDrain, draining := drainWhenOver(cn.c)
	t := time.NewTimer(closeGrace)
	select {
	case <-returned:
	case <-cn.c.Done():
		// The calls return once their sends are taken.
		if draining {
			<-returned
		}
	case <-t.C:
		// The router is connected but does not answer them: Close ends
		// the session (nexus bounds its GOODBYE), and they return.
	}
	t.Stop()
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		cn.c.Close()
	}()
	select {
	case <-closed:
	case <-cn.c.Done():
		t := time.NewTimer(closeAfterSession)
		defer t.Stop()
		select {
		case <-closed:
		case <-t.C:
			go func() {
				<-closed
				stopDrain()
			}()
			return fmt.Errorf("wampfn: closing the connection: nexus's Client.Close has not returned %v after the session ended; leaving it behind", closeAfterSession)
		}
	}
	stopDrain()
	<-returned
	return nil
}

// drainWhenOver takes and drops, once c's session is over, what is sent
// on the session's channel, until stop is called or the client closes
// the channel. draining is false when c is not laid out as nexus v3.3.0's
// client is (see sessionSend): then nothing is taken.
func drainWhenOver(c *client.Client) (stop func(), draining bool) {
	send := sessionSend(c)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-c.Done():
		case <-quit:
			return
		}
		if send == nil {
			return
		}
		for {
			select {
			case _, ok := <-send:
				if !ok { // the client is closed
					return
				}
			case <-quit:
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
		})
	}, send != nil
}

// sessionSend returns the channel on which c's session sends to the
// router, for receiving, or nil if c is not laid out as nexus v3.3.0's
// client is. nexus gives no access to it: this reads the unexported field
// sess (a *wamp.Session, checked), and turns the send-only channel it
// returns into a bidirectional one, which has the same representation.
func sessionSend(c *client.Client) chan wamp.Message {
	f := reflect.ValueOf(c).Elem().FieldByName("sess")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*wamp.Session]() || f.IsNil() {
		return nil
	}
	sess := (*wamp.Session)(f.UnsafePointer())
	if sess.Peer == nil {
		return nil
	}
	send := sess.Send()
	return *(*chan wamp.Message)(unsafe.Pointer(&send))
}

func isClosed[T any](ch <-chan T) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
