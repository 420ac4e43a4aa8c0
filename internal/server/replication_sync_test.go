package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// Two replicas asking together are served by one snapshot streamed to both sockets: a sard
// replica and a Redis one, with repl-diskless-sync-max-replicas 2 starting the sync as soon
// as both wait.
func TestReplFullSyncDisklessShared(t *testing.T) {
	master := testutil.StartSard(t, append([]string{"--repl-diskless-sync", "yes",
		"--repl-diskless-sync-delay", "30", "--repl-diskless-sync-max-replicas", "2"}, rdbDatasetConfig...)...)
	mc := master.Client(func(o *redis.Options) { o.PoolSize = 1 })
	buildRDBDataset(t, mc)
	r1 := testutil.StartSard(t)
	r2 := testutil.StartRedis(t, rdbDatasetConfig...)
	c1, c2 := r1.Client(), r2.Client()
	replicaof(t, c1, master)
	// One replica alone waits for the delay (30 s here) or a second replica.
	time.Sleep(500 * time.Millisecond)
	if got := replInfo(t, mc, "replication", "slave0"); !strings.Contains(got, "state=wait_bgsave") {
		t.Fatalf("first replica before the second asked: slave0:%s", got)
	}
	replicaof(t, c2, master)
	waitLinkUp(t, c1)
	waitLinkUp(t, c2)
	waitSameDigest(t, mc, c1)
	waitSameDigest(t, mc, c2)
	log := master.LogText()
	if n := strings.Count(log, "Starting BGSAVE for SYNC with target: replicas sockets"); n != 1 {
		t.Fatalf("%d snapshots for two replicas:\n%s", n, log)
	}
	if !strings.Contains(log, "Delay next BGSAVE for diskless SYNC") {
		t.Fatalf("the first replica was not delayed:\n%s", log)
	}
	if got := replInfo(t, mc, "stats", "sync_full"); got != "2" {
		t.Fatalf("sync_full:%s", got)
	}
	liveWrites(t, mc, "after")
	waitSameDigest(t, mc, c1)
	waitSameDigest(t, mc, c2)
}

// Disk-based sync: a BGSAVE to dbfilename, then "$<len>" and the file to each replica.
// With rdb-del-sync-files and no persistence the file is removed once sent.
func TestReplFullSyncDisk(t *testing.T) {
	master := testutil.StartSard(t, append([]string{"--repl-diskless-sync", "no", "--save", "",
		"--rdb-del-sync-files", "yes"}, rdbDatasetConfig...)...)
	mc := master.Client(func(o *redis.Options) { o.PoolSize = 1 })
	buildRDBDataset(t, mc)
	r1 := testutil.StartSard(t)
	r2 := testutil.StartRedis(t, rdbDatasetConfig...)
	c1, c2 := r1.Client(), r2.Client()
	replicaof(t, c1, master)
	replicaof(t, c2, master)
	waitLinkUp(t, c1)
	waitLinkUp(t, c2)
	waitSameDigest(t, mc, c1)
	waitSameDigest(t, mc, c2)
	for _, c := range []*redis.Client{c1, c2} {
		if got := replInfo(t, c, "replication", "master_sync_in_progress"); got != "0" {
			t.Fatalf("after the sync: master_sync_in_progress:%s", got)
		}
	}
	log := master.LogText()
	if !strings.Contains(log, "Starting BGSAVE for SYNC with target: disk") {
		t.Fatalf("no disk BGSAVE for SYNC:\n%s", log)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(master.Dir, "dump.rdb"))
		return os.IsNotExist(err)
	}, "rdb-del-sync-files removed the RDB written for the replicas")
	liveWrites(t, mc, "after")
	waitSameDigest(t, mc, c1)
	waitSameDigest(t, mc, c2)
	// A disk-loading sard replica keeps the payload as its dump (it has save points off but
	// rdb-del-sync-files no).
	if _, err := os.Stat(filepath.Join(r1.Dir, "dump.rdb")); err != nil {
		t.Fatalf("the sard replica did not keep the payload: %v", err)
	}
}

