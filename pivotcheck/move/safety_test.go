package move

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// TestReadLinesLongLine: a 1 MiB line neither stops the reader nor loses the
// lines after it (the old bufio.Scanner stopped at 64 KiB and left
// clusterctl blocked on a full pipe).
func TestReadLinesLongLine(t *testing.T) {
	var in bytes.Buffer
	in.WriteString(`Creating BareMetalHost="h-0" Namespace="ns"` + "\n")
	in.WriteString(strings.Repeat("x", 1<<20) + "\n")
	in.WriteString(`Deleting BareMetalHost="h-0" Namespace="ns"` + "\n")
	in.WriteString("no newline at the end")
	var lines []string
	require.NoError(t, readLines(&in, func(l string) { lines = append(lines, l) }))
	require.Len(t, lines, 4)
	require.Len(t, lines[1], maxLine+len(" [line cut]"))
	require.True(t, strings.HasSuffix(lines[1], "[line cut]"))
	e, ok := ParseClusterctlLine(lines[2])
	require.True(t, ok)
	require.Equal(t, mover.Deleting, e.Action)
	require.Equal(t, "no newline at the end", lines[3])

	// A read error is returned, not swallowed.
	err := readLines(io.MultiReader(strings.NewReader("a\n"), errReader{}), func(string) {})
	require.ErrorContains(t, err, "disk on fire")
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }
