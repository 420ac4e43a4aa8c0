package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// TestReplBench measures replication against redis-server doing the same, interleaved
// (sard, redis, redis, sard, ...), and prints the figures of docs/benchmarks.md:
//
//   - full sync of 1,000,000 keys of 100 bytes, from REPLICAOF to master_link_status:up,
//     socket (diskless) and disk targets, replica of the same kind as the master;
//   - redis-benchmark SET -P 1 -c 20 latency on the master alone and during that full sync;
//   - SET -P 16 -c 50 throughput and master CPU per request with one replica attached, and
//     the replica's lag (master_repl_offset minus the replica's offset) sampled every
//     100 ms during that load.
//
// SARD_REPL_BENCH=1 enables it; SARD_REPL_BENCH_ROUNDS sets the rounds (default 3).
func TestReplBench(t *testing.T) {
	if os.Getenv("SARD_REPL_BENCH") == "" {
		t.Skip("set SARD_REPL_BENCH=1 to measure replication against redis-server")
	}
	bench := testutil.RequireTool(t, "redis-benchmark")
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("SARD_REPL_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	kinds := func(round int) []string {
		if round%2 == 0 {
			return []string{"sard", "redis"}
		}
		return []string{"redis", "sard"}
	}
	start := func(kind string, args ...string) *testutil.Server {
		args = append([]string{"--save", ""}, args...)
		if kind == "sard" {
			return testutil.StartSard(t, args...)
		}
		return testutil.StartRedis(t, args...)
	}
	ctx := context.Background()

	// Full sync time and latency during it.
	for _, diskless := range []string{"yes", "no"} {
		times := map[string][]float64{}
		lat := map[string][][4]float64{}
		for round := 0; round < rounds; round++ {
			for _, kind := range kinds(round) {
				m := start(kind, "--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0", "--loglevel", "verbose")
				mc := m.Client(func(o *redis.Options) { o.PoolSize = 1 })
				if err := mc.Do(ctx, "DEBUG", "POPULATE", 1000000, "key", 100).Err(); err != nil {
					t.Fatal(err)
				}
				// The sync time on a quiet master.
				r := start(kind)
				rc := r.Client(func(o *redis.Options) { o.PoolSize = 1 })
				t0 := time.Now()
				replicaof(t, rc, m)
				for replInfo(t, rc, "replication", "master_link_status") != "up" {
					time.Sleep(5 * time.Millisecond)
				}
				d := time.Since(t0).Seconds()
				r.Stop()
				// Latency of writes alone, then while another replica syncs.
				r2 := start(kind)
				rc2 := r2.Client(func(o *redis.Options) { o.PoolSize = 1 })
				alone := setLatency(t, bench, m.Port, 100000)
				var during [2]float64
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					during = setLatency(t, bench, m.Port, 300000)
				}()
				time.Sleep(300 * time.Millisecond)
				replicaof(t, rc2, m)
				for replInfo(t, rc2, "replication", "master_link_status") != "up" {
					time.Sleep(5 * time.Millisecond)
				}
				wg.Wait()
				r2.Stop()
				// How the master's walks shared the command lock (sard's verbose log).
				for _, l := range strings.Split(m.LogText(), "\n") {
					for _, what := range []string{"Background saving: ", "Diskless rdb transfer: "} {
						if i := strings.Index(l, what); i >= 0 && strings.Contains(l, "steps, longest") {
							t.Logf("  %s master, repl-diskless-sync %s: %s", kind, diskless, l[i:])
						}
					}
				}
				times[kind] = append(times[kind], d)
				lat[kind] = append(lat[kind], [4]float64{alone[0], alone[1], during[0], during[1]})
				m.Stop()
			}
		}
		t.Logf("full sync of 1,000,000 keys (100 bytes), repl-diskless-sync %s: sard %s s, redis %s s, ratio (median) %.2f",
			diskless, fmtList(times["sard"]), fmtList(times["redis"]), median(times["sard"])/median(times["redis"]))
		for _, kind := range []string{"sard", "redis"} {
			var parts []string
			for _, l := range lat[kind] {
				parts = append(parts, fmt.Sprintf("alone p99 %.3f max %.3f / during p99 %.3f max %.3f", l[0], l[1], l[2], l[3]))
			}
			t.Logf("  %s SET -P 1 -c 20 latency (ms), while writes continue during the sync: %s", kind, strings.Join(parts, "; "))
		}
	}

	// Throughput with one replica attached, and the replica's lag.
	rps := map[string][]float64{}
	cpu := map[string][]float64{}
	lags := map[string][]int64{}
	for round := 0; round < rounds; round++ {
		for _, kind := range kinds(round) {
			m := start(kind, "--repl-diskless-sync-delay", "0")
			r := start(kind)
			// DEBUG DIGEST of a million keys can take seconds on a loaded machine.
			slow := func(o *redis.Options) { o.PoolSize = 1; o.ReadTimeout = time.Minute }
			mc := m.Client(slow)
			rc := r.Client(slow)
			replicaof(t, rc, m)
			waitLinkUp(t, rc)
			stopSampling := make(chan struct{})
			var sampled []int64
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stopSampling:
						return
					case <-time.After(100 * time.Millisecond):
					}
					mo, _ := strconv.ParseInt(replInfo(t, mc, "replication", "master_repl_offset"), 10, 64)
					ro, _ := strconv.ParseInt(replInfo(t, rc, "replication", "slave_repl_offset"), 10, 64)
					sampled = append(sampled, max(mo-ro, 0))
				}
			}()
			cpu0 := procCPU(m.Cmd.Process.Pid)
			const n = 2000000
			out, err := exec.Command(bench, "-p", strconv.Itoa(m.Port), "-t", "set", "-P", "16", "-c", "50",
				"-n", strconv.Itoa(n), "-r", "1000000", "--csv").CombinedOutput()
			if err != nil {
				t.Fatalf("redis-benchmark: %v\n%s", err, out)
			}
			cpuUsed := procCPU(m.Cmd.Process.Pid) - cpu0
			close(stopSampling)
			wg.Wait()
			rps[kind] = append(rps[kind], csvField(out, "SET", 1))
			cpu[kind] = append(cpu[kind], cpuUsed.Seconds()*1e6/n)
			lags[kind] = append(lags[kind], sampled...)
			// A replica that fell too far behind is dropped by the master's output buffer
			// limit and syncs again: say so, and let it catch up before comparing.
			if k := strings.Count(m.LogText(), "Connection with replica"); k > 0 {
				t.Logf("  %s round %d: the master dropped its replica %d times during the load", kind, round, k)
			}
			testutil.Eventually(t, 120*time.Second, func() bool {
				return replInfo(t, rc, "replication", "master_link_status") == "up" &&
					replInfo(t, rc, "replication", "slave_repl_offset") == replInfo(t, mc, "replication", "master_repl_offset")
			}, "the replica caught up after the load")
			waitSameDigest(t, mc, rc)
			m.Stop()
			r.Stop()
		}
	}
	t.Logf("SET -P 16 -c 50 with one replica: sard %s rps, redis %s rps, ratio (median) %.2f; master CPU per request sard %s µs, redis %s µs",
		fmtList(rps["sard"]), fmtList(rps["redis"]), median(rps["sard"])/median(rps["redis"]), fmtList(cpu["sard"]), fmtList(cpu["redis"]))
	for _, kind := range []string{"sard", "redis"} {
		l := lags[kind]
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		if len(l) == 0 {
			continue
		}
		var sum int64
		for _, v := range l {
			sum += v
		}
		t.Logf("  %s replica lag during the load (bytes, %d samples): mean %d, median %d, p99 %d, max %d",
			kind, len(l), sum/int64(len(l)), l[len(l)/2], l[len(l)*99/100], l[len(l)-1])
	}
}

