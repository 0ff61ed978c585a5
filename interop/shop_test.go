package interop_test

// The service of the method cases (methodnames, methodprogress, methodstruct,
// methodkwargs, methoderror): a *shop registered with wampfn.RegisterMethods, so
// that every exported method is a procedure under the case's prefix, named in snake
// case, and the peers call those URIs.

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"

	"github.com/wampfn/wampfn"
	"github.com/wampfn/wampfn/wampfntest"
)

const (
	// shopHTTPStatus is what get_http_status returns.
	shopHTTPStatus = 418
	// shopInfo is what StoreInfo, registered as "info" (WithName), returns.
	shopInfo = "wampfn interop shop"
	// unitCents is the price of one item, in cents.
	unitCents = 250
	// shopErrorURI is the URI of the *wampfn.Error that cancel_order returns for an
	// unknown order.
	shopErrorURI = "com.example.shop.error.no_such_order"
	// knownOrder is the one order ID that cancel_order accepts.
	knownOrder = "A-1"
)

// shopProcedures are the names, after the case's prefix, that RegisterMethods must
// register for *shop: exactly these.
var shopProcedures = []string{"cancel_order", "get_http_status", "info", "long_op", "place_order", "quote"}

// Order is place_order's argument: the peers send it as a dict/object.
type Order struct {
	SKU   string   `json:"sku"`
	Qty   int      `json:"qty"`
	Gift  bool     `json:"gift"`
	Ship  *Address `json:"ship"`
	Notes []string `json:"notes"`
}

// Address is nested in Order.
type Address struct {
	City string `json:"city"`
	Zip  string `json:"zip"`
}

// Receipt is place_order's result.
type Receipt struct {
	OrderID    string  `json:"order_id"`
	SKU        string  `json:"sku"`
	Qty        int     `json:"qty"`
	UnitPrice  float64 `json:"unit_price"`
	TotalCents int     `json:"total_cents"`
	ShipTo     string  `json:"ship_to"`
	Gift       bool    `json:"gift"`
}

// theOrder is the order every caller script sends to place_order (their ORDER constant).
var theOrder = Order{SKU: "widget", Qty: 3, Gift: true, Ship: &Address{City: "Lyon", Zip: "69001"}, Notes: []string{"fragile"}}

// receiptJSON is place_order's receipt for theOrder, as a peer must print it.
const receiptJSON = `{"order_id":"A-1","sku":"widget","qty":3,"unit_price":2.5,"total_cents":750,"ship_to":"Lyon 69001","gift":true}`

var (
	shopErrorArgs   = wamp.List{"no such order", "Z-9"}
	shopErrorKwargs = wamp.Dict{"order_id": "Z-9", "known": []string{knownOrder}}
)

// shop is the RegisterMethods service. Its procedures (prefix + the method's name in
// snake case, unless MethodOptions says otherwise):
//
//	get_http_status() int                      418
//	info() string                              StoreInfo, renamed with WithName
//	long_op(n int) with a ProgressSink[int]    the callee's longop: progress 0..n-1, then n
//	place_order(o Order) Receipt               a struct in, a struct out
//	quote(sku string, qty int) int             parameter names from MethodOptions: keyword arguments
//	cancel_order(id string) error              nil for A-1, else a *wampfn.Error
//
// Audit is left out with Exclude, and MethodOptions is never registered.
type shop struct {
	ce *callee // long_op runs as ce.longop, which records what it did

	mu     sync.Mutex
	orders []Order
}

func (s *shop) GetHTTPStatus() int { return shopHTTPStatus }

func (s *shop) StoreInfo() string { return shopInfo }

func (s *shop) LongOp(ctx context.Context, n int, sink wampfn.ProgressSink[int]) (int, error) {
	return s.ce.longop(ctx, n, sink)
}

func (s *shop) PlaceOrder(o Order) (Receipt, error) {
	s.mu.Lock()
	s.orders = append(s.orders, o)
	s.mu.Unlock()
	r := Receipt{OrderID: knownOrder, SKU: o.SKU, Qty: o.Qty, UnitPrice: unitCents / 100.0, TotalCents: o.Qty * unitCents, Gift: o.Gift}
	if o.Ship != nil {
		r.ShipTo = o.Ship.City + " " + o.Ship.Zip
	}
	return r, nil
}

func (s *shop) Quote(sku string, qty int) (int, error) { return qty * unitCents, nil }

func (s *shop) CancelOrder(id string) error {
	if id == knownOrder {
		return nil
	}
	return &wampfn.Error{URI: shopErrorURI, Args: wamp.List{"no such order", id},
		Kwargs: wamp.Dict{"order_id": id, "known": []string{knownOrder}}}
}

// Audit must not be callable: MethodOptions excludes it.
func (s *shop) Audit() string { return "secret" }

func (s *shop) MethodOptions() map[string][]wampfn.Option {
	return map[string][]wampfn.Option{
		"Quote":     {wampfn.WithParamNames("sku", "qty")},
		"StoreInfo": {wampfn.WithName("info")},
		"Audit":     {wampfn.Exclude()},
	}
}

// placed returns the orders place_order received, in order.
func (s *shop) placed() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.orders)
}

// newShopCallee connects a local client to tr and registers a *shop under prefix with
// wampfn.RegisterMethods; the callee's shop field is that shop.
func newShopCallee(t testing.TB, tr *testRouter, prefix string) *callee {
	t.Helper()
	c := tr.Connect(t, wampfntest.InProcess)
	ce := &callee{prefix: prefix}
	ce.shop = &shop{ce: ce}
	require.NoError(t, wampfn.RegisterMethods(c, prefix, ce.shop), "RegisterMethods")
	return ce
}

// TestShopRegistrations checks, without any peer, that RegisterMethods registered
// exactly shopProcedures for *shop: the URIs the caller scripts call.
func TestShopRegistrations(t *testing.T) {
	tr := newTestRouter(t)
	prefix := newPrefix()
	newShopCallee(t, tr, prefix)
	c := tr.Connect(t, wampfntest.InProcess)
	var got []string
	for _, name := range []string{"audit", "method_options", "store_info", "longop", "GetHTTPStatus"} {
		require.False(t, registered(t, c, prefix+name), "%s must not be registered", prefix+name)
	}
	for _, name := range shopProcedures {
		if registered(t, c, prefix+name) {
			got = append(got, name)
		}
	}
	require.Equal(t, shopProcedures, got)
}

// registered asks the router's meta API, through c, whether uri is registered.
func registered(t testing.TB, c *client.Client, uri string) bool {
	t.Helper()
	res, err := c.Call(context.Background(), string(wamp.MetaProcRegLookup), nil, wamp.List{uri}, nil, nil)
	require.NoError(t, err)
	require.Len(t, res.Arguments, 1)
	// the registration's ID, or 0 when there is none
	id, _ := wamp.AsID(res.Arguments[0])
	return id != 0
}
