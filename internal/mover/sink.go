package mover

import (
	"github.com/go-logr/logr"
)

// sink is a logr.LogSink on the linked clusterctl's logger: every call goes
// through eventFromCall to on, and to delegate ClusterctlLogLevel levels
// down.
type sink struct {
	delegate logr.Logger
	on       func(Event)
	name     string
	values   []any
}

var _ logr.LogSink = &sink{}

func (s *sink) Init(logr.RuntimeInfo) {}

// Enabled: every level reaches Info so per-object V(1) lines are seen even
// when the delegate logs less.
func (s *sink) Enabled(int) bool { return true }

func (s *sink) Info(level int, msg string, kv ...any) {
	if s.on != nil {
		if e, ok := eventFromCall(msg, kv); ok {
			s.on(e)
		}
	}
	if s.delegate.GetSink() != nil {
		s.log().V(ClusterctlLogLevel+level).Info(msg, append(append([]any{}, s.values...), kv...)...)
	}
}

// Error logs at ClusterctlLogLevel like any other clusterctl line (logr's
// Error ignores V levels): clusterctl retries what failed, and what finally
// fails comes back as Move's error.
func (s *sink) Error(err error, msg string, kv ...any) {
	if s.delegate.GetSink() != nil {
		s.log().V(ClusterctlLogLevel).Info(msg, append(append([]any{"error", err}, s.values...), kv...)...)
	}
}

func (s *sink) log() logr.Logger {
	if s.name == "" {
		return s.delegate
	}
	return s.delegate.WithName(s.name)
}

func (s *sink) WithValues(kv ...any) logr.LogSink {
	c := *s
	c.values = append(append([]any{}, s.values...), kv...)
	return &c
}

func (s *sink) WithName(name string) logr.LogSink {
	c := *s
	if c.name != "" {
		name = c.name + "." + name
	}
	c.name = name
	return &c
}
