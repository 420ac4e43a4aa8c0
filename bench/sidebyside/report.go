package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// row gathers every round of one test at one pipeline depth for both sides.
type row struct {
	name     string
	pipeline int
	runs     [2][]result // [side] -> one result per round, in round order
}

// table keeps rows in the order they were first seen.
type table struct {
	rows  []*row
	index map[string]*row
}

func newTable() *table { return &table{index: map[string]*row{}} }

func (t *table) add(spec testSpec, pipeline int, rowName string, side, round int, r result) {
	name := rowName
	if spec.Cmd != nil {
		name = spec.Label
	}
	key := fmt.Sprintf("%d\x00%s\x00%s", pipeline, spec.Label, name)
	rw := t.index[key]
	if rw == nil {
		rw = &row{name: name, pipeline: pipeline}
		t.index[key] = rw
		t.rows = append(t.rows, rw)
	}
	rw.runs[side] = append(rw.runs[side], r)
}

// summary is the medians of one row.
type summary struct {
	rps, p50, p99 [2]float64
	cpu           [2]float64 // server CPU µs per request
	ratio         float64    // median sard rps / median redis rps
	lo, hi        float64    // range of the per-round ratios
}

func (rw *row) summarize() summary {
	var s summary
	for side := range 2 {
		s.rps[side] = median(pick(rw.runs[side], func(r result) float64 { return r.RPS }))
		s.p50[side] = median(pick(rw.runs[side], func(r result) float64 { return r.P50 }))
		s.p99[side] = median(pick(rw.runs[side], func(r result) float64 { return r.P99 }))
		s.cpu[side] = median(pick(rw.runs[side], func(r result) float64 { return r.CPU }))
	}
	s.ratio = s.rps[0] / s.rps[1]
	s.lo, s.hi = math.Inf(1), math.Inf(-1)
	for i := range min(len(rw.runs[0]), len(rw.runs[1])) {
		q := rw.runs[0][i].RPS / rw.runs[1][i].RPS
		s.lo, s.hi = math.Min(s.lo, q), math.Max(s.hi, q)
	}
	return s
}

