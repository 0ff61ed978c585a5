package wampfn

// Serving a call (stage 3): RequireRoles, a built-in interceptor.

import (
	"context"
	"fmt"
	"slices"

	"github.com/gammazero/nexus/v3/wamp"
)

// RequireRoles returns an interceptor that lets a call proceed only when
// the caller's authentication role (Details.CallerAuthRole) is one of
// roles; any other call ends with wamp.error.not_authorized and the
// function never runs. It fails closed: a call whose role is not
// disclosed is refused, and so is every call when roles is empty.
//
// The router discloses the caller's role only to a procedure registered
// with "disclose_caller": true, WithRegisterOptions(wamp.Dict{
// "disclose_caller": true}); a nexus router accepts that registration
// only on a realm with AllowDisclose (router.RealmConfig), or from a
// callee whose own role is "trusted", and refuses it otherwise with
// wamp.error.option_disallowed.disclose_me.
//
// Put RequireRoles outside WithConcurrency's wait (it always is: the wait
// is innermost) and inside Logging, so that refusals are logged.
func RequireRoles(roles ...string) Interceptor {
	roles = slices.Clone(roles)
	return func(next InvokeFunc) InvokeFunc {
		return func(ctx context.Context, inv *Invocation) (Result, error) {
			role := inv.Details.CallerAuthRole
			if role == "" {
				return Result{}, &Error{URI: wamp.ErrNotAuthorized, Args: wamp.List{
					fmt.Sprintf("%s: not authorized: the caller's role is not disclosed to the callee", inv.Procedure),
				}}
			}
			if !slices.Contains(roles, role) {
				return Result{}, &Error{URI: wamp.ErrNotAuthorized, Args: wamp.List{
					fmt.Sprintf("%s: not authorized for role %q", inv.Procedure, role),
				}}
			}
			return next(ctx, inv)
		}
	}
}
