package mover

import (
	"errors"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/stretchr/testify/require"
)

// recordLog keeps the lines a logger at verbosity writes.
type recordLog struct {
	verbosity int
	mu        sync.Mutex
	lines     []string
}

func (r *recordLog) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.lines = append(r.lines, prefix+" "+args)
	}, funcr.Options{Verbosity: r.verbosity, LogInfoLevel: ptrTo("level")})
}

func ptrTo[T any](v T) *T { return &v }

// TestSinkLogLevels: the library's lines reach the caller's logger
// ClusterctlLogLevel levels down, named clusterctl; errors too (logr's
// Error would print at any verbosity); events flow at every verbosity.
func TestSinkLogLevels(t *testing.T) {
	for _, v := range []int{0, 2, 3} {
		l := &recordLog{verbosity: v}
		var events []Event
		log := logr.New(&sink{delegate: clusterctlLog(l.logger()), on: func(e Event) { events = append(events, e) }})
		log.Info("Performing move...")
		log.V(1).Info("Creating", "BareMetalHost", "h-0", "Namespace", "ns")
		log.V(5).Info("Set Cluster.Spec.Paused", "paused", true)
		log.WithName("proxy").Error(errors.New("conflict"), "Retrying")
		require.Len(t, events, 2)
		switch v {
		case 0:
			require.Empty(t, l.lines)
		case 2:
			require.Equal(t, []string{
				`clusterctl "level"=2 "msg"="Performing move..."`,
				`clusterctl/proxy "level"=2 "msg"="Retrying" "error"="conflict"`,
			}, l.lines)
		case 3:
			require.Len(t, l.lines, 3)
			require.Equal(t, `clusterctl "level"=3 "msg"="Creating" "BareMetalHost"="h-0" "Namespace"="ns"`, l.lines[1])
		}
	}
}
