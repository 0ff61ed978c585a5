package wampfn

import (
	"errors"
	"fmt"
	"maps"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
)

// An Option configures Register and Handler.
type Option interface{ apply(*config) }

type config struct {
	paramNames   []string
	registerOpts wamp.Dict
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

// Register analyses fn and registers it on c as procedure. It returns once
// the router has confirmed the registration.
//
// fn must be a func whose signature wampfn can serve (see the package
// documentation); otherwise Register returns an error wrapping
// ErrSignature that names the procedure, the parameter and its type, and
// registers nothing. A procedure URI that no router accepts (empty, an
// empty component, white space or "#", the reserved prefix "wamp.") is
// refused before the router is asked; see the README for the rules. An
// error from the router is returned wrapped.
func Register(c *client.Client, procedure string, fn any, opts ...Option) error {
	p, err := newProcedure(procedure, fn, opts)
	if err != nil {
		return err
	}
	if err := checkProcedureURI(procedure, matchOption(p.registerOpts)); err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("wampfn: register %s: nil client", procedure)
	}
	if err := c.Register(procedure, p.handler(c), p.registerOpts); err != nil {
		return fmt.Errorf("wampfn: register %s: %w", procedure, err)
	}
	return nil
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
	return p.handler(c), nil
}
