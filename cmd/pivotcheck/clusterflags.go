package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/kube"
)

// pivotFlags are the connection flags preflight, move and move-back share:
// kubectl's names for the source, and clusterctl move's --to-* for the target.
type pivotFlags struct {
	source    kube.Cluster
	target    kube.Cluster
	namespace string
	output    string
}

func (f *pivotFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	bindTarget(cmd, &f.source, "", "the source (bootstrap) cluster")
	bindTarget(cmd, &f.target, "to-", "the target cluster")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "namespace of the objects to move; default the source context's namespace")
	bindOutput(cmd, &f.output, "table", "table", "json", "yaml")
}

// validate checks flag values and fills the namespace default.
func (f *pivotFlags) validate() error {
	if f.target.Kubeconfig == "" {
		return fmt.Errorf("--to-kubeconfig is required: the target cluster's kubeconfig file")
	}
	if err := checkOutput(f.output, "table", "json", "yaml"); err != nil {
		return err
	}
	if f.namespace == "" {
		ns, err := f.source.Namespace()
		if err != nil {
			return err
		}
		f.namespace = ns
	}
	return nil
}

// flagAliases are the other names each option keeps: kubectl's --context
// next to clusterctl's --kubeconfig-context, and the webhook's old --ironic.
// They are accepted everywhere and shown nowhere.
var flagAliases = map[string]string{
	"context":    "kubeconfig-context",
	"to-context": "to-kubeconfig-context",
	"ironic":     "ironic-workload",
}

func normalizeAliases(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	if to, ok := flagAliases[name]; ok {
		name = to
	}
	return pflag.NormalizedName(name)
}

// newFlags prepares cmd's flag set: aliases resolve to one name, so the
// resume command and errors always use the canonical one.
func newFlags(cmd *cobra.Command) *pflag.FlagSet {
	cmd.Flags().SetNormalizeFunc(normalizeAliases)
	return cmd.Flags()
}

// bindTarget registers one cluster's connection flags, the way kubectl and
// clusterctl spell them: --<prefix>kubeconfig, --<prefix>kubeconfig-context
// (alias --<prefix>context) and client-go's override flags (--cluster,
// --user, --as, --as-group, --server, --token, --request-timeout...), all
// resolved by client-go's loading rules, as kubectl does. prefix is "" for
// the source (or the only cluster) and "to-" for the target; who names the
// cluster in the help.
func bindTarget(cmd *cobra.Command, t *kube.Cluster, prefix, who string) {
	fl := cmd.Flags()
	usage := "kubeconfig of " + who + "; default $KUBECONFIG, ~/.kube/config or the in-cluster config"
	if prefix != "" {
		usage = "kubeconfig of " + who + " (required)"
	}
	fl.StringVar(&t.Kubeconfig, prefix+"kubeconfig", "", usage)
	fl.StringVar(&t.Context, prefix+"kubeconfig-context", "", "context in --"+prefix+"kubeconfig to use (alias --"+prefix+"context)")
	_ = cmd.RegisterFlagCompletionFunc(prefix+"kubeconfig-context", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return contextNames(t.Kubeconfig), cobra.ShellCompDirectiveNoFileComp
	})
	t.Overrides = &clientcmd.ConfigOverrides{}
	names := clientcmd.RecommendedConfigOverrideFlags(prefix)
	names.CurrentContext.LongName = ""                 // --kubeconfig-context above
	names.ContextOverrideFlags.Namespace.LongName = "" // -n is pivotcheck's own
	before := map[string]bool{}
	fl.VisitAll(func(f *pflag.Flag) { before[f.Name] = true })
	clientcmd.BindOverrideFlags(t.Overrides, fl, names)
	if prefix != "" {
		fl.VisitAll(func(f *pflag.Flag) {
			if !before[f.Name] {
				f.Usage += " (" + who + ")"
			}
		})
	}
}

// contextNames lists the contexts of the kubeconfig kubectl's rules find
// for path, for shell completion; nothing on any error.
func contextNames(path string) []string {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	cfg, err := rules.Load()
	if err != nil {
		return nil
	}
	var out []string
	for name := range cfg.Contexts {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// resolvedPrefix starts the name of the temporary folder of a run's
// resolved kubeconfigs; the run's pid follows, then a random suffix.
const resolvedPrefix = "pivotcheck-kubeconfig-"

// standalone hands clusterctl, which takes only a kubeconfig file and a
// context, the same view of the clusters as pivotcheck's own clients: with
// override flags set, each target is rewritten to a resolved kubeconfig in
// a private temporary folder, which the returned func removes. A run
// killed before that (a second Ctrl-C, SIGKILL) leaves its folder, with
// credentials inlined: every later run removes those of dead runs first.
func standalone(ts ...*kube.Cluster) (func(), error) {
	sweepResolved(os.TempDir())
	need := slices.ContainsFunc(ts, func(t *kube.Cluster) bool { return t.HasOverrides() })
	if !need {
		return func() {}, nil
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", resolvedPrefix, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("temporary folder for the resolved kubeconfigs: %w", err)
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	for i, t := range ts {
		r, err := t.Standalone(dir, fmt.Sprintf("cluster-%d.kubeconfig", i))
		if err != nil {
			cleanup()
			return nil, err
		}
		*t = r
	}
	return cleanup, nil
}

// sweepResolved removes, in tmp, the resolved-kubeconfig folders of runs
// whose process is gone (best effort: what cannot be read or removed, such
// as another user's folder, is left alone).
func sweepResolved(tmp string) {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), resolvedPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(tmp, e.Name()))
	}
}

// processAlive: signal 0 reaches the process, or it exists but belongs to
// another user.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// bindOutput registers -o with its formats (the first is the default when
// def is empty) and their completion.
func bindOutput(cmd *cobra.Command, out *string, def string, formats ...string) {
	cmd.Flags().StringVarP(out, "output", "o", def, "output format: "+strings.Join(formats, ", "))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

func checkOutput(out string, formats ...string) error {
	if !slices.Contains(formats, out) {
		return fmt.Errorf("unknown output format %q for -o: use %s", out, strings.Join(formats, ", "))
	}
	return nil
}

// bindWorkloads registers --ironic-workload (alias --ironic), one parsing
// for every command: comma-separated and repeatable.
func bindWorkloads(fl *pflag.FlagSet, v *[]string) {
	fl.StringSliceVar(v, "ironic-workload", nil, "extra Ironic Deployment/DaemonSet as namespace/name (namespace may be *; comma-separated or repeated), added to the defaults "+defaultWorkloads())
}

// parseWorkloads is the default Ironic workloads plus the ones named.
func parseWorkloads(values []string) ([]ironic.Workload, error) {
	out := slices.Clone(ironic.DefaultWorkloads)
	for _, v := range values {
		w, err := ironic.ParseWorkload(v)
		if err != nil {
			return nil, fmt.Errorf("--ironic-workload: %w", err)
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out, nil
}

func defaultWorkloads() string {
	parts := make([]string, len(ironic.DefaultWorkloads))
	for i, w := range ironic.DefaultWorkloads {
		parts[i] = w.String()
	}
	return strings.Join(parts, ",")
}

// bindSkipChecks registers --skip-check, comma-separated and repeatable
// wherever preflight's checks run.
func bindSkipChecks(fl *pflag.FlagSet, v *[]string) {
	fl.StringSliceVar(v, "skip-check", nil, "preflight check IDs whose findings are ignored (comma-separated or repeated; there is no blanket force)")
}
