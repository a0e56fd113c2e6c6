package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pivotcheck/pivotcheck/internal/loadavg"
)

type options struct {
	Repo, Out, Logs string
	Rows            []string
	Quick           bool
	Count           int
	Args            []string
	Progress        io.Writer
}

// quickCount is a smoke run's samples per run: enough to show the
// format, too few for a verdict.
const quickCount = 2

// selectRows returns the rows named in ids (every row when empty), in
// the table's order, and the runs they need, in run order.
func selectRows(ids []string) ([]Row, []Run, error) {
	want := map[string]bool{}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if !slices.ContainsFunc(rows, func(r Row) bool { return r.ID == id }) {
			return nil, nil, fmt.Errorf("unknown row %q (-list shows the rows)", id)
		}
		want[id] = true
	}
	var sel []Row
	need := map[string]bool{}
	for _, r := range rows {
		if len(want) == 0 || want[r.ID] {
			sel = append(sel, r)
			need[r.Run] = true
		}
	}
	var rs []Run
	for _, r := range runs {
		if need[r.ID] {
			rs = append(rs, r)
		}
	}
	return sel, rs, nil
}

func run(ctx context.Context, o options) error {
	sel, needed, err := selectRows(o.Rows)
	if err != nil {
		return err
	}
	repo, err := filepath.Abs(o.Repo)
	if err != nil {
		return fmt.Errorf("resolving -repo: %w", err)
	}
	out := o.Out
	if !filepath.IsAbs(out) {
		out = filepath.Join(repo, out)
	}
	logs := o.Logs
	if logs == "" {
		if logs, err = os.MkdirTemp("", "pivotcheck-bench-report-"); err != nil {
			return fmt.Errorf("creating the log folder: %w", err)
		}
	} else if err := os.MkdirAll(logs, 0o755); err != nil {
		return fmt.Errorf("creating the log folder: %w", err)
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	fmt.Fprintf(progress, "bench-report: %d rows from %d runs; test binaries and output in %s\n", len(sel), len(needed), logs)

	rep := Report{Start: time.Now(), Quick: o.Quick, Args: o.Args, Machine: machine(), LoadStart: readLoad()}
	rep.Commit, rep.Dirty = gitCommit(ctx, repo)

	// One test binary per package, built once.
	bins := map[string]string{}
	for _, r := range needed {
		if r.Pkg == "" || bins[r.Pkg] != "" {
			continue
		}
		name := strings.ReplaceAll(strings.Trim(filepath.ToSlash(filepath.Clean(r.Pkg)), "./"), "/", "-") + ".test"
		bin := filepath.Join(logs, name)
		args := []string{"test", "-c", "-o", bin, r.Pkg}
		rep.Commands = append(rep.Commands, shellJoin(append([]string{"go", "test", "-c", "-o", "$BIN/" + name}, r.Pkg)))
		fmt.Fprintf(progress, "bench-report: building %s\n", bin)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = repo
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building the test binary of %s: %w\n%s", r.Pkg, err, b)
		}
		bins[r.Pkg] = bin
	}

	samples := map[string]map[string][]Sample{} // run ID → row ID → samples
	for _, r := range needed {
		count := r.Count
		if o.Quick {
			count = quickCount
		}
		if o.Count > 0 {
			count = o.Count
		}
		var rowsOfRun []Row
		for _, row := range sel {
			if row.Run == r.ID {
				rowsOfRun = append(rowsOfRun, row)
			}
		}
		fmt.Fprintf(progress, "bench-report: %s, %d samples (%s)\n", r.ID, count, time.Now().UTC().Format("15:04:05"))
		var got map[string][]Sample
		var cmdLine string
		if r.Command != nil {
			got, cmdLine, err = timeCommand(ctx, r, count, repo, logs, rowsOfRun)
		} else {
			got, cmdLine, err = benchRun(ctx, r, count, repo, bins[r.Pkg], logs, rowsOfRun)
		}
		if err != nil {
			return err
		}
		rep.Commands = append(rep.Commands, cmdLine)
		samples[r.ID] = got
		for _, row := range rowsOfRun {
			s := Summarize(got[row.ID], row.Target, row.MinSamples)
			verdict := "met"
			if !s.Met {
				verdict = "not shown: " + s.Reason
			}
			fmt.Fprintf(progress, "bench-report:   %-18s median %s, %s: %s\n", row.ID, formatValue(s.Median, row.Target.Unit), formatRange(s.Min, s.Max, row.Target.Unit), verdict)
		}
	}

	rep.LoadEnd = readLoad()
	rep.Duration = time.Since(rep.Start)
	for _, row := range sel {
		r, _ := findRun(row.Run)
		ss := samples[row.Run][row.ID]
		rep.Rows = append(rep.Rows, RowReport{Row: row, Run: r, Samples: ss, Summary: Summarize(ss, row.Target, row.MinSamples)})
	}
	if err := writeFile(out, []byte(Render(rep))); err != nil {
		return err
	}
	fmt.Fprintf(progress, "bench-report: wrote %s\n", out)
	return nil
}

func findRun(id string) (Run, bool) {
	for _, r := range runs {
		if r.ID == id {
			return r, true
		}
	}
	return Run{}, false
}

