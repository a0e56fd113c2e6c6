package move

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
)

// writeBackoff spaces the attempts of one of pivotcheck's own writes:
// 8 attempts over about 30 s, long enough to ride out an API server
// restart or a dropped connection. clusterctl retries each of its writes
// for minutes; pivotcheck's writes happen before anything irreversible (or
// are idempotent), so a bounded retry and then a clear failure with the
// resume command is the better trade.
var writeBackoff = wait.Backoff{Steps: 8, Duration: 250 * time.Millisecond, Factor: 2, Jitter: 0.1}

// writeBackoffFirst, set at link time (go build -ldflags -X), replaces
// writeBackoff's first step so that tests of the binary wait out the same 8
// attempts in a fraction of the time. Empty (the default above) in every
// real build.
var writeBackoffFirst string

// writeRetry is writeBackoff, with writeBackoffFirst if it was set.
func writeRetry() wait.Backoff {
	b := writeBackoff
	if d, err := time.ParseDuration(writeBackoffFirst); err == nil && d > 0 {
		b.Duration = d
	}
	return b
}

// retriable reports whether a failed write may pass when sent again: a
// conflict, a timeout, throttling, an internal or unavailable server, or a
// connection that broke. A definite answer (denied, invalid, not found) and
// a cancelled run are returned at once.
func retriable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch {
	case apierrors.IsConflict(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsTooManyRequests(err), apierrors.IsInternalError(err), apierrors.IsServiceUnavailable(err),
		apierrors.IsUnexpectedServerError(err):
		return true
	}
	var se apierrors.APIStatus
	if errors.As(err, &se) && se.Status().Code >= 500 {
		return true
	}
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || (errors.As(err, &ne) && ne.Timeout())
}

// retryWrite sends one of pivotcheck's own writes with retries (see
// retriable). f must be safe to send again: every caller's write is
// idempotent or re-reads what it writes.
func retryWrite(ctx context.Context, f func() error) error {
	return retry.OnError(writeRetry(), retriable, func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return f()
	})
}
