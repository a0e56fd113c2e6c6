package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/yaml"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/pivotcheck/move"
)

// movePreflight builds step 1 of the driver from the run's options: an
// adapter over pivotcheck/preflight.Run (set in move_preflight.go) that
// returns the error findings (Severity "error", not skipped) as blocking
// lines "CHECK Kind ns/name: message" and warnings likewise. While it is
// nil the driver reports preflight as skipped with a warning.
var movePreflight func(opts move.Options) move.PreflightFunc

// moveRecheckOwners builds the owner-chain re-check run after --fix-owners.
var moveRecheckOwners func(opts move.Options) move.PreflightFunc

type moveFlags struct {
	pivotFlags
	skipChecks        []string
	ironicHandover    string
	confirmExternal   bool
	probeSrcIronic    bool
	ironicWorkloads   []string
	ironicGoneTimeout time.Duration
	targetIronicWait  time.Duration
	fixOwners         bool
	backupDir         string
	dryRun            bool
	resume            bool
	clusterctl        string
	waitForHosts      bool
	hostTimeout       time.Duration
	hostSettle        time.Duration
	deleteSourceBMO   bool
	ironicURL         string
	takeOverLock      bool
	// pins are the resolved values the resume command repeats.
	pins []pin
}

func (f *moveFlags) register(cmd *cobra.Command) {
	fl := newFlags(cmd)
	f.pivotFlags.register(cmd)
	bindSkipChecks(fl, &f.skipChecks)
	fl.StringVar(&f.ironicHandover, "ironic-handover", move.HandoverDelete, "how to stop the source Ironic: delete, scale-to-zero, external (runs outside the cluster, stopped by you) or already-removed")
	fl.BoolVar(&f.confirmExternal, "confirm-external-ironic-stopped", false, "with --ironic-handover=external: confirm the Ironic outside the source cluster is stopped")
	fl.BoolVar(&f.probeSrcIronic, "probe-source-ironic", false, "when no Ironic runs in the source cluster, probe the Ironic endpoint its BMO is configured with (3 s): an answer refuses the move")
	bindWorkloads(fl, &f.ironicWorkloads)
	fl.DurationVar(&f.ironicGoneTimeout, "ironic-stop-timeout", 5*time.Minute, "how long to wait for the source Ironic pods to go")
	fl.DurationVar(&f.targetIronicWait, "target-ironic-timeout", 10*time.Minute, "how long to wait for the target's Ironic to be available")
	fl.BoolVar(&f.fixOwners, "fix-owners", false, "give objects move would leave behind real ownerReferences (Secrets of hosts, Metal3DataTemplates, IPPools) or the move label")
	fl.StringVar(&f.backupDir, "backup-dir", "", "where to save every moved object (default ./pivotcheck-backup-<UTC time>); it holds credentials")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan and the exact object list; change nothing")
	fl.BoolVar(&f.resume, "resume", false, "resume a failed move (use the command printed by the failure)")
	fl.StringVar(&f.clusterctl, "clusterctl", "", "path of a clusterctl binary to run instead of the built-in clusterctl library (its version: pivotcheck version)")
	fl.BoolVar(&f.waitForHosts, "wait-for-hosts", false, "after the move, wait until the target's BMO adopted every host (status restored, re-registered with the target's Ironic, operationalStatus OK); with --ironic-url, also until each node is active in that Ironic by adoption alone")
	fl.StringVar(&f.ironicURL, "ironic-url", "", "the target's Ironic API (its VIP, e.g. https://172.22.0.2:6385): GET /v1/nodes must answer 401 or 200 after the Ironic hand-over and again after the move, before hosts are unpaused; with --wait-for-hosts its nodes are read as evidence of adoption (without auth)")
	fl.DurationVar(&f.hostTimeout, "host-timeout", 15*time.Minute, "with --wait-for-hosts: how long to wait")
	fl.DurationVar(&f.hostSettle, "host-settle", move.DefaultHostSettle, "with --wait-for-hosts: how long a host must keep looking adopted before it counts (BMO reports a failed adoption some seconds after it saves the status)")
	fl.BoolVar(&f.deleteSourceBMO, "delete-source-bmo", false, "delete the source BMO Deployment after a verified move")
	fl.BoolVar(&f.takeOverLock, "take-over-lock", false, "take over the pivotcheck-move Lease of a run that stopped renewing it (expired); a live one is never taken")
}

func newMoveCommand() *cobra.Command {
	return newMoveLikeCommand("move", false)
}

