package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/fn"
)

// TestFnHelp: `pivotcheck fn --help` is the function's own documentation
// (what kpt fn doc shows): it names every config field, so a field added to
// the config without documentation fails here.
func TestFnHelp(t *testing.T) {
	out, err := run(t, "fn", "--help")
	require.NoError(t, err)
	require.Contains(t, out, "pivot-prep: a KRM function")
	require.Contains(t, out, "apiVersion fn.pivotcheck.dev/v1alpha1, kind PivotPrep")
	require.Contains(t, out, fn.DefaultKeepalivedImage)
	require.NotContains(t, out, "preflight", "fn help must not be the root help")
	require.Contains(t, out, "kpt fn render examples/pivot-prep-kpt --allow-exec")

	var missing []string
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			p := path + "." + name
			switch {
			case strings.Contains(out, p):
				// documented as a whole
			case f.Type.Kind() == reflect.Struct || (f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct):
				walk(p, f.Type)
			default:
				missing = append(missing, p)
			}
		}
	}
	walk("spec", reflect.TypeFor[fn.Spec]())
	require.Empty(t, missing, "config fields missing from fn --help")

	for _, key := range []string{"provisioningIP", "provisioningInterface", "keepalivedImage", "disableLabels", "disableKeepalived", "disableOwners", "overwriteProvider", "keepUIDOwnerReferences"} {
		require.Contains(t, out, key)
	}
}
