package move

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/pivotcheck/pivotcheck/internal/movelock"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// State is what pivotcheck records in the backup folder about its own
// irreversible steps, so that a --resume knows what it did and what it did
// not do.
type State struct {
	// Namespace is the namespace the move is of.
	Namespace string `json:"namespace"`
	// Source and Target are the clusters of the move (their identity and
	// the kubeconfig and context they were reached through), written
	// before the move's first write; a --resume must be of the same pair.
	Source *ClusterRecord `json:"source,omitempty"`
	Target *ClusterRecord `json:"target,omitempty"`
	// MoveStarted is set right before clusterctl move first runs: from then
	// on, paused source Clusters are clusterctl's doing.
	MoveStarted bool `json:"moveStarted,omitempty"`
	// SourceIronicStopped lists the source Ironic instances ("Kind
	// namespace/name") pivotcheck stops. It is written before the first of
	// them is stopped: after a kill either it is recorded and stopping it
	// again is a no-op, or Ironic still runs and is found again.
	SourceIronicStopped []string `json:"sourceIronicStopped,omitempty"`

	// The records below are what `pivotcheck rollback` needs. Each is
	// written before the write it describes, so after a kill at any point
	// the record covers every change that may have happened.

	// IronicWorkloads says what the Ironic hand-over did to each workload
	// it stopped; its manifest was saved in the backup folder first.
	IronicWorkloads []IronicRecord `json:"ironicWorkloads,omitempty"`
	// Hosts says what the host hand-over added to each host.
	Hosts []HostRecord `json:"hosts,omitempty"`
	// SourcePause lists the source Clusters and ClusterClasses that were
	// not paused before clusterctl ran (clusterctl pauses them).
	SourcePause *PauseRecord `json:"sourcePause,omitempty"`
	// TargetBefore lists the target objects with planned keys that existed
	// before clusterctl ran: any other object of a planned key in the
	// target was created by this move.
	TargetBefore *TargetRecord `json:"targetBefore,omitempty"`
	// SourceDeleteStarted is the commit point: clusterctl began deleting
	// from the source. Recorded before its first delete; from then on
	// only --resume goes on.
	SourceDeleteStarted *time.Time `json:"sourceDeleteStarted,omitempty"`
	// RollbackStarted is when `pivotcheck rollback` first wrote, and
	// RolledBack when it completed: from the first, the folder cannot be
	// resumed any more (the rollback is finished by running it again).
	RollbackStarted *time.Time `json:"rollbackStarted,omitempty"`
	RolledBack      *time.Time `json:"rolledBack,omitempty"`
}

// What the Ironic hand-over did to a workload.
const (
	IronicDeleted = "deleted"
	IronicScaled  = "scaled"
)

// IronicRecord is one stopped Ironic workload.
type IronicRecord struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Action is deleted or scaled (to zero, from Replicas).
	Action   string `json:"action"`
	Replicas *int32 `json:"replicas,omitempty"`
	// Manifest is the saved object, relative to the backup folder.
	Manifest string `json:"manifest"`
}

func (r IronicRecord) String() string { return r.Kind + " " + r.Namespace + "/" + r.Name }

// HostRecord is what the host hand-over added to one BareMetalHost.
type HostRecord struct {
	Name string `json:"name"`
	// AddedPause: pivotcheck added its pause (the host had none).
	AddedPause bool `json:"addedPause,omitempty"`
	// StatusSHA256 is the hash of the status annotation pivotcheck wrote
	// ("" when it wrote none); StatusBefore the value it replaced (nil:
	// the host had no status annotation).
	StatusSHA256 string  `json:"statusSHA256,omitempty"`
	StatusBefore *string `json:"statusBefore,omitempty"`
}

// PauseRecord lists the source Clusters and ClusterClasses (names) that
// were not paused before the move.
type PauseRecord struct {
	Clusters       []string `json:"clusters"`
	ClusterClasses []string `json:"clusterClasses"`
}

// TargetRecord lists the target objects of planned keys before the move.
type TargetRecord struct {
	Objects []TargetObject `json:"objects"`
}

