package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// rdbDatasetConfig gives small encoding thresholds so the dataset holds every encoding
// (both of each type) without being large, and compresses inner list nodes.
var rdbDatasetConfig = []string{
	"--hash-max-listpack-entries", "8", "--zset-max-listpack-entries", "8",
	"--set-max-intset-entries", "8", "--list-max-listpack-size", "4", "--list-compress-depth", "1",
}

// buildRDBDataset writes the same keys on either server: every type and encoding, TTLs,
// several databases, compressible and integer strings, streams with groups and PELs.
func buildRDBDataset(t *testing.T, c *redis.Client) {
	t.Helper()
	ctx := context.Background()
	do := func(args ...any) {
		t.Helper()
		if err := c.Do(ctx, args...).Err(); err != nil && err != redis.Nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	for db := 0; db < 3; db++ {
		do("SELECT", db)
		p := fmt.Sprintf("db%d:", db)
		do("SET", p+"str", "hello")
		do("SET", p+"int8", "-12")
		do("SET", p+"int16", "12345")
		do("SET", p+"int32", "-2000000000")
		do("SET", p+"int64", "9223372036854775807")
		do("SET", p+"lead0", "007")
		do("SET", p+"empty", "")
		do("SET", p+"long", strings.Repeat("abcdefgh", 200))
		do("SET", p+"rand", "x\x00\xff\r\nbinary"+strings.Repeat("z", 30))
		do("SET", p+"ttl", "v", "PX", 100000000)
		do("RPUSH", p+"list-small", "a", "1", "-5", "bb")
		for i := 0; i < 60; i++ {
			do("RPUSH", p+"list-big", fmt.Sprintf("element-%d-%s", i, strings.Repeat("q", i%13)), i*1000)
		}
		do("SADD", p+"set-int", 1, 2, 3, -100, 70000, 5000000000)
		do("SADD", p+"set-ht", "a", "b", "c", 1)
		for i := 0; i < 20; i++ {
			do("SADD", p+"set-bigint", i*7)
		}
		do("HSET", p+"hash-lp", "f1", "v1", "f2", 2, "n", "-3")
		for i := 0; i < 20; i++ {
			do("HSET", p+"hash-ht", fmt.Sprintf("field%d", i), strings.Repeat("v", i))
		}
		do("HSET", p+"hash-longval", "f", strings.Repeat("x", 100))
		do("ZADD", p+"zset-lp", 1, "a", 2.5, "b", -3, "c", "inf", "d")
		for i := 0; i < 20; i++ {
			do("ZADD", p+"zset-sl", float64(i)*1.25-7, fmt.Sprintf("m%d", i))
		}
		do("PEXPIRE", p+"zset-sl", 50000000)
		for i := 1; i <= 30; i++ {
			do("XADD", p+"stream", fmt.Sprintf("%d-%d", 1000+i, i), "f", i, "g", strings.Repeat("s", i))
		}
		do("XADD", p+"stream", "2000-1", "other", "fields")
		do("XDEL", p+"stream", "1003-3", "1010-10")
		do("XGROUP", "CREATE", p+"stream", "g1", "0")
		do("XGROUP", "CREATE", p+"stream", "g2", "$")
		do("XREADGROUP", "GROUP", "g1", "alice", "COUNT", 3, "STREAMS", p+"stream", ">")
		do("XREADGROUP", "GROUP", "g1", "bob", "COUNT", 2, "STREAMS", p+"stream", ">")
		do("XACK", p+"stream", "g1", "1001-1")
		do("XGROUP", "CREATECONSUMER", p+"stream", "g2", "carol")
		do("XGROUP", "CREATE", p+"stream-empty", "g", "$", "MKSTREAM")
		do("PFADD", p+"hll", "a", "b", "c")
	}
	do("SELECT", 0)
}

// digests returns DEBUG DIGEST and every key's DIGEST-VALUE per database.
func digests(t *testing.T, c *redis.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{"*": c.Do(ctx, "DEBUG", "DIGEST").Val().(string)}
	for db := 0; db < 3; db++ {
		c.Do(ctx, "SELECT", db)
		for _, k := range c.Keys(ctx, "*").Val() {
			out[fmt.Sprintf("%d/%s", db, k)] = fmt.Sprint(c.Do(ctx, "DEBUG", "DIGEST-VALUE", k).Val())
		}
	}
	c.Do(ctx, "SELECT", 0)
	return out
}

func compareDigests(t *testing.T, want, got map[string]string) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("key count differs: %d vs %d", len(want), len(got))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("digest of %s: want %s got %s", k, v, got[k])
		}
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// singleClient opens a client with one connection, so SELECT sticks, and long timeouts:
// the machines running these tests are shared and slow at times.
func singleClient(s *testutil.Server) *redis.Client {
	return s.Client(func(o *redis.Options) {
		o.PoolSize = 1
		o.ReadTimeout, o.WriteTimeout = 30*time.Second, 30*time.Second
		o.MaxRetries = -1
	})
}

