package lab

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIronicFollowerWant(t *testing.T) {
	for _, tc := range []struct {
		name        string
		pods        map[string]bool
		runs        bool
		start, stop bool
	}{
		{name: "no pod, not running", pods: map[string]bool{}},
		{name: "a pod pending", pods: map[string]bool{"a": false}},
		{name: "a pod Running", pods: map[string]bool{"a": true}, start: true},
		{name: "a pod Running, already running", pods: map[string]bool{"a": true}, runs: true},
		{name: "the pod terminating", pods: map[string]bool{"a": false}, runs: true},
		{name: "rolling: one terminating, one Running", pods: map[string]bool{"a": false, "b": true}, runs: true},
		{name: "no pod left", pods: map[string]bool{}, runs: true, stop: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, stop := want(tc.pods, tc.runs)
			require.Equal(t, tc.start, start, "start")
			require.Equal(t, tc.stop, stop, "stop")
		})
	}
}
