package main

import "time"

// Run is one process the report starts: a package's benchmark(s), run
// Count times in one test binary (-test.count, -test.benchtime 1x, so each
// count is one sample), or a command timed Count times.
type Run struct {
	ID string
	// Pkg and Bench: the package (relative to the repository) and the
	// -test.bench pattern.
	Pkg, Bench string
	// Command, when set, is timed as a whole (wall clock) once per sample,
	// from the repository root, instead of a benchmark.
	Command []string
	Count   int
	Timeout time.Duration
	// About says what one sample is, for the report.
	About string
}

// Row is one line of the performance table: one metric of a Run against
// its target.
type Row struct {
	ID, Part, Title string
	Run             string
	// Metric is the b.ReportMetric unit read from each sample ("" for a
	// Command's wall-clock seconds).
	Metric string
	// Worst: when the Run has several benchmarks (sub-benchmarks), the
	// row's sample i is the worst of their samples i.
	Worst  bool
	Target Target
	// MinSamples is how many samples a verdict needs.
	MinSamples int
	// A and B name the metrics of the two sides of a pair (baseline, then
	// the measured side), shown next to each sample.
	A, B string
}

const (
	hour   = time.Hour
	minute = time.Minute
)

// runs lists every process of a full report, in the order they run: the
// cheap ones first, the long moves and the demo last.
var runs = []Run{
	{ID: "guard-decision", Pkg: "./webhook", Bench: "^BenchmarkTargetGuardDecision$", Count: 5, Timeout: 30 * minute,
		About: "10,000 Handle calls of each of the three outcomes (consumed host with status, consumed without, spare without); p99 per outcome"},
	{ID: "fn", Pkg: "./fn", Bench: "^BenchmarkFn$", Count: 5, Timeout: hour,
		About: "the function and an identity kyaml function on the same 10,000- and 20,000-resource inputs, 5 interleaved rounds, best of each"},
	{ID: "webhook-deny", Pkg: "./webhook", Bench: "^BenchmarkHandlerDenyPath5000Hosts$", Count: 5, Timeout: hour,
		About: "5,000 Handle calls on the deny path; the cluster holds 5,000 hosts, 2,000 Pods, 220 workloads and 400 ConfigMaps"},
	{ID: "webhook-allow", Pkg: "./webhook", Bench: "^BenchmarkHandlerAllowPath5000Hosts$", Count: 5, Timeout: hour,
		About: "50 allowed pauses confirmed live, then 5,000 delete-for-move writes answered from the cache; same cluster as the deny path"},
	{ID: "webhook-dryrun", Pkg: "./webhook", Bench: "^BenchmarkPauseDryRunThroughAPIServer$", Count: 5, Timeout: hour,
		About: "500 + 500 interleaved dry-run pause patches through kube-apiserver, with and without the webhook"},
	{ID: "webhook-load", Pkg: "./webhook", Bench: "^BenchmarkSustainedLoad$", Count: 5, Timeout: hour,
		About: "6,000 dry-run pause patches offered at 200/s for 30 s from 64 clients; fails on any error or request started > 1 s late"},
	{ID: "preflight", Pkg: "./pivotcheck/preflight", Bench: "^BenchmarkPreflight$/^1000Hosts$", Count: 5, Timeout: hour,
		About: "preflight, dry-run discovery, dry-run discovery, preflight (ABBA) on 1,000 hosts (5,014 objects); ratio of the means"},
	{ID: "guard-move", Pkg: "./webhook", Bench: "^BenchmarkMove100MachinesTargetGuard$", Count: 5, Timeout: 2 * hour,
		About: "one pair: clusterctl move of 100 machines into the guarded target, without and through the guard; order alternating"},
	{ID: "move", Pkg: "./pivotcheck/move", Bench: "^BenchmarkMove100Machines$", Count: 5, Timeout: 2 * hour,
		About: "one pair: bare clusterctl Move and `pivotcheck move` (real preflight) of 100 machines (1,314 objects); order alternating"},
	{ID: "move-webhook-100", Pkg: "./webhook", Bench: "^BenchmarkMoveWithWebhook$/^100Machines$", Count: 5, Timeout: 2 * hour,
		About: "one pair: bare clusterctl Move the webhook is not called for, and `pivotcheck move` with the webhook serving, 100 machines; order alternating"},
	{ID: "lab", Pkg: "./internal/test/lab", Bench: "^BenchmarkLabPair$/^test-mode$", Count: 5, Timeout: hour,
		About: "a bootstrap + target pair with every lab controller started from nothing to ready (warm binaries)"},
	{ID: "lab-ironic", Pkg: "./internal/test/lab", Bench: "^BenchmarkLabPair$/^ironic$", Count: 5, Timeout: hour,
		About: "the same pair with each cluster's own real Ironic, BMC emulator and image server"},
	{ID: "move-webhook-1000", Pkg: "./webhook", Bench: "^BenchmarkMoveWithWebhook$/^1000Hosts$", Count: 3, Timeout: 4 * hour,
		About: "one pair as at 100 machines, with 200 machines and 800 spare hosts (5,014 objects); order alternating"},
	{ID: "demo", Command: []string{"make", "demo"}, Count: 5, Timeout: hour,
		About: "`make demo`, warm caches, wall clock of the whole command"},
}