// Writes keep flowing while a full sync of a larger dataset runs, FLUSHALL included (it
// aborts the snapshot; the replica comes back for a new one): the replica ends with the
// master's data, for both targets.
func TestReplFullSyncUnderWrites(t *testing.T) {
	for _, diskless := range []string{"yes", "no"} {
		t.Run("diskless="+diskless, func(t *testing.T) {
			master := testutil.StartSard(t, "--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0", "--save", "")
			mc := master.Client()
			ctx := context.Background()
			if err := mc.Do(ctx, "DEBUG", "POPULATE", 200000, "key", 20).Err(); err != nil {
				t.Fatal(err)
			}
			replica := testutil.StartSard(t, "--repl-diskless-load", map[string]string{"yes": "swapdb", "no": "disabled"}[diskless])
			rc := replica.Client()
			var stop atomic.Bool
			var wg sync.WaitGroup
			var writes atomic.Int64
			for w := 0; w < 3; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := master.Client(func(o *redis.Options) { o.PoolSize = 1 })
					defer c.Close()
					for i := 0; !stop.Load(); i++ {
						k := fmt.Sprintf("key:%d", (i*7919+w*104729)%200000)
						pipe := c.Pipeline()
						pipe.Set(ctx, k, i, 0)
						pipe.Append(ctx, k, "x")
						pipe.Del(ctx, fmt.Sprintf("key:%d", (i*31+w)%200000))
						pipe.HSet(ctx, fmt.Sprintf("h:%d", i%100), "f", i)
						pipe.ZAdd(ctx, "z", redis.Z{Score: float64(i), Member: w})
						if _, err := pipe.Exec(ctx); err != nil {
							t.Errorf("writer: %v", err)
							return
						}
						writes.Add(5)
					}
				}()
			}
			time.Sleep(100 * time.Millisecond)
			replicaof(t, rc, master)
			time.Sleep(50 * time.Millisecond)
			mc.FlushAll(ctx)
			// Refill with MSET, not DEBUG POPULATE: DEBUG is not propagated (as in Redis), so
			// keys it creates after a quick sync finished would never reach the replica.
			refill := mc.Pipeline()
			for i := 0; i < 100000; i += 1000 {
				kv := make([]any, 0, 2000)
				for j := i; j < i+1000; j++ {
					kv = append(kv, fmt.Sprintf("key:%d", j), fmt.Sprintf("value:%d", j))
				}
				refill.MSet(ctx, kv...)
			}
			if _, err := refill.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, 30*time.Second, func() bool {
				return replInfo(t, rc, "replication", "master_link_status") == "up"
			}, "replica synced under writes")
			time.Sleep(300 * time.Millisecond)
			stop.Store(true)
			wg.Wait()
			waitSameDigest(t, mc, rc)
			t.Logf("%d writes during the test, sync_full:%s", writes.Load(), replInfo(t, mc, "stats", "sync_full"))
		})
	}
}

// The replica's offset, ROLE and INFO fields through a full sync and a CONFIG REWRITE after
// a run-time REPLICAOF (Redis writes the live master as a replicaof line).
func TestReplConfigRewriteReplicaof(t *testing.T) {
	master := testutil.StartSard(t)
	for _, kind := range []string{"sard", "redis"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "replica.conf")
			if err := os.WriteFile(conf, []byte("save \"\"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			var replica *testutil.Server
			if kind == "sard" {
				replica = testutil.StartSard(t, conf)
			} else {
				replica = testutil.StartRedis(t, conf)
			}
			rc := replica.Client()
			ctx := context.Background()
			replicaof(t, rc, master)
			if got := rc.ConfigGet(ctx, "replicaof").Val()["replicaof"]; got != "127.0.0.1 "+strconv.Itoa(master.Port) {
				t.Fatalf("CONFIG GET replicaof = %q", got)
			}
			if err := rc.ConfigRewrite(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(conf)
			if !strings.Contains(string(b), "\nreplicaof 127.0.0.1 "+strconv.Itoa(master.Port)+"\n") {
				t.Fatalf("rewritten config:\n%s", b)
			}
			if err := rc.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
				t.Fatal(err)
			}
			if err := rc.ConfigRewrite(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			b, _ = os.ReadFile(conf)
			if strings.Contains(string(b), "replicaof") {
				t.Fatalf("rewritten config after REPLICAOF NO ONE:\n%s", b)
			}
		})
	}
}

