package ironic

import (
	"os"
	"testing"

	"github.com/pivotcheck/pivotcheck/internal/test/lab"
)

// TestMain fails the package when a lab process (a controller, an Ironic
// or one of its workers, the BMC emulator) outlives the tests that started
// it.
func TestMain(m *testing.M) { os.Exit(lab.Main(m)) }
