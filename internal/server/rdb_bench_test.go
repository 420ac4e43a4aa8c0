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

// TestBgsaveLatencyBench measures what a forkless BGSAVE costs clients: redis-benchmark
// runs SET (-P 1) against 1,000,000 keys, once alone and once while a BGSAVE runs, and the
// test prints p99 and max latency of both runs with the RSS growth during the save.
// SARD_BGSAVE_BENCH=1 enables it.
func TestBgsaveLatencyBench(t *testing.T) {
	if os.Getenv("SARD_BGSAVE_BENCH") == "" {
		t.Skip("set SARD_BGSAVE_BENCH=1 to measure BGSAVE latency")
	}
	bench := testutil.RequireTool(t, "redis-benchmark")
	ctx := context.Background()
	sard := testutil.StartSard(t, "--save", "")
	c := singleClient(sard)
	if err := c.Do(ctx, "DEBUG", "POPULATE", 1000000, "key", 100).Err(); err != nil {
		t.Fatal(err)
	}
	run := func() (p99, maxMs float64) {
		out, err := exec.Command(bench, "-p", strconv.Itoa(sard.Port), "-t", "set", "-P", "1", "-c", "20",
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
	pid := sard.Cmd.Process.Pid
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
	peak := rss0
	for strings.Contains(c.Info(ctx, "persistence").Val(), "rdb_bgsave_in_progress:1") {
		peak = max(peak, rssKB(pid))
		time.Sleep(20 * time.Millisecond)
	}
	saveTime := time.Since(start)
	res := <-done
	fi, _ := os.Stat(sard.Dir + "/dump.rdb")
	var size int64
	if fi != nil {
		size = fi.Size()
	}
	t.Logf("SET -P 1 -c 20, 1,000,000 keys of 100 bytes: alone p99 %.3f ms max %.3f ms; during BGSAVE p99 %.3f ms max %.3f ms",
		baseP99, baseMax, res[0], res[1])
	t.Logf("BGSAVE took %v, file %d MB, RSS before %d MB, peak during save %d MB (+%d MB)",
		saveTime.Round(time.Millisecond), size>>20, rss0>>10, peak>>10, (peak-rss0)>>10)
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
