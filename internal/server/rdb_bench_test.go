package server

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

// TestBgsaveLatencyBench measures what a BGSAVE of 1,000,000 keys costs clients, on sard
// (forkless) and on redis-server (fork) in the same run: redis-benchmark runs SET (-P 1,
// 20 clients) once alone and once while a BGSAVE runs, and the test prints p99 and max
// latency of both runs, the RSS growth during the save and, for sard, the longest time a
// step of the walk held the command lock (wall clock and CPU). SARD_BGSAVE_BENCH=1 enables
// it.
func TestBgsaveLatencyBench(t *testing.T) {
	if os.Getenv("SARD_BGSAVE_BENCH") == "" {
		t.Skip("set SARD_BGSAVE_BENCH=1 to measure BGSAVE latency")
	}
	bench := testutil.RequireTool(t, "redis-benchmark")
	ctx := context.Background()
	for _, name := range []string{"sard", "redis", "redis", "sard"} {
		var s *testutil.Server
		if name == "sard" {
			s = testutil.StartSard(t, "--save", "", "--loglevel", "verbose")
		} else {
			s = testutil.StartRedis(t)
		}
		c := singleClient(s)
		if err := c.Do(ctx, "DEBUG", "POPULATE", 1000000, "key", 100).Err(); err != nil {
			t.Fatal(err)
		}
		run := func() (p99, maxMs float64) {
			out, err := exec.Command(bench, "-p", strconv.Itoa(s.Port), "-t", "set", "-P", "1", "-c", "20",
				"-n", "200000", "-r", "1000000", "-d", "100", "--csv").CombinedOutput()
			if err != nil {
				t.Fatalf("redis-benchmark: %v\n%s", err, out)
			}
			for _, line := range strings.Split(string(out), "\n") {
				f := strings.Split(strings.ReplaceAll(line, `"`, ""), ",")
				if len(f) == 8 && f[0] == "SET" {
					p99, _ = strconv.ParseFloat(f[6], 64)
					maxMs, _ = strconv.ParseFloat(f[7], 64)
				}
			}
			return
		}
		baseP99, baseMax := run()
		pid := s.Cmd.Process.Pid
		rss0 := rssKB(pid)
		done := make(chan [2]float64)
		go func() {
			p, m := run()
			done <- [2]float64{p, m}
		}()
		time.Sleep(300 * time.Millisecond)
		start := time.Now()
		if err := c.Do(ctx, "BGSAVE").Err(); err != nil {
			t.Fatal(err)
		}
		// Redis's child's own pages count too.
		peak := rss0
		for strings.Contains(c.Info(ctx, "persistence").Val(), "rdb_bgsave_in_progress:1") {
			peak = max(peak, rssKB(pid)+childrenRSSKB(pid))
			time.Sleep(20 * time.Millisecond)
		}
		saveTime := time.Since(start)
		res := <-done
		t.Logf("%s: SET -P 1 -c 20 over 1,000,000 keys of 100 bytes: alone p99 %.3f ms max %.3f ms; during BGSAVE p99 %.3f ms max %.3f ms",
			name, baseP99, baseMax, res[0], res[1])
		t.Logf("%s: BGSAVE took %v, RSS before %d MB, peak during save %d MB (+%d MB, a fork child's private pages included)",
			name, saveTime.Round(time.Millisecond), rss0>>10, peak>>10, (peak-rss0)>>10)
		for _, l := range strings.Split(s.LogText(), "\n") {
			if i := strings.Index(l, "Background saving: "); i >= 0 {
				t.Logf("%s: %s", name, l[i:])
			}
		}
		s.Stop()
	}
}

// rssKB reads VmRSS of a process from /proc.
func rssKB(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
	}
	return 0
}

// childrenRSSKB sums, over a process's children (Redis's BGSAVE child), the memory that is
// the child's own: its private pages (smaps_rollup Private_Clean + Private_Dirty), which
// are the copies made since the fork plus what it allocated. Pages still shared with the
// parent are not extra memory.
func childrenRSSKB(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
	if err != nil {
		return 0
	}
	var sum int64
	for _, f := range strings.Fields(string(b)) {
		sm, err := os.ReadFile("/proc/" + f + "/smaps_rollup")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(sm), "\n") {
			if strings.HasPrefix(line, "Private_Clean:") || strings.HasPrefix(line, "Private_Dirty:") {
				if fl := strings.Fields(line); len(fl) >= 2 {
					v, _ := strconv.ParseInt(fl[1], 10, 64)
					sum += v
				}
			}
		}
	}
	return sum
}
