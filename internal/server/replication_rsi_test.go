package server

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// RDB files carry the replication id and offset (rdbSaveInfo), so restarts resume with
// partial resyncs: a replica restarted from the payload it saved, and a master restarted
// from a SAVE, whose replicas then continue with +CONTINUE. The replica is sard and Redis
// in turn.
func TestReplRestartPartialResync(t *testing.T) {
	for _, kind := range []string{"sard", "redis"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			master := testutil.StartSard(t, append([]string{"--save", "", "--repl-diskless-sync-delay", "0"}, rdbDatasetConfig...)...)
			mc := master.Client(func(o *redis.Options) { o.PoolSize = 1 })
			buildRDBDataset(t, mc)
			var replica *testutil.Server
			if kind == "sard" {
				replica = testutil.StartSard(t, append([]string{"--save", ""}, rdbDatasetConfig...)...)
			} else {
				replica = testutil.StartRedis(t, rdbDatasetConfig...)
			}
			rc := replica.Client()
			replicaof(t, rc, master)
			waitLinkUp(t, rc)
			// The payload the replica loaded from disk stays as its dump.rdb; the restart
			// keeps following the master.
			replica.Args = append(replica.Args, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
			liveWrites(t, mc, "before")
			waitSameDigest(t, mc, rc)

			replica.Kill()
			liveWrites(t, mc, "while-down")
			replica.Start()
			rc = replica.Client()
			waitLinkUp(t, rc)
			waitSameDigest(t, mc, rc)
			if got := replInfo(t, mc, "stats", "sync_partial_ok"); got != "1" {
				t.Fatalf("replica restart: sync_partial_ok:%s sync_full:%s", got, replInfo(t, mc, "stats", "sync_full"))
			}

			// The master saves, stops hard and comes back: same data, same history as
			// replid2, and its replica continues.
			waitSameOffset(t, mc, rc)
			if err := mc.Save(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			oldID := replInfo(t, mc, "replication", "master_replid")
			off := replInfo(t, mc, "replication", "master_repl_offset")
			master.Kill()
			master.Start()
			mc = master.Client(func(o *redis.Options) { o.PoolSize = 1 })
			if got := replInfo(t, mc, "replication", "master_replid2"); got != oldID {
				t.Fatalf("restarted master: master_replid2 %s, want %s", got, oldID)
			}
			if got := replInfo(t, mc, "replication", "master_repl_offset"); got != off {
				t.Fatalf("restarted master: master_repl_offset %s, want %s", got, off)
			}
			testutil.Eventually(t, 15*time.Second, func() bool {
				return replInfo(t, mc, "stats", "sync_partial_ok") == "1"
			}, "the replica continued from the restarted master")
			if got := replInfo(t, mc, "stats", "sync_full"); got != "0" {
				t.Fatalf("restarted master: sync_full:%s", got)
			}
			liveWrites(t, mc, "after")
			waitSameDigest(t, mc, rc)
		})
	}
}