// TargetObject is one target object and its UID.
type TargetObject struct {
	mover.Object
	UID string `json:"uid"`
}

// Backup is a backup folder as read back.
type Backup struct {
	Dir string
	// ObjectsDir is the folder holding the object files (Dir itself for a
	// plain clusterctl folder).
	ObjectsDir string
	// Plan is pivotcheck-plan.json (nil when absent: a plain clusterctl folder).
	Plan []mover.Object
	// State is pivotcheck-state.json (zero when absent).
	State State
	// Objects holds every object of the objects folder, by file.
	Objects []BackupObject
}

// BackupObject is one object of the backup and the file it came from.
type BackupObject struct {
	File   string
	Object mover.Object
	Raw    *unstructured.Unstructured
}

const backupStateFile = "pivotcheck-state.json"

// ReadBackup reads a backup folder written by pivotcheck move (or a plain
// clusterctl --to-directory folder) and checks every file. Errors are one
// sentence naming the file and the field; file contents (Secrets!) are
// never quoted.
func ReadBackup(dir string) (*Backup, error) {
	b := &Backup{Dir: dir}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("backup folder %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("backup folder %s is not a folder", dir)
	}
	objDir := filepath.Join(dir, BackupObjectsDir)
	if st, err := os.Stat(objDir); err != nil || !st.IsDir() {
		// A plain clusterctl --to-directory folder.
		objDir = dir
	} else {
		raw, err := os.ReadFile(filepath.Join(dir, backupPlanFile))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("reading %s in %s: %w", backupPlanFile, dir, err)
		default:
			if b.Plan, err = ParsePlan(raw); err != nil {
				return nil, fmt.Errorf("%s in %s: %w", backupPlanFile, dir, err)
			}
		}
		if b.State, err = readState(dir); err != nil {
			return nil, err
		}
	}
	b.ObjectsDir = objDir
	entries, err := os.ReadDir(objDir)
	if err != nil {
		return nil, fmt.Errorf("reading backup folder %s: %w", objDir, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if objDir == dir {
				continue
			}
			return nil, fmt.Errorf("backup folder %s holds a sub-folder %s: clusterctl --from-directory reads files only", objDir, e.Name())
		}
		if objDir == dir && (e.Name() == backupPlanFile || e.Name() == backupStateFile || e.Name() == backupReadme || movelock.IsLockFile(e.Name())) {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(objDir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading backup file %s: %w", filepath.Join(objDir, e.Name()), err)
		}
		objs, err := ParseBackupFile(e.Name(), raw)
		if err != nil {
			return nil, err
		}
		b.Objects = append(b.Objects, objs...)
	}
	if len(b.Objects) == 0 {
		return nil, fmt.Errorf("backup folder %s holds no object", objDir)
	}
	seen := map[mover.Object]string{}
	for _, o := range b.Objects {
		if f, dup := seen[o.Object]; dup {
			return nil, fmt.Errorf("backup files %s and %s both hold %s", f, o.File, o.Object)
		}
		seen[o.Object] = o.File
	}
	return b, nil
}