// min-replicas-to-write: writes are refused until enough replicas acknowledge within
// min-replicas-max-lag, and INFO shows the count.
func TestReplMinReplicas(t *testing.T) {
	master := testutil.StartSard(t, "--min-replicas-to-write", "1", "--min-replicas-max-lag", "2", "--repl-diskless-sync-delay", "0")
	mc := master.Client(func(o *redis.Options) { o.PoolSize = 1 })
	ctx := context.Background()
	if err := mc.Set(ctx, "k", "v", 0).Err(); err == nil || err.Error() != errNoReplicas {
		t.Fatalf("SET without replicas: %v, want %q", err, errNoReplicas)
	}
	if got := replInfo(t, mc, "replication", "min_slaves_good_slaves"); got != "0" {
		t.Fatalf("min_slaves_good_slaves:%s", got)
	}
	replica := testutil.StartSard(t)
	rc := replica.Client()
	replicaof(t, rc, master)
	waitLinkUp(t, rc)
	testutil.Eventually(t, 5*time.Second, func() bool { return mc.Set(ctx, "k", "v", 0).Err() == nil }, "SET accepted with one good replica")
	if got := replInfo(t, mc, "replication", "min_slaves_good_slaves"); got != "1" {
		t.Fatalf("min_slaves_good_slaves:%s", got)
	}
	// A replica that stops acknowledging (DEBUG SLEEP holds its whole server) stops
	// counting after min-replicas-max-lag.
	go rc.Do(ctx, "DEBUG", "SLEEP", 6)
	testutil.Eventually(t, 6*time.Second, func() bool {
		err := mc.Set(ctx, "k", "v", 0).Err()
		return err != nil && err.Error() == errNoReplicas
	}, "SET refused while the only replica does not acknowledge")
	testutil.Eventually(t, 10*time.Second, func() bool { return mc.Set(ctx, "k", "v2", 0).Err() == nil }, "SET accepted once the replica acknowledges again")
}

// Large values (a 1 MB string, big sets, hashes, sorted sets, lists and a stream) are
// written across steps of the walk; with rdb-key-save-delay the walk lasts long enough for
// writes to those very values to land in the middle of it. Both targets.
func TestReplFullSyncBigValues(t *testing.T) {
	for _, diskless := range []string{"yes", "no"} {
		t.Run("diskless="+diskless, func(t *testing.T) {
			master := testutil.StartSard(t, "--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0",
				"--save", "", "--rdb-key-save-delay", "2000")
			mc := master.Client(func(o *redis.Options) { o.PoolSize = 1 })
			ctx := context.Background()
			big := strings.Repeat("0123456789abcdef", 1<<16)
			pipe := mc.Pipeline()
			for i := 0; i < 4; i++ {
				k := strconv.Itoa(i)
				pipe.Set(ctx, "str:"+k, big, 0)
				for j := 0; j < 5000; j += 500 {
					var members []any
					for m := j; m < j+500; m++ {
						members = append(members, "m"+strconv.Itoa(m))
					}
					pipe.SAdd(ctx, "set:"+k, members...)
					pipe.RPush(ctx, "list:"+k, members...)
					var fields []any
					for m := j; m < j+500; m++ {
						fields = append(fields, "f"+strconv.Itoa(m), m)
					}
					pipe.HSet(ctx, "hash:"+k, fields...)
					var zs []redis.Z
					for m := j; m < j+500; m++ {
						zs = append(zs, redis.Z{Score: float64(m), Member: "m" + strconv.Itoa(m)})
					}
					pipe.ZAdd(ctx, "zset:"+k, zs...)
				}
				for j := 0; j < 2000; j++ {
					pipe.XAdd(ctx, &redis.XAddArgs{Stream: "stream:" + k, Values: []any{"f", j}})
				}
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			if err := mc.Do(ctx, "DEBUG", "POPULATE", 300, "small", 10).Err(); err != nil {
				t.Fatal(err)
			}
			replica := testutil.StartSard(t, "--repl-diskless-load", "swapdb")
			rc := replica.Client()
			replicaof(t, rc, master)
			// Change every big value while the walk is running.
			time.Sleep(100 * time.Millisecond)
			if got := replInfo(t, mc, "persistence", "rdb_bgsave_in_progress"); got != "1" {
				t.Fatalf("the sync's snapshot is not running: rdb_bgsave_in_progress:%s", got)
			}
			for i := 0; i < 4; i++ {
				k := strconv.Itoa(i)
				mc.Append(ctx, "str:"+k, "tail")
				mc.SRem(ctx, "set:"+k, "m1", "m4999")
				mc.LSet(ctx, "list:"+k, 2500, "changed")
				mc.HIncrBy(ctx, "hash:"+k, "f7", 1)
				mc.ZIncrBy(ctx, "zset:"+k, 0.5, "m9")
				mc.XTrimMaxLen(ctx, "stream:"+k, 1000)
				mc.Del(ctx, "small:"+k)
			}
			testutil.Eventually(t, 30*time.Second, func() bool {
				return replInfo(t, rc, "replication", "master_link_status") == "up"
			}, "replica synced")
			waitSameDigest(t, mc, rc)
		})
	}
}
