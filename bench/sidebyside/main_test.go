package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCSV(t *testing.T) {
	const header = `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"` + "\n"
	tests := []struct {
		name    string
		in      string
		want    []result
		wantErr string
	}{
		{
			name: "one row",
			in:   header + `"MSET (10 keys)","40816.32","0.661","0.264","0.615","0.975","1.727","4.031"` + "\n",
			want: []result{{Name: "MSET (10 keys)", RPS: 40816.32, Avg: 0.661, Min: 0.264, P50: 0.615, P95: 0.975, P99: 1.727, MaxLat: 4.031}},
		},
		{
			name: "lrange prints its fill first",
			in: header + `"LPUSH (needed to benchmark LRANGE)","42283.30","0.611","0.256","0.599","0.719","1.199","1.999"` + "\n" +
				`"LRANGE_100 (first 100 elements)","35971.22","0.726","0.248","0.687","0.879","1.607","5.423"` + "\n",
			want: []result{
				{Name: "LPUSH (needed to benchmark LRANGE)", RPS: 42283.30, Avg: 0.611, Min: 0.256, P50: 0.599, P95: 0.719, P99: 1.199, MaxLat: 1.999},
				{Name: "LRANGE_100 (first 100 elements)", RPS: 35971.22, Avg: 0.726, Min: 0.248, P50: 0.687, P95: 0.879, P99: 1.607, MaxLat: 5.423},
			},
		},
		{name: "unknown test prints only the header", in: header, wantErr: "no result rows"},
		{name: "empty", in: "", wantErr: "printed nothing"},
		{name: "not csv header", in: "SET: 1234.00\n", wantErr: "unexpected redis-benchmark CSV header"},
		{name: "short row", in: header + `"SET","1"` + "\n", wantErr: "unexpected redis-benchmark CSV row"},
		{name: "bad number", in: header + `"SET","x","1","1","1","1","1","1"` + "\n", wantErr: "bad rps"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCSV([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseCSVInf(t *testing.T) {
	// redis-benchmark prints "inf" when a run finishes within its clock tick.
	got, err := parseCSV([]byte(strings.Join(csvHeader, ",") + "\n" + `"SET","inf","0.1","0.1","0.1","0.1","0.1","0.1"` + "\n"))
	if err != nil || len(got) != 1 || !math.IsInf(got[0].RPS, 1) {
		t.Fatalf("got %+v, %v", got, err)
	}
	if fmtRPS(got[0].RPS) != "inf" {
		t.Fatalf("fmtRPS(inf) = %q", fmtRPS(got[0].RPS))
	}
}

func TestShellSplit(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "  --appendonly yes   --appendfsync always ", want: []string{"--appendonly", "yes", "--appendfsync", "always"}},
		{in: `XADD s '*' f v`, want: []string{"XADD", "s", "*", "f", "v"}},
		{in: `--save ''`, want: []string{"--save", ""}},
		{in: `EVAL "return redis.call('ping')" 0`, want: []string{"EVAL", "return redis.call('ping')", "0"}},
		{in: `a\ b "c\"d" e'f'g`, want: []string{"a b", `c"d`, "efg"}},
		{in: `'unterminated`, wantErr: true},
		{in: `"unterminated`, wantErr: true},
		{in: `trailing\`, wantErr: true},
	}
	for _, tc := range tests {
		got, err := shellSplit(tc.in)
		if tc.wantErr {
			if err == nil {
				t.Errorf("shellSplit(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("shellSplit(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestShellJoinRoundTrip(t *testing.T) {
	in := []string{"-p", "6379", "XADD", "s", "*", "", "it's", "a b", "$x"}
	got, err := shellSplit(shellJoin(in))
	if err != nil || !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip of %q via %q gave %q, %v", in, shellJoin(in), got, err)
	}
}

func TestParseCustom(t *testing.T) {
	tests := []struct {
		in   string
		want testSpec
	}{
		{in: "XADD=XADD s '*' f v", want: testSpec{Label: "XADD", Cmd: []string{"XADD", "s", "*", "f", "v"}}},
		{in: "PUBLISH ch msg", want: testSpec{Label: "PUBLISH ch msg", Cmd: []string{"PUBLISH", "ch", "msg"}}},
		{in: "SET k=v x", want: testSpec{Label: "SET k=v x", Cmd: []string{"SET", "k=v", "x"}}},
		{in: "ZRANGE100 = ZRANGE z 0 99", want: testSpec{Label: "ZRANGE100 = ZRANGE z 0 99", Cmd: []string{"ZRANGE100", "=", "ZRANGE", "z", "0", "99"}}},
	}
	for _, tc := range tests {
		got, err := parseCustom(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseCustom(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "LABEL=", "X='open"} {
		if _, err := parseCustom(bad); err == nil {
			t.Errorf("parseCustom(%q) succeeded, want an error", bad)
		}
	}
}

func TestParseSetup(t *testing.T) {
	st, err := parseSetup("3*ZADD z __i__ m:__i__")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"ZADD", "z", "0", "m:0"}, {"ZADD", "z", "1", "m:1"}, {"ZADD", "z", "2", "m:2"}}
	if got := st.commands(); !reflect.DeepEqual(got, want) {
		t.Fatalf("commands = %q, want %q", got, want)
	}
	st, err = parseSetup("SET a*b 1")
	if err != nil || st.Repeat != 1 || !reflect.DeepEqual(st.Args, []string{"SET", "a*b", "1"}) {
		t.Fatalf("no-repeat setup parsed as %+v, %v", st, err)
	}
	for _, bad := range []string{"", "0*PING", "5*", "PING 'x"} {
		if _, err := parseSetup(bad); err == nil {
			t.Errorf("parseSetup(%q) succeeded, want an error", bad)
		}
	}
}

func TestOrderAlternates(t *testing.T) {
	// Every test must see each server go first in alternate rounds, and
	// neighbouring tests within a round must alternate too.
	for slot := 0; slot < 4; slot++ {
		if order(0, slot) == order(1, slot) {
			t.Errorf("slot %d: same order in rounds 0 and 1", slot)
		}
		if order(0, slot) == order(0, slot+1) {
			t.Errorf("round 0: same order for slots %d and %d", slot, slot+1)
		}
		o := order(0, slot)
		if o[0] == o[1] {
			t.Errorf("order(0,%d) = %v runs one side twice", slot, o)
		}
	}
}

func TestMedianAndGeomean(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median odd = %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median even = %v", m)
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing should be NaN")
	}
	if g := geomean([]float64{2, 0.5, math.NaN(), math.Inf(1)}); math.Abs(g-1) > 1e-12 {
		t.Errorf("geomean = %v, want 1", g)
	}
}

func TestSummarize(t *testing.T) {
	rw := &row{name: "SET", pipeline: 1}
	for _, v := range []float64{100, 300, 200} {
		rw.runs[0] = append(rw.runs[0], result{RPS: v, P50: v / 100, P99: v / 10})
	}
	for _, v := range []float64{100, 100, 400} {
		rw.runs[1] = append(rw.runs[1], result{RPS: v, P50: v / 100, P99: v / 10})
	}
	s := rw.summarize()
	if s.rps != [2]float64{200, 100} || s.ratio != 2 || s.lo != 0.5 || s.hi != 3 || s.p99 != [2]float64{20, 10} {
		t.Fatalf("summary = %+v", s)
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tredis-server\nVmPeak:\t  99999 kB\nVmRSS:\t    8192 kB\nThreads:\t5\n"
	if got, err := parseVmRSS(status); err != nil || got != 8192*1024 {
		t.Fatalf("parseVmRSS = %d, %v", got, err)
	}
	for _, bad := range []string{"", "VmRSS: lots\n", "VmRSS: 12 MB\n"} {
		if _, err := parseVmRSS(bad); err == nil {
			t.Errorf("parseVmRSS(%q) succeeded", bad)
		}
	}
}

func TestBenchArgs(t *testing.T) {
	o := runOpts{Clients: 50, Keyspace: 1000, Extra: []string{"--threads", "2"}}
	got := benchArgs(o, 7000, 16, 500, testSpec{Label: "x", Cmd: []string{"XADD", "s", "*", "f", "v"}})
	want := []string{"-h", "127.0.0.1", "-p", "7000", "-c", "50", "-n", "500", "-P", "16", "--csv",
		"-r", "1000", "--threads", "2", "XADD", "s", "*", "f", "v"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("custom args = %q\nwant %q", got, want)
	}
	got = benchArgs(runOpts{Clients: 5}, 7000, 1, 10, testSpec{Label: "set", Test: "set"})
	if strings.Join(got, " ") != "-h 127.0.0.1 -p 7000 -c 5 -n 10 -P 1 --csv -t set" {
		t.Fatalf("builtin args = %q", got)
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-cmd", "XADD=XADD s * f v", "-P", "1,4", "-sard-args", "--appendonly yes"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.specs) != 1 || cfg.specs[0].Label != "XADD" {
		t.Errorf("-cmd alone should replace the default tests, got %+v", cfg.specs)
	}
	if !reflect.DeepEqual(cfg.pipelines, []int{1, 4}) || !reflect.DeepEqual(cfg.sardArgs, []string{"--appendonly", "yes"}) {
		t.Errorf("pipelines %v, sard args %q", cfg.pipelines, cfg.sardArgs)
	}
	cfg, err = parseFlags([]string{"-tests", "lpush,rpop", "-cmd", "PUBLISH c m"}, io.Discard)
	if err != nil || len(cfg.specs) != 3 || cfg.specs[0].Test != "lpush" || cfg.specs[2].Cmd == nil {
		t.Errorf("explicit -tests plus -cmd: %+v, %v", cfg.specs, err)
	}
	cfg, err = parseFlags(nil, io.Discard)
	if err != nil || len(cfg.specs) != 4 || cfg.specs[3].Test != "mset" || cfg.rounds != 3 || cfg.run.Clients != 50 {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	for _, bad := range [][]string{
		{"-P", "0"}, {"-P", "x"}, {"-rounds", "0"}, {"-tests", ""}, {"-sard-args", "'x"},
		{"stray"}, {"-mem", "-mem-n", "0"}, {"-setup", "0*PING"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded, want an error", bad)
		}
	}
}

func TestMissingBenchmarkTool(t *testing.T) {
	cfg, err := parseFlags([]string{"-benchmark-bin", "/nonexistent/redis-benchmark"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	err = runBench(context.Background(), cfg, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "redis-tools") {
		t.Fatalf("err = %v, want a hint to install redis-tools", err)
	}
}

func needTools(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real servers; skipped with -short")
	}
	for _, b := range []string{"redis-server", "redis-benchmark"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s not installed (Debian package redis-server / redis-tools)", b)
		}
	}
	p, _ := exec.LookPath("redis-server")
	return p
}

func TestRunTimesOutOnHungServer(t *testing.T) {
	needTools(t)
	// A listener that accepts and never replies stands in for a hung server.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	start := time.Now()
	_, err = runBenchmark(context.Background(), "redis-benchmark",
		benchArgs(runOpts{Clients: 1}, port, 1, 10, testSpec{Test: "set"}), 500*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("timeout took %v", d)
	}
}

func TestServerErrorIsReported(t *testing.T) {
	bin := needTools(t)
	s, err := startServer("redis", bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	_, err = runBenchmark(context.Background(), "redis-benchmark",
		benchArgs(runOpts{Clients: 1}, s.port, 1, 10, testSpec{Cmd: []string{"NOSUCHCOMMAND", "x"}}), time.Minute)
	if err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("err = %v, want the server's error text", err)
	}
}

func TestStartServerFailsClearly(t *testing.T) {
	bin := needTools(t)
	_, err := startServer("sard", bin, []string{"--no-such-directive", "1"})
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("err = %v, want a report that the server exited", err)
	}
	_, err = startServer("sard", "/nonexistent/sard-server", nil)
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v, want binary not found", err)
	}
}

// TestSideBySideRedisVsRedis runs the whole throughput mode with redis-server
// on both sides and checks the report has every test at every depth.
func TestSideBySideRedisVsRedis(t *testing.T) {
	bin := needTools(t)
	cfg, err := parseFlags([]string{"-sard-bin", bin, "-rounds", "2", "-n", "2000", "-c", "5",
		"-tests", "set,get,lrange_100", "-setup", "100*ZADD z __i__ m:__i__", "-cmd", "ZRANGE100=ZRANGE z 0 99",
		"-markdown"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out, log bytes.Buffer
	if err := runBench(context.Background(), cfg, &out, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	report := out.String()
	for _, want := range []string{"| SET | 1 |", "| GET | 16 |", "| LRANGE_100 (first 100 elements) | 16 |",
		"| ZRANGE100 | 1 |", "| ZRANGE100 | 16 |", "nproc", "7.0", "Geometric mean", "p99 at -P 1"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	// 5 rows (the LRANGE test reports its LPUSH fill too) x 2 depths x 2 rounds x 2 servers.
	if n := strings.Count(log.String(), "req/s"); n != 40 {
		t.Errorf("progress shows %d runs, want 40:\n%s", n, log.String())
	}
}

func TestMemModeRedisVsRedis(t *testing.T) {
	bin := needTools(t)
	cfg, err := parseFlags([]string{"-sard-bin", bin, "-mem", "-mem-n", "20000", "-mem-settle", "0s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out, log bytes.Buffer
	if err := runMem(context.Background(), cfg, &out, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	report := out.String()
	for _, want := range []string{"RSS delta", "bytes/item", "DBSIZE", "INFO used_memory", "-t set"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	// 20000 random SETs over 10^8 keys leave nearly 20000 distinct keys.
	for _, name := range []string{"sard", "redis"} {
		var items int
		i := strings.Index(log.String(), "\n"+name+": ")
		if i < 0 {
			t.Fatalf("no %s line in:\n%s", name, log.String())
		}
		rest := log.String()[i+len(name)+3:]
		rest = rest[strings.IndexByte(rest, '\n')+1:] // skip the "loaded in" line
		if _, err := fmt.Sscanf(rest, name+": %d items", &items); err != nil || items < 19900 || items > 20000 {
			t.Errorf("%s: %d items (%v), want about 20000:\n%s", name, items, err, log.String())
		}
	}
}

func TestInterruptStopsServers(t *testing.T) {
	bin := needTools(t)
	cfg, err := parseFlags([]string{"-sard-bin", bin, "-rounds", "50", "-n", "100000000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var log bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- runBench(ctx, cfg, io.Discard, &log) }()
	time.Sleep(1500 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("interrupted run reported success")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
	// The ports the servers had must be free again.
	checked := 0
	for _, line := range strings.Split(log.String(), "\n") {
		_, rest, ok := strings.Cut(line, "port ")
		if !ok {
			continue
		}
		port := strings.TrimSuffix(rest, ")")
		checked++
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
			c.Close()
			t.Errorf("server on port %s still listening after interrupt", port)
		}
	}
	if checked != 2 {
		t.Fatalf("found %d server ports in the progress log, want 2:\n%s", checked, log.String())
	}
}

func TestParseStatCPU(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "1234 (redis server (x)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 5 0 100 1000 200 18446744073709551615"
	got, err := parseStatCPU(stat)
	if err != nil || got != 3*time.Second {
		t.Fatalf("parseStatCPU = %v, %v; want 3s", got, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 a b"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q) succeeded", bad)
		}
	}
}

func TestServerCPUTimeGrowsUnderLoad(t *testing.T) {
	bin := needTools(t)
	s, err := startServer("redis", bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	before, err := s.cpuTime()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runBenchmark(context.Background(), "redis-benchmark",
		benchArgs(runOpts{Clients: 10}, s.port, 16, 200_000, testSpec{Test: "set"}), time.Minute); err != nil {
		t.Fatal(err)
	}
	after, err := s.cpuTime()
	if err != nil {
		t.Fatal(err)
	}
	// 200,000 SETs cost a server at least tens of milliseconds of CPU.
	if d := after - before; d < 20*time.Millisecond || d > time.Minute {
		t.Fatalf("server CPU grew by %v over 200000 SETs", d)
	}
}

// TestSubscribers: -subscribers opens that many subscribed connections, which the server
// counts in PUBSUB NUMSUB and which receive what is published.
func TestSubscribers(t *testing.T) {
	bin := needTools(t)
	cfg, err := parseFlags([]string{"-subscribers", "3", "-sub-channel", "news", "-cmd", "P=PUBLISH news x"}, io.Discard)
	if err != nil || cfg.subscribers != 3 || cfg.subChannel != "news" {
		t.Fatalf("parse: %+v, %v", cfg, err)
	}
	if _, err := parseFlags([]string{"-subscribers", "-1"}, io.Discard); err == nil {
		t.Error("negative -subscribers accepted")
	}
	srv, err := startServer("redis", bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 3 {
		if err := srv.subscribe(ctx, "news"); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := srv.do(5*time.Second, "PUBSUB", "NUMSUB", "news"); err != nil || got != "news\n3" {
		t.Errorf("PUBSUB NUMSUB news = %q, %v; want 3 subscribers", got, err)
	}
	if got, err := srv.do(5*time.Second, "PUBLISH", "news", "x"); err != nil || got != "3" {
		t.Errorf("PUBLISH reached %q, %v; want 3", got, err)
	}
}
