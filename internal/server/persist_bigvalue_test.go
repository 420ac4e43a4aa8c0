package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// bigValueDataset builds large values of every kind a snapshot writes across steps (a
// hashtable set and hash, a skiplist sorted set, a list of many nodes, a stream of many
// nodes), strings large enough to go to the file side by reference (compressible and
// not), and small keys around them. Lua keeps the round trips few.
func bigValueDataset(t *testing.T, c *redis.Client, scale int) {
	bigValueDatasetOpt(t, c, scale, true)
}

// bigValueDatasetOpt is bigValueDataset; without populate the small keys are written with
// SET, which, unlike DEBUG POPULATE, reaches the AOF.
func bigValueDatasetOpt(t *testing.T, c *redis.Client, scale int, populate bool) {
	t.Helper()
	ctx := context.Background()
	run := func(script string, args ...any) {
		t.Helper()
		if err := c.Eval(ctx, script, nil, args...).Err(); err != nil && err != redis.Nil {
			t.Fatalf("%s: %v", script, err)
		}
	}
	run("for i=1,tonumber(ARGV[1]) do redis.call('SADD','bigset','member:'..i) end", 3*scale)
	run("for i=1,tonumber(ARGV[1]) do redis.call('HSET','bighash','f'..i,'value:'..i) end", 2*scale)
	run("for i=1,tonumber(ARGV[1]) do redis.call('ZADD','bigzset',i/3,'m'..i) end", 2*scale)
	run("for i=1,tonumber(ARGV[1]) do redis.call('RPUSH','biglist','element:'..i) end", 3*scale)
	run("for i=1,tonumber(ARGV[1]) do redis.call('XADD','bigstream','*','f',i) end", scale/2)
	run("redis.call('XGROUP','CREATE','bigstream','g','0') redis.call('XREADGROUP','GROUP','g','c','COUNT',10,'STREAMS','bigstream','>')")
	// 6 MB of zero bytes (compresses to little) and 40*scale bytes that LZF can't shrink.
	if err := c.SetRange(ctx, "zeros", 6<<20, "end").Err(); err != nil {
		t.Fatal(err)
	}
	run("local t={} for i=1,tonumber(ARGV[1]) do t[#t+1]=string.format('%08x',(i*2654435761)%4294967296) end redis.call('SET','noise',table.concat(t))", 5*scale)
	for _, k := range []string{"appendme", "overwriteme", "deleteme", "expireme", "renameme"} {
		if err := c.SetRange(ctx, k, 200<<10, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if !populate {
		run("for i=0,tonumber(ARGV[1])-1 do redis.call('SET','small:'..i,'value:'..i) end", scale)
		return
	}
	if err := c.Do(ctx, "DEBUG", "POPULATE", scale, "small", 20).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestBgsaveBigValuesConsistent checks the point-in-time property for values written
// across steps or read outside the lock: while a BGSAVE runs, clients change every large
// value in place (SADD/SREM, HSET/HDEL, ZADD/ZREM, RPUSH/LPOP, XADD/XACK, APPEND,
// SETRANGE, SETBIT), overwrite, rename, expire and delete large strings, and flush another
// database; the file must still hold the dataset as it was when the save began.
func TestBgsaveBigValuesConsistent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sard-server process; skipped with -short")
	}
	ctx := context.Background()
	// rdb-key-save-delay makes the walk slow (between steps, off the lock), so the writers
	// below meet it at every stage.
	sard := testutil.StartSard(t, "--save", "", "--rdb-key-save-delay", "20")
	c := singleClient(sard)
	bigValueDataset(t, c, 20000)
	if err := c.Do(ctx, "SELECT", 2).Err(); err != nil {
		t.Fatal(err)
	}
	c.Do(ctx, "DEBUG", "POPULATE", 1000, "db2", 10)
	c.Do(ctx, "SELECT", 0)
	want := c.Do(ctx, "DEBUG", "DIGEST").Val()
	keys := c.DBSize(ctx).Val()

	for round := 0; round < 3; round++ {
		if err := c.Do(ctx, "BGSAVE").Err(); err != nil {
			t.Fatal(err)
		}
		w := singleClient(sard)
		var stop atomic.Bool
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				p := w.Pipeline()
				p.SAdd(ctx, "bigset", fmt.Sprint("new", i))
				p.SRem(ctx, "bigset", fmt.Sprint("member:", i*7+1))
				p.HSet(ctx, "bighash", fmt.Sprint("f", i*5+1), "changed")
				p.HDel(ctx, "bighash", fmt.Sprint("f", i*5+2))
				p.ZAdd(ctx, "bigzset", redis.Z{Score: -float64(i), Member: fmt.Sprint("m", i*3+1)})
				p.ZRem(ctx, "bigzset", fmt.Sprint("m", i*3+2))
				p.RPush(ctx, "biglist", "tail")
				p.LPop(ctx, "biglist")
				p.XAdd(ctx, &redis.XAddArgs{Stream: "bigstream", Values: []string{"new", "1"}})
				p.Append(ctx, "appendme", "more")
				p.SetRange(ctx, "zeros", int64(i%1000)*4096, "dirty")
				p.SetBit(ctx, "noise", int64(i%50000)*8, 1)
				p.SetRange(ctx, fmt.Sprint("small:", i%20000), 0, "changed")
				p.Exec(ctx)
				switch i {
				case 3:
					w.Set(ctx, "overwriteme", strings.Repeat("o", 300<<10), 0)
					w.Del(ctx, "deleteme")
				case 6:
					w.PExpire(ctx, "expireme", time.Millisecond)
					w.Rename(ctx, "renameme", "renamed")
				case 9:
					w.Do(ctx, "SELECT", 2)
					w.FlushDB(ctx)
					w.Do(ctx, "SELECT", 0)
				}
			}
		}()
		testutil.Eventually(t, 60*time.Second, func() bool {
			return strings.Contains(c.Info(ctx, "persistence").Val(), "rdb_bgsave_in_progress:0")
		}, "BGSAVE did not finish")
		stop.Store(true)
		wg.Wait()
		if !strings.Contains(c.Info(ctx, "persistence").Val(), "rdb_last_bgsave_status:ok") {
			t.Fatal("BGSAVE failed")
		}
		checkRDBFile(t, filepath.Join(sard.Dir, "dump.rdb"))
		if err := c.Do(ctx, "DEBUG", "RELOAD", "NOSAVE").Err(); err != nil {
			t.Fatal(err)
		}
		if got := c.Do(ctx, "DEBUG", "DIGEST").Val(); got != want {
			t.Fatalf("round %d: dataset after reload digests %v, want the one at BGSAVE time %v", round, got, want)
		}
		if got := c.DBSize(ctx).Val(); got != keys {
			t.Fatalf("round %d: %d keys after reload, want %d", round, got, keys)
		}
	}
}

