package wampfn

// Serving, at Register (stage 1): the entry points. Register and Handler
// analyse a function into its plan (procedure.go) and give nexus the
// invocation handler that serves it (handler.go).

import (
	"errors"
	"fmt"

	"github.com/gammazero/nexus/v3/client"
)

// Register analyses fn and registers it on c as procedure. It returns once
// the router has confirmed the registration.
//
// fn must be a func whose signature wampfn can serve (see the package
// documentation); otherwise Register returns an error wrapping
// ErrSignature that names the procedure, the parameter and its type, and
// registers nothing. A procedure URI that no router accepts (empty, an
// empty component, white space or "#", the reserved prefix "wamp.") is
// refused before the router is asked ([Service.Register] has the rules). An
// error from the router is returned wrapped.
func Register(c *client.Client, procedure string, fn any, opts ...Option) error {
	p, err := planProcedure(procedure, fn, opts)
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("wampfn: register %s: nil client", procedure)
	}
	if err := c.Register(procedure, p.handler(c, nil), p.registerOpts); err != nil {
		return fmt.Errorf("wampfn: register %s: %w", procedure, err)
	}
	return nil
}

// planProcedure analyses fn for serving as the procedure name, then
// checks name against the URI rules for the match policy of its REGISTER
// options: what Register, Service.Register and Description.Register do
// before anything else.
func planProcedure(name string, fn any, opts []Option) (*procedure, error) {
	p, err := newProcedure(name, fn, opts)
	if err != nil {
		return nil, err
	}
	if err := checkProcedureURI(name, matchOption(p.registerOpts)); err != nil {
		return nil, err
	}
	return p, nil
}

// Handler analyses fn and returns it as a nexus invocation handler that
// sends progressive results through c, for use with c.Register when the
// caller wants to register by hand. Errors are those of Register.
func Handler(c *client.Client, fn any, opts ...Option) (client.InvocationHandler, error) {
	p, err := newProcedure("", fn, opts)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("wampfn: handler: nil client")
	}
	return p.handler(c, nil), nil
}
