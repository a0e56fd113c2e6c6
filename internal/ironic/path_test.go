package ironic

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSeeStateAndOnPath(t *testing.T) {
	var seen []string
	for _, s := range []string{"", "enroll", "enroll", "verifying", "manageable", "manageable", "active"} {
		seen = SeeState(seen, s)
	}
	require.Equal(t, []string{"enroll", "verifying", "manageable", "active"}, seen)
	require.True(t, OnPath(seen, AdoptionPath), "a poll may miss adopting")
	require.True(t, OnPath(nil, AdoptionPath))
	require.True(t, OnPath([]string{"active"}, AdoptionPath))
	require.False(t, OnPath([]string{"enroll", "manageable", "enroll"}, AdoptionPath), "never back")
	require.False(t, OnPath([]string{"manageable", "adopting", "adopt failed"}, AdoptionPath))
	require.False(t, OnPath([]string{"manageable", "available", "deploying", "active"}, AdoptionPath), "deployed, not adopted")
}
