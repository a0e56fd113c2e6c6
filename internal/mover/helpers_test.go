package mover_test

import (
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

type schemaGVK = schema.GroupVersionKind

func testLog(t *testing.T) logr.Logger { return testr.NewWithOptions(t, testr.Options{Verbosity: 0}) }
