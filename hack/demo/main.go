package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var o Options
	flag.StringVar(&o.Repo, "repo", ".", "repository root (config/ and the kustomize sample are read from it)")
	flag.StringVar(&o.Pivotcheck, "pivotcheck", "bin/pivotcheck", "pivotcheck binary the demo runs as an operator would")
	flag.StringVar(&o.Kustomize, "kustomize", "kustomize", "standalone kustomize binary")
	flag.StringVar(&o.Clusterctl, "clusterctl", "clusterctl", "standalone clusterctl binary (the plain move of step 7)")
	flag.Parse()
	o.Out = os.Stdout
	// Ctrl-C cancels the story instead of killing it, so Run's deferred
	// stops still shut down every process it started.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Run prints the story and ends it with the two summary lines.
	if _, err := Run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "\ndemo failed: %v\n", err)
		stop()
		os.Exit(1)
	}
}

// step prints a numbered heading so the output reads as a story.
func step(w io.Writer, n int, title string) {
	fmt.Fprintf(w, "\n━━━ Step %d: %s\n", n, title)
}
