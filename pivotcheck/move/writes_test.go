package move

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestRetriable(t *testing.T) {
	gr := schema.GroupResource{Group: "metal3.io", Resource: "baremetalhosts"}
	require.True(t, retriable(apierrors.NewConflict(gr, "h", errors.New("changed"))))
	require.True(t, retriable(apierrors.NewServiceUnavailable("down")))
	require.True(t, retriable(apierrors.NewInternalError(errors.New("etcd"))))
	require.True(t, retriable(apierrors.NewTooManyRequests("slow down", 1)))
	require.True(t, retriable(fmt.Errorf("patch: %w", io.ErrUnexpectedEOF)))
	require.False(t, retriable(apierrors.NewForbidden(gr, "h", errors.New("no"))))
	require.False(t, retriable(apierrors.NewBadRequest("denied by webhook")))
	require.False(t, retriable(context.Canceled))

	// A conflict is sent again; a denial is not.
	n := 0
	require.NoError(t, retryWrite(context.Background(), func() error {
		if n++; n < 3 {
			return apierrors.NewConflict(gr, "h", errors.New("changed"))
		}
		return nil
	}))
	require.Equal(t, 3, n)
	n = 0
	require.Error(t, retryWrite(context.Background(), func() error { n++; return apierrors.NewBadRequest("no") }))
	require.Equal(t, 1, n)
}

// A release retries a write 8 times over about 30 s; a binary linked with
// writeBackoffFirst (the fault matrix's) makes the same 8 attempts sooner.
func TestWriteRetry(t *testing.T) {
	require.Empty(t, writeBackoffFirst, "set only at link time")
	require.Equal(t, writeBackoff, writeRetry())
	require.Equal(t, 8, writeRetry().Steps)
	require.Equal(t, 250*time.Millisecond, writeRetry().Duration)

	writeBackoffFirst = "1ms"
	t.Cleanup(func() { writeBackoffFirst = "" })
	require.Equal(t, time.Millisecond, writeRetry().Duration)
	require.Equal(t, writeBackoff.Steps, writeRetry().Steps)
	n := 0
	err := retryWrite(context.Background(), func() error { n++; return apierrors.NewServiceUnavailable("down") })
	require.True(t, apierrors.IsServiceUnavailable(err), "%v", err)
	require.Equal(t, writeBackoff.Steps, n, "every attempt is made")

	writeBackoffFirst = "not a duration"
	require.Equal(t, writeBackoff, writeRetry())
}
