package move

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

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
