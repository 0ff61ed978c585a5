package wampfn

// Serving, at Register (stage 1), for a whole value: RegisterMethods, the
// exported methods of a value, each a procedure under one URI prefix.

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/gammazero/nexus/v3/client"
)

// MethodOptioner is implemented by a receiver of RegisterMethods that
// gives some of its methods options of their own: parameter names above
// all (reflection cannot see them), Exclude to leave a method out,
// WithName to register it under another name. MethodOptions returns the
// options by the method's Go name ("LongOp"); they come after the options
// given to RegisterMethods. MethodOptions itself is not registered.
type MethodOptioner interface {
	MethodOptions() map[string][]Option
}

// RegisterMethods registers every exported method of recv (recv's method
// set, by Go's rules: a pointer has the methods of its pointer and value
// receivers, a value those of its value receivers) as the procedure
// prefix + the method's name in snake case: LongOp is long_op, Longop
// longop, GetHTTPStatus get_http_status, Sum2 sum2. Each method follows the
// signature rules of Register; opts apply to every method, before the
// method's own (see MethodOptioner).
//
// It registers all of them or none: a method that cannot be served makes
// RegisterMethods return an error wrapping ErrSignature that names the
// method, before anything is registered (leave such a method out with
// Exclude); two methods with one URI are an error; when the router refuses
// one registration, the ones already made are unregistered and the
// router's error is returned.
func RegisterMethods(c *client.Client, prefix string, recv any, opts ...Option) error {
	procs, err := methodProcedures(prefix, recv, opts)
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("wampfn: register methods of %T: nil client", recv)
	}
	for i, p := range procs {
		if err := c.Register(p.name, p.handler(c, nil), p.registerOpts); err != nil {
			for _, q := range procs[:i] {
				c.Unregister(q.name)
			}
			return fmt.Errorf("wampfn: %s: %w", p.what(), err)
		}
	}
	return nil
}

// methodProcedures analyses recv's methods for RegisterMethods.
func methodProcedures(prefix string, recv any, opts []Option) ([]*procedure, error) {
	if recv == nil {
		return nil, errors.New("wampfn: register methods: recv is nil")
	}
	rv := reflect.ValueOf(recv)
	t := rv.Type()
	var own map[string][]Option
	optioner, hasOptions := recv.(MethodOptioner)
	if hasOptions {
		own = optioner.MethodOptions()
		for name := range own {
			if _, ok := t.MethodByName(name); !ok || name == "MethodOptions" {
				return nil, fmt.Errorf("wampfn: register methods of %s: MethodOptions names %q, which is not a method of %s that can be registered", t, name, t)
			}
		}
	}
	var procs []*procedure
	uris := map[string]string{} // URI -> method
	for i := range t.NumMethod() {
		m := t.Method(i)
		if hasOptions && m.Name == "MethodOptions" {
			continue
		}
		desc := fmt.Sprintf("method %s of %s", m.Name, t)
		all := append(append(slices.Clip(opts), own[m.Name]...), methodOption(desc))
		var cfg config
		for _, o := range all {
			o.apply(&cfg)
		}
		if cfg.exclude {
			continue
		}
		name := cfg.name
		if name == "" {
			name = snakeCase(m.Name)
		}
		uri := prefix + name
		if other, dup := uris[uri]; dup {
			return nil, fmt.Errorf("wampfn: register methods of %s: methods %s and %s both map to %s", t, other, m.Name, uri)
		}
		uris[uri] = m.Name
		p, err := newProcedure(uri, rv.Method(i).Interface(), all)
		if err != nil {
			return nil, err
		}
		if err := checkProcedureURI(uri, matchOption(p.registerOpts)); err != nil {
			return nil, fmt.Errorf("%w (%s)", err, desc)
		}
		procs = append(procs, p)
	}
	if len(procs) == 0 {
		return nil, fmt.Errorf("wampfn: register methods of %s: no exported method to register", t)
	}
	return procs, nil
}

// methodOption marks the options of a method of RegisterMethods, desc
// naming it in errors.
func methodOption(desc string) Option {
	return optionFunc(func(c *config) { c.method = desc })
}

// snakeCase turns a Go method name into the name of its procedure: a word
// starts at an upper-case letter after a lower-case letter or a digit, and
// at the last upper-case letter of a run followed by a lower-case one
// (GetHTTPStatus: get, http, status).
func snakeCase(name string) string {
	runes := []rune(name)
	var b strings.Builder
	for i, r := range runes {
		if unicode.IsUpper(r) {
			if i > 0 {
				prev := runes[i-1]
				nextLower := i+1 < len(runes) && unicode.IsLower(runes[i+1])
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || unicode.IsUpper(prev) && nextLower {
					b.WriteByte('_')
				}
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
