package wampfntest_test

import (
	"context"
	"testing"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"

	"github.com/wampfn/wampfn/wampfntest"
)

// TestExampleAdd is the package's example, as a test (an Example function
// has no testing.TB to give NewRouter): a callee registers a procedure,
// and a caller on every transport calls it.
func TestExampleAdd(t *testing.T) {
	r := wampfntest.NewRouter(t) // closed at the end of the test

	callee := r.Connect(t, wampfntest.InProcess)
	handler := func(_ context.Context, inv *wamp.Invocation) client.InvokeResult {
		var sum int64
		for _, arg := range inv.Arguments {
			n, ok := wamp.AsInt64(arg) // int, int64 or uint64, by transport
			if !ok {
				return client.InvokeResult{Err: wamp.ErrInvalidArgument}
			}
			sum += n
		}
		return client.InvokeResult{Args: wamp.List{sum}}
	}
	if err := callee.Register("com.example.add", handler, nil); err != nil {
		t.Fatal(err)
	}

	for _, tr := range wampfntest.Transports {
		t.Run(tr.String(), func(t *testing.T) {
			caller := r.Connect(t, tr) // closed at the end of the subtest
			res, err := caller.Call(t.Context(), "com.example.add", nil,
				wamp.List{2, 3}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if sum, _ := wamp.AsInt64(res.Arguments[0]); sum != 5 {
				t.Errorf("com.example.add(2, 3) = %v, want 5", res.Arguments[0])
			}
		})
	}
}