// rows is the performance table, in the README's order.
var rows = []Row{
	{ID: "fn-ratio", Part: "fn", Title: "time on 10,000 resources / an identity kyaml function's", Run: "fn", Metric: "fn/identity",
		Target: Target{Op: AtMost, Value: 1.3, Unit: "×"}, MinSamples: 5, A: "identity-10k-s", B: "fn-10k-s"},
	{ID: "fn-rate", Part: "fn", Title: "resources per second (10,000 resources)", Run: "fn", Metric: "resources/s",
		Target: Target{Op: AtLeast, Value: 5000, Unit: "/s"}, MinSamples: 5},
	{ID: "fn-scaling", Part: "fn", Title: "time on 20,000 resources / on 10,000", Run: "fn", Metric: "20k/10k",
		Target: Target{Op: AtMost, Value: 2.2, Unit: "×"}, MinSamples: 5},
	{ID: "fn-memory", Part: "fn", Title: "peak live heap per resource (10,000 resources)", Run: "fn", Metric: "peak-heap-B/resource",
		Target: Target{Op: AtMost, Value: 60000, Unit: "B"}, MinSamples: 5},
	{ID: "webhook-deny", Part: "webhook", Title: "deny path, 5,000 hosts in a realistic cluster: handler p99", Run: "webhook-deny", Metric: "p99-ms",
		Target: Target{Op: AtMost, Value: 1, Unit: "ms"}, MinSamples: 5},
	{ID: "webhook-allow", Part: "webhook", Title: "allow path a move repeats (delete-for-move, from the cache), same cluster: handler p99", Run: "webhook-allow", Metric: "p99-ms",
		Target: Target{Op: AtMost, Value: 2, Unit: "ms"}, MinSamples: 5},
	{ID: "webhook-pause", Part: "webhook", Title: "pause confirmed live, same cluster: handler p99", Run: "webhook-allow", Metric: "pause-p99-ms",
		Target: Target{Op: AtMost, Value: 250, Unit: "ms"}, MinSamples: 5},
	{ID: "webhook-dryrun", Part: "webhook", Title: "dry-run pause through the API server: p99 overhead", Run: "webhook-dryrun", Metric: "overhead-p99-ms",
		Target: Target{Op: AtMost, Value: 20, Unit: "ms"}, MinSamples: 5, A: "baseline-p99-ms", B: "webhook-p99-ms"},
	{ID: "webhook-load", Part: "webhook", Title: "sustained load for 30 s, zero errors: requests per second on schedule", Run: "webhook-load", Metric: "on-schedule-req/s",
		Target: Target{Op: AtLeast, Value: 200, Unit: "/s"}, MinSamples: 5},
	{ID: "preflight", Part: "preflight", Title: "1,000 hosts: preflight / clusterctl's dry-run discovery alone", Run: "preflight", Metric: "ratio",
		Target: Target{Op: AtMost, Value: 1.15, Unit: "×"}, MinSamples: 5, A: "s/dry-run", B: "s/preflight"},
	{ID: "guard-decision", Part: "target guard", Title: "decision p99 (worst of the three outcomes)", Run: "guard-decision", Metric: "p99-ms", Worst: true,
		Target: Target{Op: AtMost, Value: 1, Unit: "ms"}, MinSamples: 5},
	{ID: "guard-move", Part: "target guard", Title: "100-machine clusterctl move through the guard / without it", Run: "guard-move", Metric: "ratio",
		Target: Target{Op: AtMost, Value: 1.1, Unit: "×"}, MinSamples: 5, A: "s-without-guard", B: "s-with-guard"},
	{ID: "move", Part: "move", Title: "100 machines: `pivotcheck move` / a bare clusterctl v1.14.2 move", Run: "move", Metric: "ratio",
		Target: Target{Op: AtMost, Value: 1.2, Unit: "×"}, MinSamples: 5, A: "s-bare-clusterctl-move", B: "s-pivotcheck-move"},
	{ID: "move-webhook-100", Part: "move + webhook", Title: "100 machines: `pivotcheck move` with the webhook / a bare clusterctl v1.14.2 move without it", Run: "move-webhook-100", Metric: "ratio",
		Target: Target{Op: AtMost, Value: 1.0, Unit: "×"}, MinSamples: 5, A: "s-bare-clusterctl-move", B: "s-pivotcheck-move-webhook"},
	{ID: "move-webhook-1000", Part: "move + webhook", Title: "1,000 hosts: the same", Run: "move-webhook-1000", Metric: "ratio",
		Target: Target{Op: AtMost, Value: 1.0, Unit: "×"}, MinSamples: 3, A: "s-bare-clusterctl-move", B: "s-pivotcheck-move-webhook"},
	{ID: "lab", Part: "lab", Title: "bootstrap + target pair, every lab controller, warm: seconds per pair", Run: "lab", Metric: "s/pair",
		Target: Target{Op: AtMost, Value: 30, Unit: "s"}, MinSamples: 5},
	{ID: "lab-ironic", Part: "lab with Ironic", Title: "the same pair with a real Ironic per cluster, warm: seconds per pair", Run: "lab-ironic", Metric: "s/pair",
		Target: Target{Op: AtMost, Value: 45, Unit: "s"}, MinSamples: 5},
	{ID: "demo", Part: "demo", Title: "`make demo`, warm: wall clock", Run: "demo",
		Target: Target{Op: AtMost, Value: 240, Unit: "s"}, MinSamples: 5},
}
