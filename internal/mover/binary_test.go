package mover

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/kube"
)

func TestBinaryArgs(t *testing.T) {
	from := kube.Cluster{Kubeconfig: "a", Context: "ca"}
	to := kube.Cluster{Kubeconfig: "b"}
	cases := []struct {
		name string
		opts Options
		want []string
	}{
		{name: "move", opts: Options{From: from, To: to, Namespace: "ns"},
			want: []string{"move", "--namespace", "ns", "-v", "1", "--kubeconfig", "a", "--kubeconfig-context", "ca", "--to-kubeconfig", "b"}},
		{name: "dry run has no target", opts: Options{From: from, To: to, Namespace: "ns", DryRun: true},
			want: []string{"move", "--namespace", "ns", "-v", "1", "--kubeconfig", "a", "--kubeconfig-context", "ca", "--dry-run"}},
		{name: "to a directory", opts: Options{From: kube.Cluster{}, Namespace: "ns", ToDirectory: "/d"},
			want: []string{"move", "--namespace", "ns", "-v", "1", "--to-directory", "/d"}},
		{name: "from a directory", opts: Options{To: kube.Cluster{Kubeconfig: "b", Context: "cb"}, Namespace: "ns", FromDirectory: "/d"},
			want: []string{"move", "--namespace", "ns", "-v", "1", "--from-directory", "/d", "--to-kubeconfig", "b", "--to-kubeconfig-context", "cb"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Binary{Path: "clusterctl"}.args(tc.opts))
		})
	}
}

// TestReadLinesLongLine: a 1 MiB line neither stops the reader nor loses the
// lines after it (a bufio.Scanner stops at 64 KiB and leaves clusterctl
// blocked on a full pipe).
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
	e, ok := ParseLine(lines[2])
	require.True(t, ok)
	require.Equal(t, Deleting, e.Action)
	require.Equal(t, "no newline at the end", lines[3])

	// A read error is returned, not swallowed.
	err := readLines(io.MultiReader(strings.NewReader("a\n"), errReader{}), func(string) {})
	require.ErrorContains(t, err, "disk on fire")
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// fakeClusterctl writes a shell script that prints script's lines and
// exits with code.
func fakeClusterctl(t *testing.T, out string, code int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clusterctl")
	script := "#!/bin/sh\ncat <<'OUT'\n" + out + "OUT\nexit " + string(rune('0'+code)) + "\n"
	require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
	return path
}

// clusterctl v1.13.6's text output of a one-host move at -v 1.
const binaryOutput = `Performing move...
Discovering Cluster API objects
Moving Cluster API objects Clusters=1
Moving Cluster API objects ClusterClasses=0
Waiting for all resources to be ready to move
Creating objects in the target cluster
Creating Namespace="ns"
Creating BareMetalHost="h-0" Namespace="ns"
Creating BareMetalHost="h-0" Namespace="ns"
Deleting objects from the source cluster
Deleting BareMetalHost="h-0" Namespace="ns"
Resuming the target cluster
`

func TestBinaryMoveEventsAndLogLevels(t *testing.T) {
	bin := fakeClusterctl(t, binaryOutput, 0)
	for _, v := range []int{0, 1, 2, 3} {
		l := &recordLog{verbosity: v}
		var events []Event
		err := Binary{Path: bin}.Move(context.Background(), Options{Namespace: "ns", To: kube.Cluster{Kubeconfig: "k"}, Log: l.logger(),
			Progress: func(e Event) { events = append(events, e) }})
		require.NoError(t, err)
		var got []string
		for _, e := range events {
			if e.Action != "" {
				got = append(got, string(e.Action)+" "+e.Object.String())
			} else {
				got = append(got, e.Phase)
			}
		}
		// Every event whatever the verbosity; the retried create twice
		// (callers count distinct objects).
		require.Equal(t, []string{"Performing move...", "Moving Cluster API objects", "Moving Cluster API objects",
			"Waiting for all resources to be ready to move", "Creating objects in the target cluster",
			"Creating Namespace ns", "Creating BareMetalHost ns/h-0", "Creating BareMetalHost ns/h-0",
			"Deleting objects from the source cluster", "Deleting BareMetalHost ns/h-0", "Resuming the target cluster"}, got)
		switch v {
		case 0, 1:
			require.Empty(t, l.lines, "clusterctl's lines are hidden at -v %d", v)
		case 2:
			require.Len(t, l.lines, 8, "clusterctl's V(0) lines at -v 2: %q", l.lines)
			require.Contains(t, l.lines, `clusterctl "level"=2 "msg"="Discovering Cluster API objects"`)
		case 3:
			require.Len(t, l.lines, 12, "every line at -v 3: %q", l.lines)
			require.Contains(t, l.lines, `clusterctl "level"=3 "msg"="Deleting BareMetalHost=\"h-0\" Namespace=\"ns\""`)
		}
	}
}

func TestBinaryMoveFailureKeepsTheTail(t *testing.T) {
	bin := fakeClusterctl(t, "Performing move...\nError: action failed after 10 attempts: boom\n", 1)
	err := Binary{Path: bin}.Move(context.Background(), Options{Namespace: "ns", To: kube.Cluster{Kubeconfig: "k"}})
	require.ErrorContains(t, err, "exit status 1; last output:\nPerforming move...\nError: action failed after 10 attempts: boom")
}
