package testenv

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/test/upstream"
)

// TestPrivateHomeWorksOffline: with HOME moved to a private folder, the
// upstream module zips are still read from the module cache filled before,
// with the Go module proxy switched off (an offline machine after setup),
// and the envtest binaries are still found.
func TestPrivateHomeWorksOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the envtest binaries and a filled module cache (`make envtest`)")
	}
	before, err := os.UserHomeDir()
	require.NoError(t, err)
	home, restore, err := PrivateHome("pivotcheck-offline-test-")
	require.NoError(t, err)
	defer restore()
	require.NotEqual(t, before, home)
	require.Equal(t, home, os.Getenv("HOME"))
	t.Setenv("GOPROXY", "off")

	_, err = AssetsDir()
	require.NoError(t, err)
	dir, err := upstream.Dir(context.Background(), upstream.BMO)
	require.NoError(t, err, "the BMO module zip must come from the pinned module cache")
	require.False(t, strings.HasPrefix(dir, home), "module cache %s moved with HOME", dir)
	_, err = os.Stat(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
}
