package preflight

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCatalogIDsAreKebabAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Catalog {
		require.Regexp(t, `^[a-z0-9]+(-[a-z0-9]+)*$`, c.ID)
		require.False(t, seen[c.ID], c.ID)
		seen[c.ID] = true
		require.NotEmpty(t, c.Meaning)
		require.NotEmpty(t, c.Fix)
	}
}