func newMoveLikeCommand(name string, back bool) *cobra.Command {
	f := &moveFlags{}
	short := "Move Cluster API and Metal3 objects to the target cluster, safely"
	if back {
		short = "Move Cluster API and Metal3 objects from the target back to the bootstrap cluster"
	}
	cmd := &cobra.Command{
		Use:   name,
		Short: short,
		Long: short + `.

Phases: lock (refuses, before anything is written, a source and target
that are one cluster however reached, a --resume without an earlier
attempt's state for the same clusters and namespace, and a second run: a
pivotcheck-move Lease in both clusters and a lock on the backup folder;
--take-over-lock takes over an expired Lease), preflight (on --resume too),
checks (read-only: every host hand-over patch in a
server-side dry run, the Ironic hand-over decided), owner-repair
(--fix-owners), host-handover (status annotation + pause pivotcheck.dev/move
on every BareMetalHost), backup, ironic-handover, ironic-api (--ironic-url),
move (clusterctl), verify (+ --wait-for-hosts: every host adopted by the
target's BMO), then the report. Everything that can refuse runs before the
source Ironic is stopped. Exit 0 only when the move completed and was
verified. On failure the exact --resume command is printed; SIGINT, SIGTERM
and SIGHUP (a dropped SSH session) end the run within seconds with the same
report.` + backNote(back),
		Example: moveExample(name),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			// Resolved before the override flags are folded into temporary
			// kubeconfigs: the resume command names the operator's files.
			f.pins = f.resolvedPins()
			cleanup, err := standalone(&f.source, &f.target)
			if err != nil {
				return err
			}
			defer cleanup()
			opts, err := f.options(cmd, name, back)
			if err != nil {
				return err
			}
			// Ctrl-C, SIGTERM or SIGHUP cancels the context: clusterctl
			// stops before its next write, and the failure report says what
			// each side holds and how to resume. A second signal ends the
			// process at once (signalContext).
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			rep, runErr := move.Run(ctx, opts)
			if err := writeMoveReport(cmd.OutOrStdout(), f.output, rep); err != nil {
				return err
			}
			if runErr != nil {
				return &exitError{code: 1, err: fmt.Errorf("%s: %w", name, runErr)}
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// moveExample shows the usual invocations; move-back takes the same flags.
func moveExample(name string) string {
	return `  # see the plan and the exact object list, change nothing
  pivotcheck ` + name + ` --kubeconfig bootstrap.kubeconfig --to-kubeconfig target.kubeconfig -n metal3 --dry-run
  # the pivot, repairing owners move would leave behind, waiting for the target BMO
  pivotcheck ` + name + ` --kubeconfig bootstrap.kubeconfig --to-kubeconfig target.kubeconfig -n metal3 --fix-owners --wait-for-hosts
  # after a failure: the exact command is printed; it looks like
  pivotcheck ` + name + ` --kubeconfig bootstrap.kubeconfig --to-kubeconfig target.kubeconfig -n metal3 --backup-dir ./pivotcheck-backup-... --resume`
}

func backNote(back bool) string {
	if !back {
		return ""
	}
	return `

move-back takes the same flags as move (--kubeconfig is the bootstrap
cluster, --to-kubeconfig the target) and moves in the other direction, as
Metal3's CI does after a pivot.`
}

func (f *moveFlags) options(cmd *cobra.Command, name string, back bool) (move.Options, error) {
	workloads, err := parseWorkloads(f.ironicWorkloads)
	if err != nil {
		return move.Options{}, err
	}
	if err := (move.Options{IronicHandover: f.ironicHandover, ConfirmExternalIronicStopped: f.confirmExternal}).Validate(); err != nil {
		return move.Options{}, err
	}
	if f.backupDir == "" {
		f.backupDir = "pivotcheck-backup-" + time.Now().UTC().Format("20060102T150405Z")
	}
	abs, err := filepath.Abs(f.backupDir)
	if err != nil {
		return move.Options{}, fmt.Errorf("backup folder %s: %w", f.backupDir, err)
	}
	f.backupDir = abs
	src, dst := f.source, f.target
	if back {
		src, dst = dst, src
	}
	out := cmd.ErrOrStderr()
	opts := move.Options{
		Source: src, Target: dst, Namespace: f.namespace, SkipChecks: f.skipChecks,
		IronicHandover: f.ironicHandover, ConfirmExternalIronicStopped: f.confirmExternal, IronicWorkloads: workloads,
		ProbeSourceIronic: f.probeSrcIronic,
		IronicGoneTimeout: f.ironicGoneTimeout, TargetIronicTimeout: f.targetIronicWait,
		FixOwners: f.fixOwners, BackupDir: f.backupDir, DryRun: f.dryRun, Resume: f.resume,
		Clusterctl: f.clusterctl, WaitForHosts: f.waitForHosts, HostTimeout: f.hostTimeout, HostSettle: f.hostSettle,
		DeleteSourceBMO: f.deleteSourceBMO, IronicURL: f.ironicURL, TakeOverLock: f.takeOverLock,
		Out: out, Terminal: isTerminal(out),
		Log:           ctrl.Log.WithName(name),
		ResumeCommand: resumeCommand(cmd, name, f.backupDir, f.pins...),
	}
	if movePreflight != nil {
		opts.Preflight = movePreflight(opts)
	}
	if moveRecheckOwners != nil && opts.FixOwners {
		opts.RecheckOwners = moveRecheckOwners(opts)
	}
	return opts, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// pin is a flag value the resume command repeats whether or not the
// operator set the flag: what a default, $KUBECONFIG or the current
// context resolved to when the move started.
type pin struct{ flag, value string }

// resolvedPins pins the kubeconfig files and contexts of both clusters
// (as kubectl's rules resolve them now), the namespace, and the flags
// whose defaults shape the move. A kubeconfig that is a merge of several
// files ($KUBECONFIG=a:b) cannot be one --kubeconfig: only its context is pinned.
func (f *moveFlags) resolvedPins() []pin {
	var pins []pin
	for _, s := range []struct {
		prefix string
		t      kube.Cluster
	}{{"", f.source}, {"to-", f.target}} {
		r, err := s.t.Resolve()
		if err != nil {
			continue // the run reports the unreadable kubeconfig itself
		}
		if r.Kubeconfig != "" {
			pins = append(pins, pin{s.prefix + "kubeconfig", r.Kubeconfig})
		}
		if r.Context != "" {
			pins = append(pins, pin{s.prefix + "kubeconfig-context", r.Context})
		}
	}
	return append(pins, f.pinsOfDefaults()...)
}

// pinsOfDefaults pins the namespace and the flags whose defaults shape the move.
func (f *moveFlags) pinsOfDefaults() []pin {
	pins := []pin{{"namespace", f.namespace}, {"ironic-handover", f.ironicHandover},
		{"ironic-stop-timeout", f.ironicGoneTimeout.String()}, {"target-ironic-timeout", f.targetIronicWait.String()}}
	if f.waitForHosts {
		pins = append(pins, pin{"host-timeout", f.hostTimeout.String()}, pin{"host-settle", f.hostSettle.String()})
	}
	return pins
}

// resumeCommand rebuilds this command line with --resume and the backup
// folder pinned, so the operator can paste it, with every pins value in
// place of (or added to) the flags given. Tokens and passwords given as
// flags are not repeated: the command is printed and saved in reports.
func resumeCommand(cmd *cobra.Command, name, backupDir string, pins ...pin) string {
	parts := []string{"pivotcheck", name}
	pinned := map[string]string{}
	for _, p := range pins {
		pinned[p.flag] = p.value
	}
	used := map[string]bool{}
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		switch fl.Name {
		case "resume", "backup-dir", "dry-run", "take-over-lock":
			return
		}
		if v, ok := pinned[fl.Name]; ok {
			used[fl.Name] = true
			parts = append(parts, "--"+fl.Name+"="+shellQuote(v))
			return
		}
		if strings.HasSuffix(fl.Name, "token") || strings.HasSuffix(fl.Name, "password") {
			parts = append(parts, "--"+fl.Name+"=REDACTED")
			return
		}
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				parts = append(parts, "--"+fl.Name+"="+shellQuote(v))
			}
			return
		}
		parts = append(parts, "--"+fl.Name+"="+shellQuote(fl.Value.String()))
	})
	for _, p := range pins {
		if !used[p.flag] {
			parts = append(parts, "--"+p.flag+"="+shellQuote(p.value))
		}
	}
	parts = append(parts, "--backup-dir="+shellQuote(backupDir), "--resume")
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, needsShellQuote) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// needsShellQuote: any rune outside the set a POSIX shell leaves alone in a
// word.
func needsShellQuote(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	default:
		return !strings.ContainsRune("/.-_:=,", r)
	}
}

func writeMoveReport(w io.Writer, format string, rep *move.Report) error {
	if format == "table" {
		rep.WriteTable(w)
		return nil
	}
	return writeStructured(w, format, rep)
}

// writeStructured writes v as indented JSON or as YAML (-o json|yaml),
// with the same field names.
func writeStructured(w io.Writer, format string, v any) error {
	var raw []byte
	var err error
	switch format {
	case "json":
		raw, err = json.MarshalIndent(v, "", "  ")
		raw = append(raw, '\n')
	case "yaml":
		raw, err = yaml.Marshal(v)
	default:
		return fmt.Errorf("unknown output format %q for -o", format)
	}
	if err != nil {
		return fmt.Errorf("encoding the %s output: %w", format, err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("writing the %s output: %w", format, err)
	}
	return nil
}
