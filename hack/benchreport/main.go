// Command benchreport runs the benchmarks behind every performance figure
// the README states, each row's samples interleaved as pairs where the
// figure is a ratio, and writes one generated report (docs/performance.md)
// with the median, the min–max spread, the load average around every
// sample, the machine, the commit and the exact commands. `make
// bench-report` runs it with the test environment set up.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	var o options
	var rowList string
	var list bool
	flag.StringVar(&o.Repo, "repo", ".", "repository root")
	flag.StringVar(&o.Out, "out", "docs/performance.md", "report to write (relative to -repo unless absolute)")
	flag.StringVar(&rowList, "rows", "", "comma-separated row IDs to run (default: every row; -list shows them)")
	flag.BoolVar(&o.Quick, "quick", false, "smoke run: 2 samples per run, too few for any verdict; the report says so")
	flag.IntVar(&o.Count, "count", 0, "samples per run instead of each run's own count (5, or 3 at 1,000 hosts)")
	flag.StringVar(&o.Logs, "logs", "", "folder for the test binaries and every run's output (default: a new temporary folder)")
	flag.BoolVar(&list, "list", false, "list the rows and exit")
	flag.Parse()
	if list {
		for _, r := range rows {
			fmt.Printf("%-18s %-15s %s %s\n", r.ID, r.Part, r.Title, r.Target)
		}
		return
	}
	if rowList != "" {
		o.Rows = strings.Split(rowList, ",")
	}
	// Record the flags that change what runs, for the report's heading.
	flag.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "rows", "quick", "count":
			o.Args = append(o.Args, "-"+f.Name+"="+f.Value.String())
		}
	})
	o.Progress = os.Stderr
	// Ctrl-C cancels the runs (their test binaries get SIGINT and stop
	// their clusters) instead of leaving processes behind.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "bench-report: %v\n", err)
		stop()
		os.Exit(1)
	}
}
