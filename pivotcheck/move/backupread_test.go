package move

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/mover"
)

func TestParseBackupFile(t *testing.T) {
	good := `{"apiVersion":"ipam.metal3.io/v1alpha1","kind":"IPAddress","metadata":{"name":"a","namespace":"ns"}}`
	objs, err := ParseBackupFile("f", []byte(good))
	require.NoError(t, err)
	require.Equal(t, mover.Object{Group: "ipam.metal3.io", Kind: "IPAddress", Namespace: "ns", Name: "a"}, objs[0].Object)
	two := "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\ndata: {password: c2VjcmV0}\n---\n" + good
	objs, err = ParseBackupFile("f", []byte(two))
	require.NoError(t, err)
	require.Len(t, objs, 2)

	for _, tc := range []struct{ in, want string }{
		{in: `{"kind":"Secret","metadata":{"name":"s","namespace":"ns"}}`, want: "backup file f: document 1 has no apiVersion"},
		{in: `{"apiVersion":"v1","metadata":{"name":"s","namespace":"ns"}}`, want: "document 1 has no kind"},
		{in: `{"apiVersion":"v1","kind":"Secret","metadata":{"namespace":"ns"}}`, want: "document 1 has no metadata.name"},
		{in: `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}`, want: "document 1 has no metadata.namespace"},
		{in: `{"apiVersion":"v1","kind":"Secret","metadata":{"name":7,"namespace":"ns"}}`, want: "has no metadata.name (a string is required)"},
		{in: `{"apiVersion":"a/b/c","kind":"Secret","metadata":{"name":"s","namespace":"ns"}}`, want: "invalid apiVersion"},
		{in: "- just\n- a list\n", want: "document 1 is not a YAML or JSON object"},
		{in: "", want: "backup file f holds no object"},
		{in: "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\ndata: {password: c2VjcmV0}\n---\nkind: [", want: "document 2 is not a YAML or JSON object"},
	} {
		_, err := ParseBackupFile("f", []byte(tc.in))
		require.ErrorContains(t, err, tc.want, tc.in)
		require.NotContains(t, err.Error(), "c2VjcmV0", "an error must not quote Secret data")
		require.NotContains(t, err.Error(), "\n", "one sentence")
	}
}

func TestParsePlanAndState(t *testing.T) {
	plan, err := ParsePlan([]byte(`[{"group":"metal3.io","kind":"BareMetalHost","namespace":"ns","name":"h"}]`))
	require.NoError(t, err)
	require.Equal(t, "BareMetalHost.metal3.io ns/h", plan[0].String())
	for in, want := range map[string]string{
		`{}`:                  "is not a list of objects",
		`[{"name":"h"}]`:      "entry 0 has no kind",
		`[{"kind":"Secret"}]`: "entry 0 (Secret) has no name",
		`[{"kind":"Secret","name":"s","colour":"red"}]`:               `unknown field "colour"`,
		`[{"kind":"Secret","name":"s"},{"kind":"Secret","name":"s"}]`: "entry 1 (Secret s) is listed twice",
		`[] []`: "has data after its JSON list",
	} {
		_, err := ParsePlan([]byte(in))
		require.ErrorContains(t, err, want, in)
	}
	st, err := ParseState([]byte(`{"namespace":"ns","sourceIronicStopped":["Deployment bmo/ironic"]}`))
	require.NoError(t, err)
	require.Equal(t, []string{"Deployment bmo/ironic"}, st.SourceIronicStopped)
	_, err = ParseState([]byte(`{"namespace":"ns","sourceIronicStopped":[""]}`))
	require.ErrorContains(t, err, "sourceIronicStopped[0] is empty")
	_, err = ParseState([]byte(`{"namespace":"ns","ironicGone":true}`))
	require.ErrorContains(t, err, `unknown field "ironicGone"`)
}

// TestReadBackupRefusesDamage: a damaged folder is refused with the file
// named, before a restore creates anything.
func TestReadBackupRefusesDamage(t *testing.T) {
	dir := t.TempDir()
	obj := filepath.Join(dir, BackupObjectsDir)
	require.NoError(t, os.MkdirAll(obj, 0o700))
	write := func(name, data string) {
		require.NoError(t, os.WriteFile(filepath.Join(obj, name), []byte(data), 0o600))
	}
	write("a.yaml", `{"apiVersion":"ipam.metal3.io/v1alpha1","kind":"IPAddress","metadata":{"name":"a","namespace":"ns"}}`)
	write("b.yaml", `{"apiVersion":"ipam.cluster.x-k8s.io/v1beta2","kind":"IPAddress","metadata":{"name":"a","namespace":"ns"}}`)
	b, err := ReadBackup(dir)
	require.NoError(t, err)
	require.Len(t, b.Objects, 2, "same-named objects of two groups are two objects")

	write("c.yaml", `{"apiVersion":"ipam.metal3.io/v1alpha1","kind":"IPAddress","metadata":{"name":"a","namespace":"ns"}}`)
	_, err = ReadBackup(dir)
	require.ErrorContains(t, err, "backup files a.yaml and c.yaml both hold IPAddress.ipam.metal3.io ns/a")
	require.NoError(t, os.Remove(filepath.Join(obj, "c.yaml")))

	require.NoError(t, os.WriteFile(filepath.Join(dir, backupPlanFile), []byte(`[{"kind":""}]`), 0o600))
	_, err = ReadBackup(dir)
	require.ErrorContains(t, err, "pivotcheck-plan.json in "+dir+": entry 0 has no kind")

	_, err = ReadBackup(filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, "backup folder")
	_, err = ReadBackup(t.TempDir())
	require.ErrorContains(t, err, "holds no object")
}

// FuzzParseBackupFile: any bytes give objects with every required field, or
// a one-line error; never a panic.
func FuzzParseBackupFile(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"ns"}}`))
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\n---\n---\nkind: x\n"))
	f.Add([]byte("{"))
	f.Add([]byte("metadata: {name: [1, 2]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := ParseBackupFile("f", data)
		if err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "backup file f"), err.Error())
			return
		}
		require.NotEmpty(t, objs)
		for _, o := range objs {
			require.NotEmpty(t, o.Object.Kind)
			require.NotEmpty(t, o.Object.Name)
			require.NotEmpty(t, o.Object.Namespace)
		}
	})
}

// FuzzParsePlan: the plan and state files of a backup folder.
func FuzzParsePlan(f *testing.F) {
	f.Add([]byte(`[{"group":"metal3.io","kind":"BareMetalHost","namespace":"ns","name":"h"}]`))
	f.Add([]byte(`{"namespace":"ns","sourceIronicStopped":["Deployment a/b"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if plan, err := ParsePlan(data); err == nil {
			for _, o := range plan {
				require.NotEmpty(t, o.Kind)
				require.NotEmpty(t, o.Name)
			}
		}
		if st, err := ParseState(data); err == nil {
			for _, s := range st.SourceIronicStopped {
				require.NotEmpty(t, strings.TrimSpace(s))
			}
		}
	})
}
