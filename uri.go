package wampfn

// Serving, at Register (stage 1): the check of a procedure URI against the
// rules routers apply, before the router is asked.

import (
	"fmt"
	"strings"

	"github.com/gammazero/nexus/v3/wamp"
)

// uriRules ends the message of an invalid URI: what was checked, and what
// a stricter router refuses besides.
const uriRules = `loose WAMP URI rules: components separated by ".", without white space or "#"; ` +
	`a router with strict URI checking also refuses upper case and any character other than a-z, 0-9 and _`

// checkProcedureURI returns an error when a router would refuse to register
// uri with the match policy match, the "match" option of the REGISTER
// message: "" or wamp.MatchExact, wamp.MatchPrefix or wamp.MatchWildcard
// (another value is checked as exact, as nexus does).
//
// It applies the loose URI rules of WAMP, exactly as nexus's router does
// by default (wamp.URI.ValidURI with strict false): the URI is split into
// components at each "."; no component may contain white space (\t, \n,
// \f, \r or a space) or "#"; no component may be empty, except the last
// one for match prefix and any one for match wildcard. It also refuses an
// empty URI, and a URI starting with "wamp.", which routers reserve for
// themselves. It does not apply the strict rules (only a-z, 0-9 and _):
// loose URIs with upper case, like com.myapp.getUser, are common and
// accepted by default by nexus and Crossbar.io; a router with strict URI
// checking refuses them when they are registered.
//
// The error wraps ErrInvalidURI, names the URI and says what is wrong,
// for example:
//
//	wampfn: register com..x: invalid procedure URI: component 1 is empty (loose WAMP URI rules: ...)
func checkProcedureURI(uri, match string) error {
	if uri == "" {
		return fmt.Errorf("wampfn: register: %w: empty", ErrInvalidURI)
	}
	if strings.HasPrefix(uri, "wamp.") {
		return fmt.Errorf(`wampfn: register %s: %w: the prefix "wamp." is reserved for the router`, uri, ErrInvalidURI)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("wampfn: register %s: %w: %s (%s)", uri, ErrInvalidURI, fmt.Sprintf(format, args...), uriRules)
	}
	components := strings.Split(uri, ".")
	for i, comp := range components {
		if j := strings.IndexAny(comp, " \t\n\f\r#"); j >= 0 {
			return fail("component %d (%q) contains %q", i, comp, comp[j])
		}
	}
	if match == wamp.MatchWildcard {
		return nil
	}
	for i, comp := range components {
		if comp != "" {
			continue
		}
		last := i == len(components)-1
		switch {
		case match == wamp.MatchPrefix && last:
		case match == wamp.MatchPrefix:
			return fail("component %d is empty (match prefix allows only the last one to be empty)", i)
		case last:
			return fail(`component %d is empty (register with match "prefix" for a URI that ends with ".")`, i)
		default:
			return fail(`component %d is empty (only match "wildcard" allows empty components)`, i)
		}
	}
	return nil
}

// matchOption returns the "match" option of REGISTER options, as nexus's
// dealer reads it.
func matchOption(opts wamp.Dict) string {
	m, _ := wamp.AsString(opts[wamp.OptMatch])
	return m
}
