package scenario_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/pivotcheck/pivotcheck/internal/lab"
)

// TestMain fails the package when a lab process (a controller, an Ironic
// or one of its workers, the BMC emulator) outlives the tests that started
// it.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := lab.CheckNoneLeft(30 * time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}
