package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// csvHeader is the first line redis-benchmark prints with --csv.
var csvHeader = []string{"test", "rps", "avg_latency_ms", "min_latency_ms",
	"p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "max_latency_ms"}

// result is one CSV row of redis-benchmark output.
type result struct {
	Name                                 string
	RPS, Avg, Min, P50, P95, P99, MaxLat float64
	CPU                                  float64 // server CPU µs per request, measured by the harness
}

// testSpec is one thing to benchmark: a built-in redis-benchmark test (-t)
// or a custom command line.
type testSpec struct {
	Label string   // what the report calls it
	Test  string   // built-in test name for -t, or ""
	Cmd   []string // custom command and arguments, or nil
}

// parseCSV reads redis-benchmark --csv output. Some built-in tests print
// more than one row (lrange_100 first reports the LPUSH that fills the list).
func parseCSV(out []byte) ([]result, error) {
	r := csv.NewReader(bytes.NewReader(out))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("parsing redis-benchmark CSV: %v", err)
	}
	if len(recs) == 0 {
		return nil, errors.New("redis-benchmark printed nothing")
	}
	if strings.Join(recs[0], ",") != strings.Join(csvHeader, ",") {
		return nil, fmt.Errorf("unexpected redis-benchmark CSV header %q", recs[0])
	}
	var res []result
	for _, rec := range recs[1:] {
		if len(rec) != len(csvHeader) {
			return nil, fmt.Errorf("unexpected redis-benchmark CSV row %q", rec)
		}
		var v [7]float64
		for i := range v {
			// redis-benchmark prints "inf" rps when a run is too short to time.
			f, err := strconv.ParseFloat(rec[i+1], 64)
			if err != nil {
				return nil, fmt.Errorf("bad %s %q in row %q", csvHeader[i+1], rec[i+1], rec)
			}
			v[i] = f
		}
		res = append(res, result{Name: rec[0], RPS: v[0], Avg: v[1], Min: v[2], P50: v[3], P95: v[4], P99: v[5], MaxLat: v[6]})
	}
	if len(res) == 0 {
		return nil, errors.New("redis-benchmark printed no result rows (unknown test name?)")
	}
	return res, nil
}

// runOpts are the redis-benchmark options shared by every run.
type runOpts struct {
	Bin      string
	Clients  int
	Keyspace int // -r; 0 leaves it out
	DataSize int // -d; 0 leaves it out
	Extra    []string
	Timeout  time.Duration
}

// benchArgs builds the redis-benchmark command line for one run.
func benchArgs(o runOpts, port, pipeline, requests int, spec testSpec) []string {
	args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-c", strconv.Itoa(o.Clients), "-n", strconv.Itoa(requests),
		"-P", strconv.Itoa(pipeline), "--csv"}
	if o.Keyspace > 0 {
		args = append(args, "-r", strconv.Itoa(o.Keyspace))
	}
	if o.DataSize > 0 {
		args = append(args, "-d", strconv.Itoa(o.DataSize))
	}
	args = append(args, o.Extra...)
	if spec.Cmd != nil {
		// redis-benchmark takes the command as trailing arguments; it has no "--".
		return append(args, spec.Cmd...)
	}
	return append(args, "-t", spec.Test)
}

// runBenchmark runs redis-benchmark once and parses its CSV output.
func runBenchmark(ctx context.Context, bin string, args []string, timeout time.Duration) ([]result, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("redis-benchmark timed out after %v (server hung or too slow? raise -timeout): %s %s",
			timeout, bin, shellJoin(args))
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("redis-benchmark failed (%v): %s %s\n%s", err, bin, shellJoin(args),
			strings.TrimSpace(stderr.String()+"\n"+lastLine(stdout.String())))
	}
	res, err := parseCSV(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%v: %s %s\n%s", err, bin, shellJoin(args), strings.TrimSpace(stderr.String()))
	}
	return res, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// parseTestList turns "-tests set,get" into specs.
func parseTestList(list string) []testSpec {
	var specs []testSpec
	for _, t := range strings.Split(list, ",") {
		t = strings.ToLower(strings.TrimSpace(t))
		if t != "" {
			specs = append(specs, testSpec{Label: t, Test: t})
		}
	}
	return specs
}

// parseCustom parses a -cmd value: "LABEL=command args..." or just
// "command args...", split with shell-style quoting.
func parseCustom(s string) (testSpec, error) {
	s = strings.TrimSpace(s)
	label := ""
	first, _, _ := strings.Cut(s, " ")
	if l, _, ok := strings.Cut(first, "="); ok && !strings.ContainsAny(first, `'"`) {
		label = l
		s = strings.TrimSpace(s[len(l)+1:])
	}
	args, err := shellSplit(s)
	if err != nil {
		return testSpec{}, fmt.Errorf("-cmd %q: %v", s, err)
	}
	if len(args) == 0 {
		return testSpec{}, fmt.Errorf("-cmd %q: no command", s)
	}
	if label == "" {
		label = strings.Join(args, " ")
	}
	return testSpec{Label: label, Cmd: args}, nil
}

// setupStep is a -setup value: a command sent Repeat times, with __i__
// replaced by the repetition index, e.g. "100*ZADD z __i__ m:__i__".
type setupStep struct {
	Repeat int
	Args   []string
}

func parseSetup(s string) (setupStep, error) {
	st := setupStep{Repeat: 1}
	s = strings.TrimSpace(s)
	if n, rest, ok := strings.Cut(s, "*"); ok {
		if r, err := strconv.Atoi(strings.TrimSpace(n)); err == nil {
			if r < 1 || r > 10_000_000 {
				return st, fmt.Errorf("-setup %q: repeat count must be 1..10000000", s)
			}
			st.Repeat, s = r, rest
		}
	}
	args, err := shellSplit(s)
	if err != nil {
		return st, fmt.Errorf("-setup %q: %v", s, err)
	}
	if len(args) == 0 {
		return st, fmt.Errorf("-setup %q: no command", s)
	}
	st.Args = args
	return st, nil
}

func (st setupStep) commands() [][]string {
	cmds := make([][]string, st.Repeat)
	for i := range cmds {
		idx := strconv.Itoa(i)
		c := make([]string, len(st.Args))
		for j, a := range st.Args {
			c[j] = strings.ReplaceAll(a, "__i__", idx)
		}
		cmds[i] = c
	}
	return cmds
}

// shellSplit splits a string into words the way a POSIX shell would for
// plain words, 'single' and "double" quotes and backslash escapes; it does
// no expansion.
func shellSplit(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
		case c == '\\':
			inWord = true
			if i+1 >= len(s) {
				return nil, errors.New("trailing backslash")
			}
			i++
			cur.WriteByte(s[i])
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// shellJoin quotes args so the printed command line can be pasted into a shell.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