// setLatency runs redis-benchmark SET -P 1 -c 20 and returns its p99 and max latency (ms).
func setLatency(t *testing.T, bench string, port, n int) [2]float64 {
	out, err := exec.Command(bench, "-p", strconv.Itoa(port), "-t", "set", "-P", "1", "-c", "20",
		"-n", strconv.Itoa(n), "-r", "1000000", "-d", "100", "--csv").CombinedOutput()
	if err != nil {
		t.Errorf("redis-benchmark: %v\n%s", err, out)
		return [2]float64{}
	}
	return [2]float64{csvField(out, "SET", 6), csvField(out, "SET", 7)}
}

// csvField reads column col of redis-benchmark --csv's row for test.
func csvField(out []byte, test string, col int) float64 {
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(strings.ReplaceAll(line, `"`, ""), ",")
		if len(f) == 8 && f[0] == test {
			v, _ := strconv.ParseFloat(f[col], 64)
			return v
		}
	}
	return 0
}

// procCPU is the user+system CPU time a process has used (Linux /proc).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func fmtList(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		if x >= 1000 {
			parts[i] = strconv.FormatFloat(x, 'f', 0, 64)
		} else {
			parts[i] = strconv.FormatFloat(x, 'f', 2, 64)
		}
	}
	return strings.Join(parts, "/")
}