// readState reads pivotcheck-state.json of a backup folder (zero when absent).
func readState(dir string) (State, error) {
	var s State
	raw, err := os.ReadFile(filepath.Join(dir, backupStateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("reading %s in %s: %w", backupStateFile, dir, err)
	}
	if s, err = ParseState(raw); err != nil {
		return s, fmt.Errorf("%s in %s: %w", backupStateFile, dir, err)
	}
	return s, nil
}

// ParseState decodes pivotcheck-state.json strictly (pure).
func ParseState(raw []byte) (State, error) {
	var s State
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return State{}, fmt.Errorf("is not pivotcheck's state: %w", err)
	}
	if dec.More() {
		return State{}, errors.New("has data after its JSON object")
	}
	for i, in := range s.SourceIronicStopped {
		if strings.TrimSpace(in) == "" {
			return State{}, fmt.Errorf("sourceIronicStopped[%d] is empty", i)
		}
	}
	for i, r := range s.IronicWorkloads {
		switch {
		case r.Kind == "" || r.Name == "" || r.Namespace == "":
			return State{}, fmt.Errorf("ironicWorkloads[%d] needs kind, namespace and name", i)
		case r.Action != IronicDeleted && r.Action != IronicScaled:
			return State{}, fmt.Errorf("ironicWorkloads[%d] (%s) has action %q: deleted or scaled", i, r, r.Action)
		case r.Action == IronicScaled && r.Replicas == nil:
			return State{}, fmt.Errorf("ironicWorkloads[%d] (%s) was scaled but has no replicas", i, r)
		case r.Manifest == "" || filepath.IsAbs(r.Manifest) || strings.HasPrefix(filepath.Clean(r.Manifest), ".."):
			return State{}, fmt.Errorf("ironicWorkloads[%d] (%s) needs a manifest path inside the backup folder", i, r)
		}
	}
	for i, h := range s.Hosts {
		if h.Name == "" {
			return State{}, fmt.Errorf("hosts[%d] has no name", i)
		}
	}
	if s.TargetBefore != nil {
		for i, o := range s.TargetBefore.Objects {
			if o.Kind == "" || o.Name == "" || o.UID == "" {
				return State{}, fmt.Errorf("targetBefore.objects[%d] needs kind, name and uid", i)
			}
		}
	}
	return s, nil
}

// ParsePlan decodes pivotcheck-plan.json strictly (pure): every entry
// needs a kind and a name.
func ParsePlan(raw []byte) ([]mover.Object, error) {
	var plan []mover.Object
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&plan); err != nil {
		return nil, fmt.Errorf("is not a list of objects: %w", err)
	}
	if dec.More() {
		return nil, errors.New("has data after its JSON list")
	}
	seen := map[mover.Object]bool{}
	for i, o := range plan {
		switch {
		case o.Kind == "":
			return nil, fmt.Errorf("entry %d has no kind", i)
		case o.Name == "":
			return nil, fmt.Errorf("entry %d (%s) has no name", i, o.GroupKind())
		case seen[o]:
			return nil, fmt.Errorf("entry %d (%s) is listed twice", i, o)
		}
		seen[o] = true
	}
	return plan, nil
}

// ParseBackupFile decodes one file of the objects folder (pure): one or
// more YAML or JSON documents, each a namespaced object with apiVersion,
// kind, metadata.name and metadata.namespace.
func ParseBackupFile(name string, raw []byte) ([]BackupObject, error) {
	r := apiyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	var out []BackupObject
	for doc := 1; ; doc++ {
		chunk, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("backup file %s: document %d cannot be read: %w", name, doc, err)
		}
		if len(bytes.TrimSpace(chunk)) == 0 {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal(chunk, &m); err != nil {
			return nil, fmt.Errorf("backup file %s: document %d is not a YAML or JSON object: %s", name, doc, firstLine(err.Error()))
		}
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		field := ""
		apiVersion, _, _ := unstructured.NestedString(m, "apiVersion")
		kind, _, _ := unstructured.NestedString(m, "kind")
		nm, _, _ := unstructured.NestedString(m, "metadata", "name")
		ns, _, _ := unstructured.NestedString(m, "metadata", "namespace")
		switch {
		case apiVersion == "":
			field = "apiVersion"
		case kind == "":
			field = "kind"
		case nm == "":
			field = "metadata.name"
		case ns == "":
			field = "metadata.namespace"
		}
		if field != "" {
			return nil, fmt.Errorf("backup file %s: document %d has no %s (a string is required)", name, doc, field)
		}
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil {
			return nil, fmt.Errorf("backup file %s: document %d has an invalid apiVersion %q", name, doc, apiVersion)
		}
		out = append(out, BackupObject{File: name, Raw: u, Object: mover.Object{Group: gv.Group, Kind: kind, Namespace: ns, Name: nm}})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("backup file %s holds no object", name)
	}
	return out, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// Files of the backup folder beside the objects and the run state.
const (
	backupPlanFile = "pivotcheck-plan.json"
	backupReadme   = "README-pivotcheck.txt"
)