// keyDigests maps every key of database 0 to its DEBUG DIGEST-VALUE.
func keyDigests(t *testing.T, c *redis.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		d, _ := c.Do(ctx, "DEBUG", "DIGEST-VALUE", k).StringSlice()
		out[k] = strings.Join(d, "")
	}
	return out
}

// checkRDBFile runs redis-check-rdb on a file when it is installed.
func checkRDBFile(t *testing.T, path string) {
	t.Helper()
	bin, err := exec.LookPath("redis-check-rdb")
	if err != nil {
		return
	}
	out, err := exec.Command(bin, path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "RDB looks OK") {
		t.Fatalf("redis-check-rdb %s: %v\n%s", path, err, out)
	}
}

// TestRewriteBigValuesConsistent is the same property for BGREWRITEAOF, whose base is the
// same kind of snapshot and whose incremental file must replay on top of it.
func TestRewriteBigValuesConsistent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sard-server process; skipped with -short")
	}
	ctx := context.Background()
	sard := testutil.StartSard(t, "--save", "", "--appendonly", "yes", "--rdb-key-save-delay", "20")
	c := singleClient(sard)
	bigValueDataset(t, c, 20000)
	if err := c.BgRewriteAOF(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	w := singleClient(sard)
	for i := 0; strings.Contains(c.Info(ctx, "persistence").Val(), "aof_rewrite_in_progress:1") || i < 10; i++ {
		p := w.Pipeline()
		p.SAdd(ctx, "bigset", fmt.Sprint("new", i))
		p.HSet(ctx, "bighash", fmt.Sprint("f", i*5+1), "changed")
		p.ZRem(ctx, "bigzset", fmt.Sprint("m", i*3+2))
		p.LPop(ctx, "biglist")
		p.Append(ctx, "appendme", "more")
		p.SetRange(ctx, "zeros", int64(i%1000)*4096, "dirty")
		p.Del(ctx, fmt.Sprint("small:", i))
		p.Exec(ctx)
		if i == 5 {
			w.FlushAll(ctx) // the rewrite goes on: the FLUSHALL follows its base
			bigValueDatasetOpt(t, w, 2000, false)
		}
	}
	if !strings.Contains(c.Info(ctx, "persistence").Val(), "aof_last_bgrewrite_status:ok") {
		t.Fatal("rewrite failed")
	}
	want := c.Do(ctx, "DEBUG", "DIGEST").Val()
	before := keyDigests(t, c)
	sard.Restart()
	c = singleClient(sard)
	if got := c.Do(ctx, "DEBUG", "DIGEST").Val(); got != want {
		after := keyDigests(t, c)
		for k, d := range before {
			if after[k] != d {
				t.Errorf("key %q: digest %s before restart, %s after", k, d, after[k])
			}
		}
		for k := range after {
			if _, ok := before[k]; !ok {
				t.Errorf("key %q appeared", k)
			}
		}
		t.Fatalf("dataset after restart digests %v, want %v", got, want)
	}
}

