package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/aof"
	"github.com/sard-kv/sard/internal/testutil"
)

// aofDataset writes every type in both encodings, TTLs, several databases and a stream
// with groups, consumers and pending entries.
func aofDataset(t *testing.T, c *redis.Client) {
	t.Helper()
	ctx := context.Background()
	must := func(cmd redis.Cmder) {
		t.Helper()
		if err := cmd.Err(); err != nil && err != redis.Nil {
			t.Fatalf("%v: %v", cmd.Args(), err)
		}
	}
	must(c.Set(ctx, "str", "hello", 0))
	must(c.Set(ctx, "int", "12345", 0))
	must(c.Set(ctx, "big", strings.Repeat("x", 3000), 0))
	must(c.Set(ctx, "ttl", "v", time.Hour))
	must(c.RPush(ctx, "list", "a", "b", 1, 2))
	for i := 0; i < 300; i++ {
		must(c.RPush(ctx, "biglist", fmt.Sprint("element-", i)))
		must(c.SAdd(ctx, "bigset", fmt.Sprint("m", i)))
		must(c.HSet(ctx, "bighash", fmt.Sprint("f", i), fmt.Sprint("v", i)))
		must(c.ZAdd(ctx, "bigzset", redis.Z{Score: float64(i) / 3, Member: fmt.Sprint("z", i)}))
	}
	must(c.SAdd(ctx, "intset", 1, 2, 3, -7))
	must(c.SAdd(ctx, "set", "x", "y"))
	must(c.HSet(ctx, "hash", "f1", "v1", "f2", "2"))
	must(c.ZAdd(ctx, "zset", redis.Z{Score: 1.5, Member: "a"}, redis.Z{Score: -2, Member: "b"}))
	must(c.Do(ctx, "ZADD", "zinf", "inf", "p", "-inf", "n", "0.1", "t"))
	must(c.Expire(ctx, "biglist", time.Hour))
	for i := 0; i < 5; i++ {
		must(c.XAdd(ctx, &redis.XAddArgs{Stream: "stream", Values: []string{"f", fmt.Sprint(i)}}))
	}
	must(c.XGroupCreate(ctx, "stream", "g1", "0"))
	must(c.XGroupCreate(ctx, "stream", "g2", "$"))
	must(c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g1", Consumer: "c1", Streams: []string{"stream", ">"}, Count: 2, Block: -1}))
	must(c.Do(ctx, "XGROUP", "CREATECONSUMER", "stream", "g1", "idle"))
	must(c.XAdd(ctx, &redis.XAddArgs{Stream: "emptystream", ID: "5-5", Values: []string{"a", "b"}}))
	must(c.XDel(ctx, "emptystream", "5-5"))
	must(c.Do(ctx, "SELECT", "3"))
	must(c.Do(ctx, "MSET", "db3a", "1", "db3b", "2"))
	must(c.Do(ctx, "SELECT", "0"))
}

func aofDigest(t *testing.T, c *redis.Client) string {
	t.Helper()
	d, err := c.Do(context.Background(), "DEBUG", "DIGEST").Text()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// dbsizes reads every database's key count through a pooled client, so SELECT sticks to
// one connection.
func dbKeys(t *testing.T, c *redis.Client) string {
	t.Helper()
	info, err := c.Info(context.Background(), "keyspace").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(info, "\n") {
		if strings.HasPrefix(l, "db") {
			out = append(out, strings.TrimSpace(strings.Split(l, ",expires")[0]))
		}
	}
	return strings.Join(out, " ")
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func bgrewrite(t *testing.T, c *redis.Client) {
	t.Helper()
	ctx := context.Background()
	if err := c.BgRewriteAOF(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	ok := testutil.Poll(20*time.Second, func() bool {
		info, _ := c.Info(ctx, "persistence").Result()
		return strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrite_scheduled:0")
	})
	if !ok {
		t.Fatal("rewrite did not finish")
	}
}

// checkAOF runs redis-check-aof on a manifest.
func checkAOF(t *testing.T, manifest string) {
	t.Helper()
	bin := testutil.RequireTool(t, "redis-check-aof")
	out, err := exec.Command(bin, manifest).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "is valid") {
		t.Fatalf("redis-check-aof %s: %v\n%s", manifest, err, out)
	}
}

// Both directions, with and without the RDB preamble: one server writes an AOF (a
// rewritten base plus commands after it), the other loads it with the same digest.
func TestAOFInterop(t *testing.T) {
	for _, preamble := range []string{"yes", "no"} {
		t.Run("sard-to-redis/preamble-"+preamble, func(t *testing.T) {
			sard := testutil.StartSard(t, "--appendonly", "yes", "--aof-use-rdb-preamble", preamble)
			c := sard.Client()
			aofDataset(t, c)
			bgrewrite(t, c)
			ctx := context.Background()
			c.Set(ctx, "after-rewrite", "1", 0)
			c.Incr(ctx, "int")
			c.LPop(ctx, "list")
			want, keys := aofDigest(t, c), dbKeys(t, c)
			sard.Stop()
			dir := filepath.Join(sard.Dir, "appendonlydir")
			checkAOF(t, filepath.Join(dir, "appendonly.aof.manifest"))
			red := testutil.StartRedis(t)
			red.Stop()
			copyDir(t, dir, filepath.Join(red.Dir, "appendonlydir"))
			red.Args = append(red.Args, "--appendonly", "yes")
			red.Start()
			rc := red.Client()
			if got := aofDigest(t, rc); got != want {
				t.Fatalf("redis digest %s, sard %s (keys %s vs %s)", got, want, dbKeys(t, rc), keys)
			}
		})
		t.Run("redis-to-sard/preamble-"+preamble, func(t *testing.T) {
			red := testutil.StartRedis(t, "--appendonly", "yes", "--aof-use-rdb-preamble", preamble)
			c := red.Client()
			aofDataset(t, c)
			bgrewrite(t, c)
			ctx := context.Background()
			c.Set(ctx, "after-rewrite", "1", 0)
			c.Do(ctx, "MULTI")
			c.Incr(ctx, "int")
			c.Do(ctx, "EXEC")
			c.Do(ctx, "SPOP", "intset")
			want := aofDigest(t, c)
			red.Stop()
			sard := testutil.StartSard(t)
			sard.Stop()
			copyDir(t, filepath.Join(red.Dir, "appendonlydir"), filepath.Join(sard.Dir, "appendonlydir"))
			sard.Args = append(sard.Args, "--appendonly", "yes")
			sard.Start()
			if got := aofDigest(t, sard.Client()); got != want {
				t.Fatalf("sard digest %s, redis %s", got, want)
			}
		})
	}
}

// After a restart sard loads its own AOF, and the layout is Redis's.
func TestAOFRestartAndLayout(t *testing.T) {
	sard := testutil.StartSard(t, "--appendonly", "yes")
	c := sard.Client()
	aofDataset(t, c)
	want := aofDigest(t, c)
	info, _ := c.Info(context.Background(), "persistence").Result()
	for _, f := range []string{"aof_enabled:1", "aof_rewrite_in_progress:0", "aof_last_write_status:ok", "aof_current_size:", "aof_base_size:", "aof_buffer_length:"} {
		if !strings.Contains(info, f) {
			t.Errorf("INFO persistence lacks %q:\n%s", f, info)
		}
	}
	sard.Stop()
	m, err := os.ReadFile(filepath.Join(sard.Dir, "appendonlydir", "appendonly.aof.manifest"))
	if err != nil {
		t.Fatal(err)
	}
	if string(m) != "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n" {
		t.Fatalf("manifest:\n%s", m)
	}
	sard.Start()
	c = sard.Client()
	if got := aofDigest(t, c); got != want {
		t.Fatalf("digest after restart %s, want %s", got, want)
	}
	// two rewrites in a row leave one base, one incr, no history files
	bgrewrite(t, c)
	c.Set(context.Background(), "k", "v", 0)
	bgrewrite(t, c)
	want = aofDigest(t, c)
	var names []string
	// history files are removed in the background, as Redis does
	testutil.Poll(5*time.Second, func() bool {
		ents, _ := os.ReadDir(filepath.Join(sard.Dir, "appendonlydir"))
		names = names[:0]
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return len(names) == 3
	})
	if strings.Join(names, " ") != "appendonly.aof.3.base.rdb appendonly.aof.3.incr.aof appendonly.aof.manifest" {
		t.Fatalf("files after two rewrites: %v", names)
	}
	sard.Restart()
	if got := aofDigest(t, sard.Client()); got != want {
		t.Fatalf("digest after rewrite+restart %s, want %s", got, want)
	}
}

// An incomplete last command is cut with aof-load-truncated yes and stops the start with no.
func TestAOFTruncatedTail(t *testing.T) {
	sard := testutil.StartSard(t, "--appendonly", "yes")
	c := sard.Client()
	c.Set(context.Background(), "a", "1", 0)
	sard.Stop()
	incr := filepath.Join(sard.Dir, "appendonlydir", "appendonly.aof.1.incr.aof")
	before, _ := os.Stat(incr)
	f, _ := os.OpenFile(incr, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$5\r\nab")
	f.Close()

	sard.Args = append(sard.Args, "--aof-load-truncated", "no")
	if err := sard.TryStart(); err == nil {
		t.Fatal("started with a truncated AOF and aof-load-truncated no")
	}
	if !strings.Contains(sard.LogText(), "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof") {
		t.Fatalf("log lacks Redis's message:\n%s", sard.LogTail(10))
	}
	sard.Args = append(sard.Args, "--aof-load-truncated", "yes")
	sard.Start() // returns once PING is answered with anything but -LOADING
	// The server logged the line before it answered, but the log reaches the test through
	// a pipe that another goroutine copies: the line may still be on its way.
	line := fmt.Sprintf("!!! Truncating the AOF appendonly.aof.1.incr.aof at offset %d !!!", before.Size())
	if !testutil.Poll(5*time.Second, func() bool { return strings.Contains(sard.LogText(), line) }) {
		t.Fatalf("log lacks the truncation line:\n%s", sard.LogTail(15))
	}
	c = sard.Client()
	if v, _ := c.Get(context.Background(), "a").Result(); v != "1" {
		t.Fatalf("a = %q", v)
	}
	if n, _ := c.Exists(context.Background(), "b").Result(); n != 0 {
		t.Fatal("the cut command ran")
	}
}

// A corrupt manifest or command stops the start with Redis's reason.
func TestAOFCorruptStopsStart(t *testing.T) {
	sard := testutil.StartSard(t, "--appendonly", "yes")
	sard.Client().Set(context.Background(), "a", "1", 0)
	sard.Stop()
	dir := filepath.Join(sard.Dir, "appendonlydir")
	os.WriteFile(filepath.Join(dir, "appendonly.aof.manifest"), []byte("file a seq 1 type x\n"), 0o644)
	if sard.TryStart() == nil || !strings.Contains(sard.LogText(), "Unknown AOF file type") {
		t.Fatalf("bad manifest accepted:\n%s", sard.LogTail(10))
	}
	os.WriteFile(filepath.Join(dir, "appendonly.aof.manifest"), []byte("file appendonly.aof.1.incr.aof seq 1 type i\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "appendonly.aof.1.incr.aof"), []byte("*1\r\n$4\r\nPING\r\n!garbage\r\n"), 0o644)
	if sard.TryStart() == nil || !strings.Contains(sard.LogText(), "Bad file format reading the append only file appendonly.aof.1.incr.aof") {
		t.Fatalf("bad command file accepted:\n%s", sard.LogTail(10))
	}
}

// A pre-7.0 appendonly.aof in dir becomes the base of a multi-part AOF.
func TestAOFLegacyUpgrade(t *testing.T) {
	sard := testutil.StartSard(t)
	sard.Stop()
	legacy := "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$1\r\nq\r\n$1\r\nw\r\n"
	os.WriteFile(filepath.Join(sard.Dir, "appendonly.aof"), []byte(legacy), 0o644)
	sard.Args = append(sard.Args, "--appendonly", "yes")
	sard.Start()
	if v, _ := sard.Client().Get(context.Background(), "q").Result(); v != "w" {
		t.Fatalf("q = %q", v)
	}
	if !strings.Contains(sard.LogText(), "Successfully migrated an old-style AOF file (appendonly.aof) into the AOF directory (appendonlydir).") {
		t.Fatalf("log:\n%s", sard.LogTail(10))
	}
	m, _ := os.ReadFile(filepath.Join(sard.Dir, "appendonlydir", "appendonly.aof.manifest"))
	if string(m) != "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n" {
		t.Fatalf("manifest:\n%s", m)
	}
	if _, err := os.Stat(filepath.Join(sard.Dir, "appendonly.aof")); err == nil {
		t.Fatal("legacy file left in dir")
	}
}

// CONFIG SET appendonly yes builds the AOF from the dataset; no stops it.
func TestAOFConfigSetAtRunTime(t *testing.T) {
	sard := testutil.StartSard(t)
	c := sard.Client()
	ctx := context.Background()
	aofDataset(t, c)
	if err := c.ConfigSet(ctx, "appendonly", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	testutil.Poll(10*time.Second, func() bool {
		info, _ := c.Info(ctx, "persistence").Result()
		return strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrites:1")
	})
	c.Set(ctx, "later", "x", 0)
	want := aofDigest(t, c)
	sard.Stop()
	sard.Args = append(sard.Args, "--appendonly", "yes")
	sard.Start()
	c = sard.Client()
	if got := aofDigest(t, c); got != want {
		t.Fatalf("digest %s, want %s", got, want)
	}
	if err := c.ConfigSet(ctx, "appendonly", "no").Err(); err != nil {
		t.Fatal(err)
	}
	if info, _ := c.Info(ctx, "persistence").Result(); !strings.Contains(info, "aof_enabled:0") {
		t.Fatal("AOF still enabled")
	}
}

// writeLoad runs clients doing SET until stop, recording each acknowledged key with the
// time of its acknowledgement.
type ackLog struct {
	mu   sync.Mutex
	acks map[string]time.Time
}

func writeLoad(addr string, clients int, stop <-chan struct{}, log *ackLog, seq *atomic.Int64) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, PoolSize: 1, ReadTimeout: 30 * time.Second})
			defer c.Close()
			for {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprint("k", seq.Add(1))
				if c.Set(context.Background(), k, k, 0).Err() != nil {
					return
				}
				log.mu.Lock()
				log.acks[k] = time.Now()
				log.mu.Unlock()
			}
		}()
	}
	return &wg
}

// crashCycles kills sard at random moments under load and checks what was acknowledged.
func crashCycles(t *testing.T, cycles int, fsync string, grace time.Duration) {
	sard := testutil.StartSard(t, "--appendonly", "yes", "--appendfsync", fsync,
		"--auto-aof-rewrite-min-size", "200kb", "--auto-aof-rewrite-percentage", "50")
	log := &ackLog{acks: map[string]time.Time{}}
	var seq atomic.Int64
	var kills []time.Time
	// atRisk: a write acknowledged within grace of the first kill after it may be lost
	// (everysec); it stays excused in later cycles, since it was lost at that kill.
	atRisk := func(at time.Time) bool {
		for _, k := range kills {
			if k.After(at) {
				return at.After(k.Add(-grace))
			}
		}
		return true
	}
	for cycle := 0; cycle < cycles; cycle++ {
		stop := make(chan struct{})
		wg := writeLoad(sard.Addr, 8, stop, log, &seq)
		time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond)
		kills = append(kills, time.Now())
		sard.Kill()
		close(stop)
		wg.Wait()
		if err := sard.TryStart(); err != nil {
			t.Fatalf("cycle %d: %v", cycle, err)
		}
		c := redis.NewClient(&redis.Options{Addr: sard.Addr, ReadTimeout: 30 * time.Second})
		log.mu.Lock()
		keys := make([]string, 0, len(log.acks))
		for k, at := range log.acks {
			if !atRisk(at) {
				keys = append(keys, k)
			}
		}
		log.mu.Unlock()
		missing := 0
		for i := 0; i < len(keys); i += 500 {
			batch := keys[i:min(i+500, len(keys))]
			vals, err := c.MGet(context.Background(), batch...).Result()
			if err != nil {
				t.Fatal(err)
			}
			for j, v := range vals {
				if v == nil {
					missing++
					if missing < 5 {
						t.Errorf("cycle %d: acknowledged %s missing", cycle, batch[j])
					}
				}
			}
		}
		c.Close()
		if missing > 0 {
			t.Fatalf("cycle %d: %d of %d acknowledged writes missing", cycle, missing, len(keys))
		}
	}
	t.Logf("%d cycles, %d acknowledged writes, all present", cycles, len(log.acks))
}

// With appendfsync always no acknowledged write is lost by kill -9 (SARD_CRASH=1: 50 cycles).
func TestAOFCrashAlways(t *testing.T) {
	cycles := 5
	if os.Getenv("SARD_CRASH") == "1" {
		cycles = 50
	} else if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	crashCycles(t, cycles, "always", 0)
}

// With everysec a process crash loses nothing written before the last second: every batch
// is written to the file as it arrives.
func TestAOFCrashEverysec(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	crashCycles(t, 3, "everysec", 1500*time.Millisecond)
}

// A kill during a rewrite leaves a manifest naming complete files: the data loads.
func TestAOFCrashDuringRewrite(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	for _, preamble := range []string{"yes", "no"} {
		t.Run("preamble-"+preamble, func(t *testing.T) {
			sard := testutil.StartSard(t, "--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", preamble)
			c := sard.Client()
			ctx := context.Background()
			pipe := c.Pipeline()
			for i := 0; i < 200000; i++ {
				pipe.Set(ctx, fmt.Sprint("pre", i), i, 0)
				if i%1000 == 999 {
					pipe.Exec(ctx)
				}
			}
			pipe.Exec(ctx)
			for cycle := 0; cycle < 4; cycle++ {
				c = sard.Client()
				c.Set(ctx, fmt.Sprint("cycle", cycle), "x", 0)
				if err := c.BgRewriteAOF(ctx).Err(); err != nil {
					t.Fatal(err)
				}
				c.Set(ctx, fmt.Sprint("during", cycle), "x", 0)
				time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
				sard.Kill()
				sard.Start()
				c = sard.Client()
				m, err := os.ReadFile(filepath.Join(sard.Dir, "appendonlydir", "appendonly.aof.manifest"))
				if err != nil {
					t.Fatal(err)
				}
				man, err := aof.ParseManifest(m)
				if err != nil || man.Base == nil {
					t.Fatalf("manifest %q: %v", m, err)
				}
				if n, _ := c.DBSize(ctx).Result(); n != int64(200000+2*(cycle+1)) {
					t.Fatalf("cycle %d: %d keys", cycle, n)
				}
			}
		})
	}
}