func pick(rs []result, f func(result) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

// median of xs; NaN for none, the mean of the middle two for an even count.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// geomean of the positive, finite ratios.
func geomean(xs []float64) float64 {
	sum, n := 0.0, 0
	for _, x := range xs {
		if x > 0 && !math.IsInf(x, 0) && !math.IsNaN(x) {
			sum += math.Log(x)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return math.Exp(sum / float64(n))
}

func trimName(s string) string {
	if len(s) > 24 {
		return s[:21] + "..."
	}
	return s
}

func collectMeta(cfg *config, sides []*side) meta {
	m := meta{
		date:        time.Now(),
		commandLine: commandLine(),
		nproc:       runtime.NumCPU(),
		cpu:         cpuModel(),
		goVersion:   runtime.Version(),
		rounds:      cfg.rounds,
		clients:     cfg.run.Clients,
		loadBefore:  loadAvg(),
	}
	for _, s := range sides {
		v := serverVersion(s.srv)
		if s.name == "sard" {
			m.sardVersion, m.sardBin = v, s.srv.bin
		} else {
			m.redisVersion, m.redisBin = v, s.srv.bin
		}
	}
	return m
}

// serverVersion asks a running server for its INFO version fields.
func serverVersion(s *server) string {
	info, err := s.do(5*time.Second, "INFO", "server")
	if err != nil {
		return "unknown (INFO failed: " + err.Error() + ")"
	}
	v := infoField(info, "redis_version")
	if sv := infoField(info, "sard_version"); sv != "" {
		v = "sard " + sv + ", redis_version " + v
	}
	if v == "" {
		return "unknown"
	}
	return v
}

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func fmtRPS(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	if math.IsInf(x, 0) {
		return "inf"
	}
	return fmt.Sprintf("%.0f", x)
}

func fmtRatio(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", x)
}

func writeText(w io.Writer, m meta, t *table) {
	fmt.Fprintf(w, "\nsard : %s (%s)\nredis: %s (%s)\n", m.sardBin, m.sardVersion, m.redisBin, m.redisVersion)
	fmt.Fprintf(w, "%s; nproc %d; -c %d; median of %d round(s), interleaved; took %v; load average %s before, %s after\n\n",
		m.cpu, m.nproc, m.clients, m.rounds, m.elapsed.Round(time.Second), m.loadBefore, m.loadAfter)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "-P\ttest\tsard req/s\tredis req/s\tsard/redis\tper-round\tp50 sard\tp50 redis\tp99 sard\tp99 redis\tcpu sard\tcpu redis\tcpu s/r\t")
	var ratios, cpuRatios []float64
	for _, rw := range t.rows {
		s := rw.summarize()
		ratios = append(ratios, s.ratio)
		cpuRatios = append(cpuRatios, s.cpu[0]/s.cpu[1])
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s-%s\t%.3f\t%.3f\t%.3f\t%.3f\t%.2f\t%.2f\t%s\t\n",
			rw.pipeline, rw.name, fmtRPS(s.rps[0]), fmtRPS(s.rps[1]), fmtRatio(s.ratio),
			fmtRatio(s.lo), fmtRatio(s.hi), s.p50[0], s.p50[1], s.p99[0], s.p99[1],
			s.cpu[0], s.cpu[1], fmtRatio(s.cpu[0]/s.cpu[1]))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nlatencies in ms (redis-benchmark, client side); cpu is server CPU in us per request (lower is better)\n")
	fmt.Fprintf(w, "geometric mean of sard/redis: throughput %s, cpu per request %s\n", fmtRatio(geomean(ratios)), fmtRatio(geomean(cpuRatios)))
	writeP1Latency(w, t)
}

// writeP1Latency calls out unpipelined tail latency, which pipelined
// throughput numbers can hide.
func writeP1Latency(w io.Writer, t *table) {
	var parts []string
	for _, rw := range t.rows {
		if rw.pipeline != 1 {
			continue
		}
		s := rw.summarize()
		parts = append(parts, fmt.Sprintf("%s %.3f vs %.3f (%s)", rw.name, s.p99[0], s.p99[1], fmtRatio(s.p99[0]/s.p99[1])))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "p99 at -P 1, sard vs redis ms (sard/redis): %s\n", strings.Join(parts, "; "))
	}
}

func writeMarkdown(w io.Writer, m meta, t *table) {
	fmt.Fprintf(w, "### sard vs redis-server, %s\n\n", m.date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "- Command: `%s`\n", m.commandLine)
	fmt.Fprintf(w, "- Machine: %s, nproc %d, %s/%s, load average %s before and %s after; harness built with %s\n",
		m.cpu, m.nproc, runtime.GOOS, runtime.GOARCH, m.loadBefore, m.loadAfter, m.goVersion)
	fmt.Fprintf(w, "- sard: `%s` (%s); redis: `%s` (%s)\n", m.sardBin, m.sardVersion, m.redisBin, m.redisVersion)
	fmt.Fprintf(w, "- redis-benchmark -c %d; each figure is the median of %d round(s); runs interleaved, alternating which server goes first; took %v\n",
		m.clients, m.rounds, m.elapsed.Round(time.Second))
	fmt.Fprintf(w, "- Latencies are redis-benchmark's client-side figures in ms; \"range\" is the spread of the per-round ratios; "+
		"CPU is the server's user+system CPU per request in µs (lower is better), which a busy machine disturbs less than throughput\n\n")
	fmt.Fprintln(w, "| Test | -P | sard req/s | redis req/s | sard/redis | range | sard p50 | redis p50 | sard p99 | redis p99 | sard CPU | redis CPU | CPU sard/redis |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	var ratios, cpuRatios []float64
	for _, rw := range t.rows {
		s := rw.summarize()
		ratios = append(ratios, s.ratio)
		cpuRatios = append(cpuRatios, s.cpu[0]/s.cpu[1])
		fmt.Fprintf(w, "| %s | %d | %s | %s | **%s** | %s–%s | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f | %s |\n",
			strings.ReplaceAll(rw.name, "|", `\|`), rw.pipeline, fmtRPS(s.rps[0]), fmtRPS(s.rps[1]), fmtRatio(s.ratio),
			fmtRatio(s.lo), fmtRatio(s.hi), s.p50[0], s.p50[1], s.p99[0], s.p99[1], s.cpu[0], s.cpu[1], fmtRatio(s.cpu[0]/s.cpu[1]))
	}
	fmt.Fprintf(w, "\nGeometric mean of sard/redis: throughput **%s**, CPU per request **%s**\n\n", fmtRatio(geomean(ratios)), fmtRatio(geomean(cpuRatios)))
	writeP1Latency(w, t)
}
