package wampfn

// Serving a call (stage 3): Logging, a built-in interceptor.

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Logging returns an interceptor that writes one record to l for every
// call, when it ends, with the message "wamp call" and the attributes
// procedure (the URI called), duration (from the interceptor to the
// answer, any wait for a concurrency slot included), outcome ("ok", or the
// error URI the caller gets, by ErrorURI), caller (the caller's session
// ID, when disclosed), and, for a failed call, error (the Go error's
// text).
//
// The level is Info for a success; Warn for an error the caller is told
// about as it is (wamp.error.invalid_argument, an application *Error,
// a cancellation or a timeout); Error for wamp.error.runtime_error, that
// is, an unexpected error or a panic: these records also have cause (the
// original error behind HideInternalErrors) and, for a panic, stack. So
// the log has what the wire must not carry.
//
// A nil l logs to slog.Default(). Place Logging outermost to log what the
// caller gets, inner interceptors' refusals included.
func Logging(l *slog.Logger) Interceptor {
	return func(next InvokeFunc) InvokeFunc {
		return func(ctx context.Context, inv *Invocation) (Result, error) {
			start := time.Now()
			res, err := next(ctx, inv)
			logger := l
			if logger == nil {
				logger = slog.Default()
			}
			level, outcome := slog.LevelInfo, "ok"
			if err != nil {
				uri := ErrorURI(err)
				outcome = string(uri)
				level = slog.LevelWarn
				if uri == ErrRuntimeError {
					level = slog.LevelError
				}
			}
			if !logger.Enabled(ctx, level) {
				return res, err
			}
			attrs := make([]slog.Attr, 0, 7)
			attrs = append(attrs,
				slog.String("procedure", inv.Procedure),
				slog.Duration("duration", time.Since(start)),
				slog.String("outcome", outcome))
			if inv.Details.Caller != 0 {
				attrs = append(attrs, slog.Uint64("caller", uint64(inv.Details.Caller)))
			}
			if err != nil {
				attrs = append(attrs, slog.String("error", err.Error()))
				var werr *Error
				if errors.As(err, &werr) && werr.cause != nil {
					attrs = append(attrs, slog.String("cause", werr.cause.Error()))
				}
				var perr *panicError
				if errors.As(err, &perr) {
					attrs = append(attrs, slog.String("stack", string(perr.stack)))
				}
			}
			logger.LogAttrs(ctx, level, "wamp call", attrs...)
			return res, err
		}
	}
}
