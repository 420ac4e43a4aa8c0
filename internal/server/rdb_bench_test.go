package server

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// TestBgsaveWindowLatencyBench measures what clients see during a BGSAVE of 1,000,000 keys,
// counting only the requests sent while the save runs (redis-benchmark's percentiles cover
// its whole run, mostly without a save): 20 connections send SET of 100 bytes (-P 1) to
// random keys from before the save to after it, and the test prints p99, p99.9, max and the
// share of requests over 1 ms, before the save and during it, for redis-server and for sard
// binaries given as SARD_BGSAVE_BINS="name=path,name=path" (default: this tree), in
// interleaved rounds (SARD_BGSAVE_ROUNDS, default 3). SARD_BGSAVE_BENCH=1 enables it.
func TestBgsaveWindowLatencyBench(t *testing.T) {
	if os.Getenv("SARD_BGSAVE_BENCH") == "" {
		t.Skip("set SARD_BGSAVE_BENCH=1 to measure BGSAVE latency")
	}
	bins := [][2]string{{"sard", ""}}
	if v := os.Getenv("SARD_BGSAVE_BINS"); v != "" {
		bins = nil
		for _, kv := range strings.Split(v, ",") {
			name, path, _ := strings.Cut(kv, "=")
			bins = append(bins, [2]string{name, path})
		}
	}
	bins = append(bins, [2]string{"redis", ""})
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("SARD_BGSAVE_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	ctx := context.Background()
	for round := 0; round < rounds; round++ {
		for _, b := range bins {
			var s *testutil.Server
			if b[0] == "redis" {
				s = testutil.StartRedis(t)
			} else {
				if b[1] != "" {
					t.Setenv("SARD_BIN", b[1])
				}
				s = testutil.StartSard(t, "--save", "", "--loglevel", "verbose")
			}
			c := singleClient(s)
			if err := c.Do(ctx, "DEBUG", "POPULATE", 1000000, "key", 100).Err(); err != nil {
				t.Fatal(err)
			}
			var stop atomic.Bool
			base := time.Now()
			res := make(chan [][]latSample)
			go func() { res <- setLoad(t, s.Addr, 20, &stop, base) }()
			time.Sleep(700 * time.Millisecond)
			from := time.Since(base)
			if err := c.Do(ctx, "BGSAVE").Err(); err != nil {
				t.Fatal(err)
			}
			for strings.Contains(c.Info(ctx, "persistence").Val(), "rdb_bgsave_in_progress:1") {
				time.Sleep(5 * time.Millisecond)
			}
			to := time.Since(base)
			time.Sleep(100 * time.Millisecond)
			stop.Store(true)
			all := <-res
			la, _ := os.ReadFile("/proc/loadavg")
			t.Logf("%-6s before the save: %s | during the %.2f s save: %s | load %s", b[0],
				latStats(all, 200*time.Millisecond, from), (to - from).Seconds(), latStats(all, from, to),
				strings.Join(strings.Fields(string(la))[:3], " "))
			for _, l := range strings.Split(s.LogText(), "\n") {
				if i := strings.Index(l, "Background saving: "); i >= 0 {
					t.Logf("%-6s %s", b[0], l[i:])
				}
			}
			s.Stop()
		}
	}
}

type latSample struct{ at, lat time.Duration }

// setLoad runs n connections sending SET key:<random> <100 bytes> one at a time until stop,
// and returns each request's start (since base) and latency.
func setLoad(t *testing.T, addr string, n int, stop *atomic.Bool, base time.Time) [][]latSample {
	out := make([][]latSample, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			val := strings.Repeat("x", 100)
			reply := make([]byte, 5) // +OK\r\n
			k := uint32(i*7919 + 1)
			for !stop.Load() {
				k = k*1103515245 + 12345
				key := "key:" + strconv.Itoa(int(k%1000000))
				req := "*3\r\n$3\r\nSET\r\n$" + strconv.Itoa(len(key)) + "\r\n" + key + "\r\n$100\r\n" + val + "\r\n"
				t0 := time.Since(base)
				if _, err := conn.Write([]byte(req)); err != nil {
					return
				}
				if _, err := io.ReadFull(conn, reply); err != nil {
					return
				}
				out[i] = append(out[i], latSample{t0, time.Since(base) - t0})
			}
		}()
	}
	wg.Wait()
	return out
}

// latStats summarizes the requests started in [from, to).
func latStats(all [][]latSample, from, to time.Duration) string {
	var l []time.Duration
	for _, s := range all {
		for _, x := range s {
			if x.at >= from && x.at < to {
				l = append(l, x.lat)
			}
		}
	}
	if len(l) == 0 {
		return "no requests"
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	over := 0
	for _, v := range l {
		if v > time.Millisecond {
			over++
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return strconv.Itoa(len(l)) + " requests, p99 " + strconv.FormatFloat(ms(l[len(l)*99/100]), 'f', 3, 64) +
		" p99.9 " + strconv.FormatFloat(ms(l[len(l)*999/1000]), 'f', 3, 64) +
		" max " + strconv.FormatFloat(ms(l[len(l)-1]), 'f', 3, 64) + " ms, over 1 ms " +
		strconv.FormatFloat(100*float64(over)/float64(len(l)), 'f', 1, 64) + "%"
}