// saveSeed keeps a dump as a fuzzing seed of internal/rdb when SARD_RDB_SEEDS names a
// directory (internal/rdb/testdata is where the seeds live).
func saveSeed(t *testing.T, src, name string) {
	if dir := os.Getenv("SARD_RDB_SEEDS"); dir != "" {
		copyFile(t, src, filepath.Join(dir, name))
	}
}

// TestRDBInterop moves a dump in both directions between redis-server and sard and checks
// that the datasets digest the same, and that redis-check-rdb accepts sard's file.
func TestRDBInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server and redis-server processes; skipped with -short")
	}
	ctx := context.Background()
	for _, compression := range []string{"yes", "no"} {
		t.Run("rdbcompression-"+compression, func(t *testing.T) {
			args := append([]string{"--rdbcompression", compression}, rdbDatasetConfig...)
			red := testutil.StartRedis(t, args...)
			sard := testutil.StartSard(t, append(args, "--save", "")...)
			rc, sc := singleClient(red), singleClient(sard)

			// redis -> sard
			buildRDBDataset(t, rc)
			want := digests(t, rc)
			if err := rc.Save(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			sard.Stop()
			copyFile(t, filepath.Join(red.Dir, "dump.rdb"), filepath.Join(sard.Dir, "dump.rdb"))
			saveSeed(t, filepath.Join(red.Dir, "dump.rdb"), "redis-"+compression+".rdb")
			sard.Start()
			sc = singleClient(sard)
			compareDigests(t, want, digests(t, sc))
			if !strings.Contains(sard.LogText(), "Loading RDB produced by version 7.0.15") {
				t.Error("sard did not log the RDB version it loaded")
			}

			// sard -> redis, from a dataset built on sard itself
			sc.FlushAll(ctx)
			buildRDBDataset(t, sc)
			want = digests(t, sc)
			if err := sc.Save(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(testutil.RequireTool(t, "redis-check-rdb"), filepath.Join(sard.Dir, "dump.rdb")).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "RDB looks OK") {
				t.Errorf("redis-check-rdb refused sard's file: %v\n%s", err, out)
			}
			red.Stop()
			copyFile(t, filepath.Join(sard.Dir, "dump.rdb"), filepath.Join(red.Dir, "dump.rdb"))
			saveSeed(t, filepath.Join(sard.Dir, "dump.rdb"), "sard-"+compression+".rdb")
			red.Start()
			compareDigests(t, want, digests(t, singleClient(red)))
		})
	}
}