// TestBgsaveBigValueLatency measures what a forkless BGSAVE of one huge value costs the
// other clients: a probe sends PING round trips on its own connection while the dataset
// is saved, and the test reports the slowest round trip and how many took over 1 ms.
// SARD_BIGVALUE_BENCH=1 enables it; SARD_BIN points at the binary to measure.
func TestBgsaveBigValueLatency(t *testing.T) {
	if os.Getenv("SARD_BIGVALUE_BENCH") == "" {
		t.Skip("set SARD_BIGVALUE_BENCH=1 to measure BGSAVE stalls on huge values")
	}
	ctx := context.Background()
	cases := []struct {
		name  string
		build string
		arg   int
	}{
		{"set of 5,000,000 members", "for i=tonumber(ARGV[2]),tonumber(ARGV[2])+tonumber(ARGV[1])-1 do redis.call('SADD','v','member:'..i) end", 5000000},
		{"sorted set of 2,000,000 members", "for i=tonumber(ARGV[2]),tonumber(ARGV[2])+tonumber(ARGV[1])-1 do redis.call('ZADD','v',i,'m'..i) end", 2000000},
		{"string of 500 MB", "redis.call('SETRANGE','v',tonumber(ARGV[1])-1,'x')", 500 << 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sard := testutil.StartSard(t, "--save", "", "--proto-max-bulk-len", "1gb", "--loglevel", "verbose")
			c := singleClient(sard)
			// In pieces of at most 500,000, so no one script runs for long.
			for done := 0; done < tc.arg; {
				n := min(tc.arg-done, 500000)
				if tc.arg > 1<<24 {
					n = tc.arg
				}
				if err := c.Eval(ctx, tc.build, nil, n, done+1).Err(); err != nil && err != redis.Nil {
					t.Fatal(err)
				}
				done += n
			}
			pid := sard.Cmd.Process.Pid
			rss0 := rssKB(pid)
			base := startProbe(t, sard)
			time.Sleep(500 * time.Millisecond)
			bs := base.stop()
			t.Logf("%s: PING round trips without a save, for reference: %d, p99 %v, max %v, over 1 ms: %d",
				tc.name, bs.n, bs.p99, bs.max, bs.over1ms)
			probe := startProbe(t, sard)
			time.Sleep(200 * time.Millisecond)
			start := time.Now()
			if err := c.Do(ctx, "BGSAVE").Err(); err != nil {
				t.Fatal(err)
			}
			peak := rss0
			for strings.Contains(c.Info(ctx, "persistence").Val(), "rdb_bgsave_in_progress:1") {
				peak = max(peak, rssKB(pid))
				time.Sleep(10 * time.Millisecond)
			}
			took := time.Since(start)
			st := probe.stop()
			t.Logf("%s: BGSAVE %v; PING round trips during it: %d, p99 %v, max %v, over 1 ms: %d; RSS %d MB, peak +%d MB",
				tc.name, took.Round(time.Millisecond), st.n, st.p99, st.max, st.over1ms, rss0>>10, (peak-rss0)>>10)
			for _, l := range strings.Split(sard.LogText(), "\n") {
				if strings.Contains(l, "steps, longest") {
					t.Logf("%s: %s", tc.name, l[strings.Index(l, "Background"):])
				}
			}
		})
	}
}

type probeStats struct {
	n, over1ms int
	p99, max   time.Duration
}

type probe struct {
	stopped atomic.Bool
	done    chan probeStats
}

// startProbe sends PING round trips back to back on a raw connection until stop.
func startProbe(t *testing.T, s *testutil.Server) *probe {
	rc := s.Raw()
	p := &probe{done: make(chan probeStats, 1)}
	go func() {
		var lat []time.Duration
		for !p.stopped.Load() {
			t0 := time.Now()
			if _, err := rc.Do("PING"); err != nil {
				break
			}
			lat = append(lat, time.Since(t0))
		}
		var st probeStats
		st.n = len(lat)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		if len(lat) > 0 {
			st.max = lat[len(lat)-1]
			st.p99 = lat[len(lat)*99/100]
		}
		for _, d := range lat {
			if d > time.Millisecond {
				st.over1ms++
			}
		}
		p.done <- st
	}()
	return p
}

func (p *probe) stop() probeStats {
	p.stopped.Store(true)
	return <-p.done
}
