package mover

import (
	"fmt"
	"time"

	"github.com/go-logr/logr"
)

// sink is a logr.LogSink on clusterctl's logger. clusterctl logs objects as
// Info("Creating", <Kind>, <Name>, "Namespace", <ns>): the kind is the first
// key and the name its value.
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
		if e, ok := parse(msg, kv); ok {
			s.on(e)
		}
	}
	if s.delegate.GetSink() != nil {
		s.delegate.WithName(s.name).V(level).Info(msg, append(append([]any{}, s.values...), kv...)...)
	}
}

func (s *sink) Error(err error, msg string, kv ...any) {
	if s.delegate.GetSink() != nil {
		s.delegate.WithName(s.name).Error(err, msg, append(append([]any{}, s.values...), kv...)...)
	}
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

// phases are clusterctl's phase messages worth showing an operator.
var phases = map[string]bool{
	"Performing move...":                            true,
	"Pausing the source cluster":                    true,
	"Pausing the source ClusterClasses":             true,
	"Waiting for all resources to be ready to move": true,
	"Creating objects in the target cluster":        true,
	"Deleting objects from the source cluster":      true,
	"Resuming the target ClusterClasses":            true,
	"Resuming the target cluster":                   true,
	"Moving Cluster API objects":                    true,
	"Starting move of Cluster API objects":          true,
	"Restoring objects into the target cluster":     true,
	"Resuming the source cluster":                   true,
}

func parse(msg string, kv []any) (Event, bool) {
	now := time.Now()
	switch Action(msg) {
	case Creating, Deleting, Saving, Restoring:
		if len(kv) < 2 {
			return Event{}, false
		}
		kind, ok := kv[0].(string)
		if !ok {
			return Event{}, false
		}
		o := Object{Kind: kind, Name: fmt.Sprint(kv[1])}
		for i := 2; i+1 < len(kv); i += 2 {
			if k, _ := kv[i].(string); k == "Namespace" {
				o.Namespace = fmt.Sprint(kv[i+1])
			}
		}
		return Event{Time: now, Action: Action(msg), Object: o}, true
	}
	if phases[msg] {
		return Event{Time: now, Phase: msg}, true
	}
	return Event{}, false
}
