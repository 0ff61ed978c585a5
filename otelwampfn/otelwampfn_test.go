package otelwampfn_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gammazero/nexus/v3/client"
	"github.com/gammazero/nexus/v3/wamp"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/wampfn/wampfn"
	"github.com/wampfn/wampfn/otelwampfn"
	"github.com/wampfn/wampfn/wampfntest"
)

const realm = "otelwampfn.test"

// connect starts a nexus router (wampfntest: in-process and on a loopback
// WebSocket) and returns a callee in-process and a caller over transport
// ("inproc" or "json").
func connect(t *testing.T, transport string) (callee, caller *client.Client) {
	t.Helper()
	r := wampfntest.NewRouter(t, wampfntest.WithRealm(realm))
	return r.Connect(t, wampfntest.InProcess), r.Connect(t, wampfntest.Transport(transport))
}

func TestSpansAndHistogram(t *testing.T) {
	for _, transport := range []string{"inproc", "json"} {
		t.Run(transport, func(t *testing.T) {
			// Registered first, so it runs after the other cleanups have
			// closed the clients and the router.
			ignore := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
			spans := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			ic, err := otelwampfn.NewInterceptor(otelwampfn.WithTracerProvider(tp), otelwampfn.WithMeterProvider(mp))
			require.NoError(t, err)

			callee, caller := connect(t, transport)
			childSpan := make(chan trace.SpanContext, 1)
			fn := func(ctx context.Context, n int) (int, error) {
				// The function's context carries the call's span.
				childSpan <- trace.SpanContextFromContext(ctx)
				switch n {
				case 1:
					return 0, &wampfn.Error{URI: "com.example.error.nope", Args: wamp.List{"nope"}}
				case 2:
					panic("boom")
				}
				return n, nil
			}
			require.NoError(t, wampfn.Register(callee, "test.otel.fn", fn, wampfn.WithInterceptors(ic)))

			wantErrType := map[int]string{0: "", 1: "com.example.error.nope", 2: "wamp.error.runtime_error"}
			for n := range 3 {
				_, err := caller.Call(t.Context(), "test.otel.fn", nil, wamp.List{n}, nil, nil)
				if n == 0 {
					require.NoError(t, err)
				} else {
					var rpcErr client.RPCError
					require.ErrorAs(t, err, &rpcErr)
					require.Equal(t, wamp.URI(wantErrType[n]), rpcErr.Err.Error)
				}
				inner := <-childSpan
				ended := spans.Ended()
				require.Len(t, ended, n+1, "one span per call")
				s := ended[n]
				require.Equal(t, "test.otel.fn", s.Name())
				require.Equal(t, trace.SpanKindServer, s.SpanKind())
				require.Equal(t, s.SpanContext().SpanID(), inner.SpanID(), "the function runs in the span's context")
				require.Equal(t, otelwampfn.ScopeName, s.InstrumentationScope().Name)
				attrs := map[attribute.Key]string{}
				for _, kv := range s.Attributes() {
					attrs[kv.Key] = kv.Value.String()
				}
				require.Equal(t, "wamp", attrs["rpc.system.name"])
				require.Equal(t, "test.otel.fn", attrs["rpc.method"])
				if want := wantErrType[n]; want == "" {
					require.Equal(t, codes.Unset, s.Status().Code)
					require.NotContains(t, attrs, attribute.Key("error.type"))
				} else {
					require.Equal(t, codes.Error, s.Status().Code)
					require.Equal(t, want, s.Status().Description)
					require.Equal(t, want, attrs["error.type"])
				}
			}

			var rm metricdata.ResourceMetrics
			require.NoError(t, reader.Collect(context.Background(), &rm))
			require.Len(t, rm.ScopeMetrics, 1)
			sm := rm.ScopeMetrics[0]
			require.Equal(t, otelwampfn.ScopeName, sm.Scope.Name)
			require.Len(t, sm.Metrics, 1)
			m := sm.Metrics[0]
			require.Equal(t, "rpc.server.call.duration", m.Name)
			require.Equal(t, "s", m.Unit)
			hist, ok := m.Data.(metricdata.Histogram[float64])
			require.True(t, ok, "a histogram, got %T", m.Data)
			got := map[string]uint64{}
			for _, dp := range hist.DataPoints {
				system, _ := dp.Attributes.Value("rpc.system.name")
				method, _ := dp.Attributes.Value("rpc.method")
				require.Equal(t, "wamp", system.AsString())
				require.Equal(t, "test.otel.fn", method.AsString())
				errType, _ := dp.Attributes.Value("error.type")
				got[errType.AsString()] += dp.Count
				require.Greater(t, dp.Sum, 0.0)
			}
			require.Equal(t, map[string]uint64{"": 1, "com.example.error.nope": 1, "wamp.error.runtime_error": 1}, got)
			require.NoError(t, tp.Shutdown(context.Background()))
			require.NoError(t, mp.Shutdown(context.Background()))
		})
	}
}

// The interceptor sees refusals of interceptors inside it, and argument
// errors, as the caller does.
func TestOutcomesOfInnerStages(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	ic, err := otelwampfn.NewInterceptor(otelwampfn.WithTracerProvider(tp), otelwampfn.WithMeterProvider(sdkmetric.NewMeterProvider()))
	require.NoError(t, err)
	callee, caller := connect(t, "inproc")
	require.NoError(t, wampfn.Register(callee, "test.otel.roles", func() {}, wampfn.WithInterceptors(ic, wampfn.RequireRoles("admin"))))
	require.NoError(t, wampfn.Register(callee, "test.otel.args", func(int) {}, wampfn.WithInterceptors(ic)))
	for proc, want := range map[string]string{"test.otel.roles": "wamp.error.not_authorized", "test.otel.args": "wamp.error.invalid_argument"} {
		_, err := caller.Call(t.Context(), proc, nil, wamp.List{"x"}, nil, nil)
		require.Error(t, err)
		ended := spans.Ended()
		s := ended[len(ended)-1]
		require.Equal(t, proc, s.Name())
		require.Equal(t, codes.Error, s.Status().Code)
		require.Equal(t, want, s.Status().Description, fmt.Sprint(errors.Unwrap(err)))
	}
}
