package wampfn

// Serving a call (stage 4): binding an invocation's positional and keyword
// arguments to the function's parameters by reflection, as the plan says.

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gammazero/nexus/v3/wamp"
)

// bindArgs decodes the invocation's arguments into in, the function's
// parameter values, at the argument parameters' places.
func (p *procedure) bindArgs(args wamp.List, kwargs wamp.Dict, in []reflect.Value) error {
	if len(kwargs) > 0 {
		if err := p.checkKwargs(args, kwargs); err != nil {
			return err
		}
	}
	nargs := len(p.args)
	if len(args) > nargs && (nargs == 0 || !p.args[nargs-1].variadic) {
		return &ArgumentError{Index: -1, Msg: fmt.Sprintf("too many arguments: got %d, want at most %d", len(args), nargs)}
	}
	var values reflect.Value
	if p.argsType != nil {
		values = reflect.New(p.argsType).Elem()
	}
	for j := range p.args {
		a := &p.args[j]
		v := values.Field(j)
		in[a.in] = v
		if a.variadic {
			if err := p.bindVariadic(a, j, args, kwargs, v); err != nil {
				return err
			}
			continue
		}
		var src any
		switch {
		case j < len(args):
			src = args[j]
		case a.name != "" && hasKey(kwargs, a.name):
			src = kwargs[a.name]
		case a.optional:
			continue
		default:
			return &ArgumentError{Index: j, Name: a.name, Msg: "missing required " + a.typ.String()}
		}
		if err := a.dec.fn(src, v, 0); err != nil {
			return atArg(err, j, a.name)
		}
	}
	return nil
}

// bindVariadic decodes the arguments from position j on, or the list
// given by keyword, into v, the trailing ...T parameter's slice.
func (p *procedure) bindVariadic(a *argParam, j int, args wamp.List, kwargs wamp.Dict, v reflect.Value) error {
	var rest wamp.List
	byKeyword := a.name != "" && hasKey(kwargs, a.name)
	switch {
	case byKeyword:
		var ok bool
		if rest, ok = listOf(kwargs[a.name]); !ok {
			return &ArgumentError{Index: j, Name: a.name, Msg: "cannot use " + describe(kwargs[a.name]) + " as " + v.Type().String()}
		}
	case j < len(args):
		rest = args[j:]
	default:
		return nil
	}
	s := reflect.MakeSlice(v.Type(), len(rest), len(rest))
	for i, src := range rest {
		if err := a.dec.fn(src, s.Index(i), 0); err != nil {
			if byKeyword {
				return atArg(inside(err, "["+strconv.Itoa(i)+"]"), j, a.name)
			}
			return atArg(err, j+i, a.name)
		}
	}
	v.Set(s)
	return nil
}

// atArg fills in which argument an error from a decoder is about.
func atArg(err error, index int, name string) error {
	var ae *ArgumentError
	if errors.As(err, &ae) {
		ae.Index, ae.Name = index, name
	}
	return err
}

func hasKey(d wamp.Dict, k string) bool {
	_, ok := d[k]
	return ok
}

// checkKwargs rejects keyword arguments that name no parameter or a
// parameter also given by position.
func (p *procedure) checkKwargs(args wamp.List, kwargs wamp.Dict) error {
	if p.byName == nil {
		keys := make([]string, 0, len(kwargs))
		for k := range kwargs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return &ArgumentError{Index: -1, Msg: fmt.Sprintf("unexpected keyword arguments %s: the procedure takes positional arguments only", strings.Join(keys, ", "))}
	}
	for k := range kwargs {
		j, ok := p.byName[k]
		if !ok {
			return &ArgumentError{Index: -1, Msg: fmt.Sprintf("unknown keyword argument %q", k)}
		}
		if j < len(args) {
			return &ArgumentError{Index: j, Name: k, Msg: "given both by position and by keyword"}
		}
	}
	return nil
}
