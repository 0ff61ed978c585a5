// Package otelwampfn traces and measures the calls of wampfn procedures
// with OpenTelemetry: one server span per call and the
// rpc.server.call.duration histogram, with the attributes of the
// semantic conventions that go.opentelemetry.io/otel v1.47.0 ships
// (semconv v1.43.0).
//
//	ic, err := otelwampfn.NewInterceptor()
//	if err != nil { ... }
//	err = wampfn.Register(c, "com.myapp.longop", longop, wampfn.WithInterceptors(ic))
//
// It is a module of its own, so that wampfn itself depends on nexus and
// the standard library only.
package otelwampfn

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/rpcconv"
	"go.opentelemetry.io/otel/trace"

	"github.com/wampfn/wampfn"
)

// ScopeName is the instrumentation scope of the spans and metrics.
const ScopeName = "github.com/wampfn/wampfn/otelwampfn"

// systemName is the rpc.system.name of WAMP, which the semantic
// conventions do not list.
const systemName rpcconv.SystemNameAttr = "wamp"

// An Option configures NewInterceptor.
type Option interface{ apply(*config) }

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithTracerProvider sets the TracerProvider of the spans:
// otel.GetTracerProvider() without the option. Repeating the option
// replaces the earlier provider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tp = tp })
}

// WithMeterProvider sets the MeterProvider of the histogram:
// otel.GetMeterProvider() without the option. Repeating the option
// replaces the earlier provider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.mp = mp })
}

// NewInterceptor returns an interceptor that, for every call:
//   - starts a span of kind server named by the procedure URI called, with
//     the attributes rpc.system.name = "wamp" and rpc.method = the URI, in
//     the context that the function gets (so its own spans are children);
//   - ends it when the call ends, with status Error and the attribute
//     error.type = the WAMP error URI the caller gets (wampfn.ErrorURI) when
//     the call fails;
//   - records the call's duration, in seconds, in the histogram
//     rpc.server.call.duration, with the same attributes.
//
// WAMP has no standard way to carry a trace context from the caller, so
// each call's span is a root span unless ctx already carries one.
// NewInterceptor returns an error when the histogram cannot be created.
func NewInterceptor(opts ...Option) (wampfn.Interceptor, error) {
	var cfg config
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.tp == nil {
		cfg.tp = otel.GetTracerProvider()
	}
	if cfg.mp == nil {
		cfg.mp = otel.GetMeterProvider()
	}
	tracer := cfg.tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL))
	meter := cfg.mp.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL))
	duration, err := rpcconv.NewServerCallDuration(meter)
	if err != nil {
		return nil, err
	}
	return func(next wampfn.InvokeFunc) wampfn.InvokeFunc {
		return func(ctx context.Context, inv *wampfn.Invocation) (wampfn.Result, error) {
			start := time.Now()
			method := duration.AttrMethod(inv.Procedure)
			ctx, span := tracer.Start(ctx, inv.Procedure,
				trace.WithSpanKind(trace.SpanKindServer),
				trace.WithTimestamp(start),
				trace.WithAttributes(semconv.RPCSystemNameKey.String(string(systemName)), method))
			res, err := next(ctx, inv)
			elapsed := time.Since(start)
			if err != nil {
				uri := string(wampfn.ErrorURI(err))
				errorType := semconv.ErrorTypeKey.String(uri)
				span.SetAttributes(errorType)
				span.SetStatus(codes.Error, uri)
				span.End(trace.WithTimestamp(start.Add(elapsed)))
				duration.Record(ctx, elapsed.Seconds(), systemName, method, errorType)
				return res, err
			}
			span.End(trace.WithTimestamp(start.Add(elapsed)))
			duration.Record(ctx, elapsed.Seconds(), systemName, method)
			return res, nil
		}
	}, nil
}
