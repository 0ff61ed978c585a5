package wampfn

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wampfn/wampfn/wampfntest"
)

// Every message of this package's errors starts with "wampfn:", once:
// a wrapper adds the prefix, so what it wraps must not carry another.
func TestErrorMessagesHaveOnePrefix(t *testing.T) {
	tr := wampfntest.NewRouter(t)
	c := tr.Connect(t, wampfntest.InProcess)

	// A Service whose shutdown has begun: Run's ctx was done before it
	// connected.
	stopped := NewService(wsDial("ws://127.0.0.1:1/"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, stopped.Run(ctx))
	running := NewService(wsDial("ws://127.0.0.1:1/"))
	require.NoError(t, running.Register("test.prefix.dup", func() {}))

	var bound func() error
	var sink ProgressSink[int]
	require.NoError(t, Register(c, "test.prefix.sink", func(s ProgressSink[int]) { sink = s }))
	_, err := tr.Connect(t, wampfntest.InProcess).Call(t.Context(), "test.prefix.sink", nil, nil, nil, nil)
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		err  error
		is   error // errors.Is, when set
	}{
		{"Service.Register after shutdown", stopped.Register("test.prefix.x", func() {}), ErrServiceStopped},
		{"Service.RegisterMethods after shutdown", stopped.RegisterMethods("test.prefix.", twoMethods{}), ErrServiceStopped},
		{"Service.Unregister after shutdown", stopped.Unregister("test.prefix.x"), ErrServiceStopped},
		{"Service.Run twice", stopped.Run(context.Background()), nil},
		{"Service.Register twice", running.Register("test.prefix.dup", func() {}), nil},
		{"Service.Unregister unknown", running.Unregister("test.prefix.none"), nil},
		{"Service.Register signature", running.Register("test.prefix.y", 42), ErrSignature},
		{"Service.Register URI", running.Register("test..prefix", func() {}), ErrInvalidURI},
		{"Register signature", Register(c, "test.prefix.z", func(chan int) {}), ErrSignature},
		{"Register URI", Register(c, "wamp.x", func() {}), ErrInvalidURI},
		{"Register nil client", Register(nil, "test.prefix.z", func() {}), nil},
		{"Register interceptor", Register(c, "test.prefix.z", func() {}, WithInterceptors(func(InvokeFunc) InvokeFunc { panic("no") })), nil},
		{"Register option", Register(c, "test.prefix.z", func() {}, WithConcurrency(0)), nil},
		{"Handler nil client", func() error { _, err := Handler(nil, func() {}); return err }(), nil},
		{"RegisterMethods nil", RegisterMethods(c, "test.prefix.", nil), nil},
		{"RegisterMethods none", RegisterMethods(c, "test.prefix.", struct{}{}), nil},
		{"Bind nil client", Bind(nil, "test.prefix.b", &bound), nil},
		{"Bind signature", Bind(c, "test.prefix.b", bound), ErrSignature},
		{"BindAll", BindAll(c, "test.prefix.", &struct{ X int }{}), ErrSignature},
		{"Send after the call", sink.Send(1), ErrInvocationDone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Error(t, tc.err)
			if tc.is != nil {
				require.ErrorIs(t, tc.err, tc.is)
			}
			msg := tc.err.Error()
			require.True(t, strings.HasPrefix(msg, "wampfn: "), "%q", msg)
			require.Equal(t, 1, strings.Count(msg, "wampfn:"), "%q", msg)
		})
	}

	// Sentinels returned as they are, or leading a message, carry the
	// prefix; those wrapped after a message's start carry none.
	for _, sentinel := range []error{ErrInvocationDone, ErrSignature, ErrConnectionLost, ErrRegistrationRefused,
		ErrPanic, ErrInputOverflow, ErrInputIdle} {
		require.True(t, strings.HasPrefix(sentinel.Error(), "wampfn: "), "%q", sentinel)
		require.Equal(t, 1, strings.Count(sentinel.Error(), "wampfn:"), "%q", sentinel)
	}
	for _, wrapped := range []error{ErrServiceStopped, ErrInvalidURI, errStopped} {
		require.NotContains(t, wrapped.Error(), "wampfn:")
	}
}