// TestDumpRestoreInterop restores every key's DUMP payload across the two servers.
func TestDumpRestoreInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server and redis-server processes; skipped with -short")
	}
	ctx := context.Background()
	red := testutil.StartRedis(t, rdbDatasetConfig...)
	sard := testutil.StartSard(t, append(rdbDatasetConfig, "--save", "")...)
	for _, dir := range []struct {
		name     string
		from, to *testutil.Server
	}{{"redis-to-sard", red, sard}, {"sard-to-redis", sard, red}} {
		t.Run(dir.name, func(t *testing.T) {
			from, to := singleClient(dir.from), singleClient(dir.to)
			from.FlushAll(ctx)
			to.FlushAll(ctx)
			buildRDBDataset(t, from)
			keys := from.Keys(ctx, "*").Val()
			if len(keys) < 20 {
				t.Fatalf("dataset too small: %d keys", len(keys))
			}
			for _, k := range keys {
				payload := from.Dump(ctx, k).Val()
				ttl := max(from.PTTL(ctx, k).Val().Milliseconds(), 0)
				if err := to.Do(ctx, "RESTORE", k, ttl, payload).Err(); err != nil {
					t.Errorf("RESTORE %s: %v", k, err)
					continue
				}
				a := from.Do(ctx, "DEBUG", "DIGEST-VALUE", k).Val()
				b := to.Do(ctx, "DEBUG", "DIGEST-VALUE", k).Val()
				if fmt.Sprint(a) != fmt.Sprint(b) {
					t.Errorf("%s: digest %v after restore, want %v", k, b, a)
				}
				// Strings are re-encoded on restore (embstr/int/raw by length), collections not.
				if from.Type(ctx, k).Val() == "string" {
					continue
				}
				if ea, eb := from.ObjectEncoding(ctx, k).Val(), to.ObjectEncoding(ctx, k).Val(); ea != eb {
					t.Errorf("%s: encoding %s after restore, want %s", k, eb, ea)
				}
			}
		})
	}
}

// TestBgsaveConsistentWhileWriting checks the point-in-time property: keys changed, deleted
// and created while a BGSAVE runs reach the file as they were when it started.
func TestBgsaveConsistentWhileWriting(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sard-server process; skipped with -short")
	}
	ctx := context.Background()
	sard := testutil.StartSard(t, "--save", "")
	c := singleClient(sard)
	const n = 200000
	if err := c.Do(ctx, "DEBUG", "POPULATE", n, "key", 10).Err(); err != nil {
		t.Fatal(err)
	}
	c.Del(ctx, "key:5")
	c.HSet(ctx, "key:5", "f", "v") // one key of another type
	c.ZAdd(ctx, "zs", redis.Z{Score: 1, Member: "m"})
	want := c.Do(ctx, "DEBUG", "DIGEST").Val()
	if err := c.Do(ctx, "BGSAVE").Err(); err != nil {
		t.Fatal(err)
	}
	// Change keys from both ends of the walk while it runs.
	for i := 0; i < 2000; i++ {
		c.Set(ctx, fmt.Sprintf("key:%d", i), "changed", 0)
		c.Del(ctx, fmt.Sprintf("key:%d", n-1-i))
		c.Set(ctx, fmt.Sprintf("new:%d", i), "x", 0)
		c.Rename(ctx, fmt.Sprintf("key:%d", n/2+i), fmt.Sprintf("renamed:%d", i))
		c.HSet(ctx, "key:5", fmt.Sprintf("f%d", i), "v")
		c.ZIncrBy(ctx, "zs", 1, "m")
	}
	testutil.Eventually(t, 30*time.Second, func() bool {
		return strings.Contains(c.Info(ctx, "persistence").Val(), "rdb_bgsave_in_progress:0")
	}, "BGSAVE did not finish")
	if !strings.Contains(c.Info(ctx, "persistence").Val(), "rdb_last_bgsave_status:ok") {
		t.Fatal("BGSAVE failed")
	}
	if err := c.Do(ctx, "DEBUG", "RELOAD", "NOSAVE").Err(); err != nil {
		t.Fatal(err)
	}
	if got := c.Do(ctx, "DEBUG", "DIGEST").Val(); got != want {
		t.Errorf("dataset after reload digests %v, want the one at BGSAVE time %v", got, want)
	}
	if got := c.DBSize(ctx).Val(); got != n+1 {
		t.Errorf("dbsize after reload %d, want %d", got, n)
	}
}