// benchRun runs a package's test binary once with -test.count=count, in
// the package's directory as `go test` would, and returns each row's
// samples. A sample without its own load average gets the process's.
func benchRun(ctx context.Context, r Run, count int, repo, bin, logs string, rs []Row) (map[string][]Sample, string, error) {
	args := []string{"-test.run", "^$", "-test.bench", r.Bench, "-test.benchtime", "1x",
		"-test.count", strconv.Itoa(count), "-test.timeout", r.Timeout.String()}
	line := shellJoin(append([]string{"(cd", r.Pkg, "&&", "$BIN/" + filepath.Base(bin)}, args...)) + ")"
	logPath := filepath.Join(logs, r.ID+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, "", fmt.Errorf("creating the log of %s: %w", r.ID, err)
	}
	defer logFile.Close()
	var stdout bytes.Buffer
	stderr := &tail{max: 64 << 10}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = filepath.Join(repo, r.Pkg)
	// Stdout alone is parsed: what a benchmark writes to stderr while it
	// runs could split a result line.
	cmd.Stdout = io.MultiWriter(&stdout, logFile)
	cmd.Stderr = io.MultiWriter(stderr, logFile)
	interruptOnCancel(cmd)
	before := readLoad()
	runErr := cmd.Run()
	after := readLoad()
	results, err := ParseBench(&stdout)
	if err != nil {
		return nil, "", fmt.Errorf("%s (log %s): %w", r.ID, logPath, err)
	}
	out := map[string][]Sample{}
	for _, row := range rs {
		ss := RowSamples(row, results)
		for i := range ss {
			if math.IsNaN(ss[i].LoadBefore) {
				ss[i].LoadBefore = before
			}
			if math.IsNaN(ss[i].LoadAfter) {
				ss[i].LoadAfter = after
			}
		}
		// A binary that died (panic, timeout, interrupt) before printing
		// a failure still makes the row fail, with the reason.
		if runErr != nil && !slices.ContainsFunc(ss, func(s Sample) bool { return s.Failed }) {
			ss = append(ss, Sample{Failed: true, Message: fmt.Sprintf("the test binary exited: %v: %s (log %s)", runErr, stderr.reason(), logPath),
				LoadBefore: before, LoadAfter: after, A: math.NaN(), B: math.NaN()})
		}
		out[row.ID] = ss
	}
	if ctx.Err() != nil {
		return nil, "", fmt.Errorf("%s: %w", r.ID, ctx.Err())
	}
	return out, line, nil
}

// timeCommand runs r.Command count times from the repository root and
// returns each run's wall-clock seconds as the samples of every row.
func timeCommand(ctx context.Context, r Run, count int, repo, logs string, rs []Row) (map[string][]Sample, string, error) {
	logPath := filepath.Join(logs, r.ID+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, "", fmt.Errorf("creating the log of %s: %w", r.ID, err)
	}
	defer logFile.Close()
	var ss []Sample
	for i := range count {
		fmt.Fprintf(logFile, "\n=== %s, sample %d\n", shellJoin(r.Command), i+1)
		cctx, cancel := context.WithTimeout(ctx, r.Timeout)
		cmd := exec.CommandContext(cctx, r.Command[0], r.Command[1:]...)
		cmd.Dir = repo
		cmd.Stdout, cmd.Stderr = logFile, logFile
		interruptOnCancel(cmd)
		s := Sample{LoadBefore: readLoad(), A: math.NaN(), B: math.NaN()}
		t0 := time.Now()
		err := cmd.Run()
		s.Value = time.Since(t0).Seconds()
		s.LoadAfter = readLoad()
		cancel()
		if err != nil {
			s.Failed, s.Message = true, fmt.Sprintf("%s: %v; last output: %s (log %s)", shellJoin(r.Command), err, lastLine(logPath), logPath)
		}
		ss = append(ss, s)
		if ctx.Err() != nil {
			return nil, "", fmt.Errorf("%s: %w", r.ID, ctx.Err())
		}
	}
	out := map[string][]Sample{}
	for _, row := range rs {
		out[row.ID] = ss
	}
	return out, fmt.Sprintf("%s   # %d times, each timed", shellJoin(r.Command), count), nil
}

// interruptOnCancel sends SIGINT, not SIGKILL, when the context ends, so a
// test binary or the demo stops the clusters and servers it started; it
// is killed only if it has not exited a minute later.
func interruptOnCancel(cmd *exec.Cmd) {
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = time.Minute
}

func readLoad() float64 {
	v, err := loadavg.Read()
	if err != nil {
		return math.NaN()
	}
	return v
}

// tail keeps the last max bytes written to it.
type tail struct {
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

// reason is the line that says why a Go program died (a panic, a fatal
// error, a test timeout), else its last line.
func (t *tail) reason() string {
	lines := strings.Split(strings.TrimSpace(string(t.buf)), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// machine describes this machine: CPUs, CPU model, memory, Go.
func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = cpuModel(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemBytes = memTotal(string(b))
	}
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel(cpuinfo string) string {
	sc := bufio.NewScanner(strings.NewReader(cpuinfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// memTotal is /proc/meminfo's MemTotal in bytes (0 when absent).
func memTotal(meminfo string) uint64 {
	sc := bufio.NewScanner(strings.NewReader(meminfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// gitCommit is HEAD's abbreviated commit and whether tracked files have
// uncommitted changes ("unknown" outside a git checkout).
func gitCommit(ctx context.Context, repo string) (string, bool) {
	head, err := exec.CommandContext(ctx, "git", "-C", repo, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown", false
	}
	st, err := exec.CommandContext(ctx, "git", "-C", repo, "status", "--porcelain", "--untracked-files=no").Output()
	return strings.TrimSpace(string(head)), err == nil && len(bytes.TrimSpace(st)) > 0
}

// writeFile replaces path through a temporary file in the same folder, so
// an interrupted write never leaves half a report.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".performance-*.md")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// shellJoin quotes each argument that needs it for a POSIX shell.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+$()&") == "" {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
