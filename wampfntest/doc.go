// Package wampfntest provides an embedded WAMP router for tests of WAMP
// services: a nexus router (github.com/gammazero/nexus/v3) with one realm,
// reachable in-process and over a loopback WebSocket with each of the JSON,
// MessagePack and CBOR serializers, and clients connected to it that are
// closed when the test ends.
//
// A test creates the router, connects a callee and a caller, and lets the
// cleanup close everything:
//
//	func TestAdd(t *testing.T) {
//		r := wampfntest.NewRouter(t) // closed at the end of the test
//		callee := r.Connect(t, wampfntest.InProcess)
//		if err := callee.Register("com.example.add", add, nil); err != nil {
//			t.Fatal(err)
//		}
//		for _, tr := range wampfntest.Transports {
//			t.Run(tr.String(), func(t *testing.T) {
//				caller := r.Connect(t, tr) // closed at the end of the subtest
//				res, err := caller.Call(t.Context(), "com.example.add", nil,
//					wamp.List{2, 3}, nil, nil)
//				if err != nil {
//					t.Fatal(err)
//				}
//				if sum, _ := wamp.AsInt64(res.Arguments[0]); sum != 5 {
//					t.Errorf("com.example.add(2, 3) = %v, want 5", res.Arguments[0])
//				}
//			})
//		}
//	}
//
// where add is a client.InvocationHandler. Code that connects by itself,
// such as a service's reconnecting loop, takes a dial function from
// Router.Dialer instead of a client from Connect.
//
// A peer that is not a nexus client (another language's client, a raw
// WebSocket) can reach the same realm at r.URL().
//
// # Cleanup
//
// Every client made by Router.Connect or by a Router.Dialer's dial function
// is closed, and its session has ended, before the router and its WebSocket
// server are closed. This matters: nexus v3.3.0's router can panic ("send on
// closed channel") when it is closed while a callee leaves with a call
// pending. A client made by Connect is closed at the end of the test (or
// subtest) passed to Connect; any client still open when the router is
// closed, at the end of the test passed to NewRouter or by Router.Close, is
// closed first. No goroutine of the kit, of the router or of its clients
// outlives the cleanup, unless a wait runs out.
//
// Every wait is bounded: a client that does not close in time, or a router
// that does not stop in time, is reported with t.Errorf and abandoned, and
// so is a panic while closing one; the cleanup never hangs forever and
// never panics. (A panic in one of nexus's own goroutines is beyond its
// reach: hence the order above.)
//
// By default nothing is logged: the router, the WebSocket server and the
// clients log to a logger that discards (see WithLogger).
package wampfntest
