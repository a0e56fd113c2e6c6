package docs

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/pivotcheck/pivotcheck/pivotcheck/preflight"
)

// checkRow matches a row of the check table: | `id` | group | ...
var checkRow = regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\| ([0-9]+) \\|")

// TestPreflightCheckTable checks that docs/preflight.md's table of check IDs
// lists exactly the IDs of preflight.Catalog, in its order and with its
// groups, so the page a finding's ID leads to never drifts from the code.
func TestPreflightCheckTable(t *testing.T) {
	section := readSection(t, "preflight.md", "## Check IDs")
	rows := checkRow.FindAllStringSubmatch(section, -1)
	if len(rows) != len(preflight.Catalog) {
		t.Errorf("docs/preflight.md lists %d check IDs, the catalog has %d", len(rows), len(preflight.Catalog))
	}
	for i := 0; i < len(rows) && i < len(preflight.Catalog); i++ {
		want := preflight.Catalog[i]
		id, group := rows[i][1], rows[i][2]
		if id != want.ID || group != strconv.Itoa(want.Group) {
			t.Errorf("check table row %d is %s (group %s), the catalog's is %s (group %d)", i+1, id, group, want.ID, want.Group)
		}
	}
}
