package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/pivotcheck/pivotcheck/pivotcheck/preflight"
)

func newPreflightCommand() *cobra.Command {
	var (
		flags     pivotFlags
		ironicURL string
		probeSrc  bool
		workloads []string
		skip      []string
	)
	cmd := &cobra.Command{
		Use:   "preflight",
		Short: "Check every pivot prerequisite in the bootstrap and target clusters",
		Long: `preflight checks every prerequisite of a Metal3 pivot against the live source
(bootstrap) and target clusters, read-only, before anything is touched.

Exit codes: 0 ready (no error findings), 1 not ready (at least one error
finding), 2 could not check (unreachable cluster, missing permission, bad flags).

` + checkIDsHelp(),
		Example: `  pivotcheck preflight --kubeconfig bootstrap.kubeconfig --to-kubeconfig target.kubeconfig -n metal3
  pivotcheck preflight --to-kubeconfig target.kubeconfig -n metal3 -o json --ironic-url https://172.22.0.2:6385`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.NoArgs(cmd, args); err != nil {
				return &exitError{code: 2, err: err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := flags.validate(); err != nil {
				return &exitError{code: 2, err: err}
			}
			if err := validateSkip(skip); err != nil {
				return &exitError{code: 2, err: err}
			}
			iw, err := parseWorkloads(workloads)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			cleanup, err := standalone(&flags.source, &flags.target)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			defer cleanup()
			opts := preflight.Options{
				Source: flags.source, Target: flags.target, Namespace: flags.namespace, IronicWorkloads: iw,
				IronicURL: ironicURL, ProbeSourceIronic: probeSrc, Skip: skip, Log: ctrl.Log.WithName("preflight"),
			}
			// A signal (SIGHUP too) ends the checks with "could not check".
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			r, err := preflight.Run(ctx, opts)
			if err != nil {
				// One line: the API server's messages are single-line already.
				return &exitError{code: 2, err: fmt.Errorf("could not check: %s", strings.ReplaceAll(err.Error(), "\n", " "))}
			}
			out := cmd.OutOrStdout()
			if flags.output == "table" || flags.output == "" {
				err = preflight.WriteTable(out, r, colorOK(out))
			} else {
				err = writeStructured(out, flags.output, r)
			}
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if !r.Ready {
				return &exitError{code: 1, err: fmt.Errorf("not ready: %d error finding(s)", r.Errors())}
			}
			return nil
		},
	}
	// Bad flags are "could not check" (exit 2), not "not ready" (exit 1).
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{code: 2, err: err} })
	fl := newFlags(cmd)
	flags.register(cmd)
	fl.StringVar(&ironicURL, "ironic-url", "", "Ironic API URL (the target's VIP, e.g. https://172.22.0.2:6385): expect 401 or 200 from /v1/nodes")
	fl.BoolVar(&probeSrc, "probe-source-ironic", false, "when no Ironic runs in the source cluster, probe the Ironic endpoint its BMO is configured with (3 s timeout): an answer is evidence of an Ironic running outside the cluster")
	bindWorkloads(fl, &workloads)
	bindSkipChecks(fl, &skip)
	return cmd
}

// colorOK: colour only on a terminal, and never with NO_COLOR set.
func colorOK(w any) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// validateSkip refuses a --skip-check ID no check has, for preflight and
// move alike: a typo would otherwise skip nothing, silently.
func validateSkip(ids []string) error {
	for _, id := range ids {
		if !preflight.KnownCheck(id) {
			return fmt.Errorf("unknown check ID %q in --skip-check: `pivotcheck preflight --help` lists them", id)
		}
	}
	return nil
}

// checkIDsHelp lists the check IDs, in report order, for preflight's help:
// --skip-check takes them, and a user with only the binary has no other list.
func checkIDsHelp() string {
	var b strings.Builder
	b.WriteString("Check IDs (for --skip-check; each finding names its own):")
	line := 80 // start a new line before the first ID
	for i, c := range preflight.Catalog {
		word := c.ID
		if i < len(preflight.Catalog)-1 {
			word += ","
		}
		if line+1+len(word) > 78 {
			b.WriteString("\n ")
			line = 1
		}
		b.WriteString(" " + word)
		line += 1 + len(word)
	}
	return b.String()
}
