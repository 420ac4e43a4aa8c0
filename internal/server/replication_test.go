package server

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

func TestBacklogRing(t *testing.T) {
	b := &replBacklog{buf: make([]byte, 8)}
	var stream []byte
	var off int64
	for i := 0; i < 30; i++ {
		chunk := []byte(strings.Repeat(string(rune('a'+i%26)), i%5+1))
		stream = append(stream, chunk...)
		off += int64(len(chunk))
		b.write(chunk, off)
		for from := int64(1); from <= off+1; from++ {
			got, ok := b.since(from, off)
			want := from > off-min(off, 8)
			if ok != want {
				t.Fatalf("off %d from %d: ok=%v want %v", off, from, ok, want)
			}
			if ok && !bytes.Equal(got, stream[from-1:]) {
				t.Fatalf("off %d from %d: got %q want %q", off, from, got, stream[from-1:])
			}
		}
	}
}

// replInfo reads one field of INFO replication (or stats).
func replInfo(t *testing.T, c *redis.Client, section, field string) string {
	t.Helper()
	s, err := c.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatalf("INFO %s: %v", section, err)
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	return ""
}

func waitLinkUp(t *testing.T, replica *redis.Client) {
	t.Helper()
	testutil.Eventually(t, 15*time.Second, func() bool {
		return replInfo(t, replica, "replication", "master_link_status") == "up"
	}, "master_link_status:up")
}

func replDigest(t *testing.T, c *redis.Client) string {
	t.Helper()
	d, err := c.Do(context.Background(), "DEBUG", "DIGEST").Text()
	if err != nil {
		t.Fatalf("DEBUG DIGEST: %v", err)
	}
	return d
}

func waitSameDigest(t *testing.T, master, replica *redis.Client) {
	t.Helper()
	var m, r string
	ok := testutil.Poll(10*time.Second, func() bool {
		m, r = replDigest(t, master), replDigest(t, replica)
		return m == r
	})
	if !ok {
		t.Fatalf("digests differ: master %s replica %s", m, r)
	}
	if m == strings.Repeat("0", 40) {
		t.Fatalf("empty dataset: the comparison proves nothing")
	}
}

func liveWrites(t *testing.T, c *redis.Client, tag string) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		k := fmt.Sprintf("%s:%d", tag, i)
		for _, cmd := range [][]any{
			{"SET", k, i}, {"INCRBY", k, 3}, {"RPUSH", k + ":l", "x", i}, {"LPOP", k + ":l"},
			{"HSET", k + ":h", "f", i}, {"ZADD", k + ":z", i, "m"}, {"EXPIRE", k, 10000},
			{"SADD", k + ":s", i, i + 1}, {"SPOP", k + ":s"}, {"XADD", k + ":x", "*", "f", i},
		} {
			if err := c.Do(ctx, cmd...).Err(); err != nil {
				t.Fatalf("%v: %v", cmd, err)
			}
		}
	}
	c.Do(ctx, "SELECT", "2")
	pipe := c.TxPipeline()
	pipe.Set(ctx, tag+":tx1", "a", 0)
	pipe.Incr(ctx, tag+":tx2")
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("MULTI: %v", err)
	}
	if err := c.Del(ctx, tag+":0").Err(); err != nil {
		t.Fatal(err)
	}
}

func replicaof(t *testing.T, c *redis.Client, master *testutil.Server) {
	t.Helper()
	if err := c.Do(context.Background(), "REPLICAOF", "127.0.0.1", master.Port).Err(); err != nil {
		t.Fatalf("REPLICAOF: %v", err)
	}
}

// A sard replica follows a real Redis master: full sync of every type, then the stream.
func TestReplRedisMasterSardReplica(t *testing.T) {
	// Disk-based sync on the master: the payload comes in the $<len> form.
	master := testutil.StartRedis(t, append([]string{"--repl-diskless-sync", "no"}, rdbDatasetConfig...)...)
	mc := master.Client(func(o *redis.Options) { o.PoolSize = 1 })
	buildRDBDataset(t, mc)
	replica := testutil.StartSard(t)
	rc := replica.Client()
	replicaof(t, rc, master)
	waitLinkUp(t, rc)
	waitSameDigest(t, mc, rc)
	liveWrites(t, mc, "live")
	waitSameDigest(t, mc, rc)

	ctx := context.Background()
	err := rc.Set(ctx, "x", "y", 0).Err()
	if err == nil || err.Error() != errReadOnlyReplica {
		t.Fatalf("write on replica: got %v, want %q", err, errReadOnlyReplica)
	}
	role, err := rc.Do(ctx, "ROLE").Slice()
	if err != nil || len(role) != 5 || role[0] != "slave" || role[3] != "connected" || role[2] != int64(master.Port) {
		t.Fatalf("ROLE on replica: %v %v", role, err)
	}
	// Offsets agree with the real master's once acknowledged.
	testutil.Eventually(t, 5*time.Second, func() bool {
		return replInfo(t, rc, "replication", "master_repl_offset") == replInfo(t, mc, "replication", "master_repl_offset")
	}, "replica offset equals the master's")
	testutil.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(replInfo(t, mc, "replication", "slave0"), "state=online")
	}, "Redis sees the sard replica online")

	// Expiry is the master's: an expired key stays on the replica, invisible to reads,
	// until the master's DEL arrives.
	mc.Do(ctx, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
	mc.Do(ctx, "SELECT", "0")
	if err := mc.Set(ctx, "short", "v", 50*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return rc.Exists(ctx, "short").Val() == 1 }, "key replicated")
	before := rc.DBSize(ctx).Val()
	time.Sleep(150 * time.Millisecond)
	if v, err := rc.Get(ctx, "short").Result(); err != redis.Nil {
		t.Fatalf("GET of an expired key on the replica: %q %v", v, err)
	}
	if n := rc.DBSize(ctx).Val(); n != before {
		t.Fatalf("the replica deleted the expired key itself: dbsize %d, was %d", n, before)
	}
	mc.Get(ctx, "short") // the master expires it and propagates DEL
	testutil.Eventually(t, 5*time.Second, func() bool { return rc.DBSize(ctx).Val() == before-1 }, "DEL from the master applied")
	waitSameDigest(t, mc, rc)
}

// A real Redis replica follows a sard master.
func TestReplSardMasterRedisReplica(t *testing.T) {
	master := testutil.StartSard(t, rdbDatasetConfig...)
	mc := master.Client(func(o *redis.Options) { o.PoolSize = 1 })
	buildRDBDataset(t, mc)
	replica := testutil.StartRedis(t, rdbDatasetConfig...)
	rc := replica.Client()
	replicaof(t, rc, master)
	waitLinkUp(t, rc)
	waitSameDigest(t, mc, rc)
	liveWrites(t, mc, "live")
	waitSameDigest(t, mc, rc)

	ctx := context.Background()
	n, err := mc.Do(ctx, "WAIT", 1, 5000).Int64()
	if err != nil || n != 1 {
		t.Fatalf("WAIT 1 5000 = %d, %v", n, err)
	}
	n, err = mc.Do(ctx, "WAIT", 2, 100).Int64()
	if err != nil || n != 1 {
		t.Fatalf("WAIT 2 100 = %d, %v (want 1 after the timeout)", n, err)
	}
	role, err := mc.Do(ctx, "ROLE").Slice()
	if err != nil || len(role) != 3 || role[0] != "master" {
		t.Fatalf("ROLE on master: %v %v", role, err)
	}
	if peers, _ := role[2].([]any); len(peers) != 1 {
		t.Fatalf("ROLE lists replicas %v", role[2])
	}
	slave0 := replInfo(t, mc, "replication", "slave0")
	if !strings.HasPrefix(slave0, "ip=127.0.0.1,port="+strconv.Itoa(replica.Port)+",state=online,offset=") {
		t.Fatalf("slave0:%s", slave0)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		return replInfo(t, rc, "replication", "master_repl_offset") == replInfo(t, mc, "replication", "master_repl_offset")
	}, "Redis replica's offset equals the sard master's")
}

// sard to sard: full sync, stream, reconnection by partial resync from either side,
// promotion with REPLICAOF NO ONE.
func TestReplSardSard(t *testing.T) {
	master := testutil.StartSard(t, "--requirepass", "pw")
	mc := master.Client(func(o *redis.Options) { o.Password = "pw"; o.PoolSize = 1 })
	buildRDBDataset(t, mc)
	replica := testutil.StartSard(t, "--masterauth", "pw", "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
	rc := replica.Client()
	waitLinkUp(t, rc)
	waitSameDigest(t, mc, rc)
	liveWrites(t, mc, "live")
	waitSameDigest(t, mc, rc)
	ctx := context.Background()

	if got := replInfo(t, mc, "stats", "sync_full"); got != "1" {
		t.Fatalf("sync_full:%s", got)
	}
	// The replica drops its link: it reconnects and continues where it stopped.
	if n, err := rc.Do(ctx, "CLIENT", "KILL", "TYPE", "master").Int(); err != nil || n != 1 {
		t.Fatalf("CLIENT KILL TYPE master: %d %v", n, err)
	}
	liveWrites(t, mc, "during")
	waitLinkUp(t, rc)
	waitSameDigest(t, mc, rc)
	if got := replInfo(t, mc, "stats", "sync_partial_ok"); got != "1" {
		t.Fatalf("after killing the master link: sync_partial_ok:%s", got)
	}
	// The master drops the replica: same outcome.
	if n, err := mc.Do(ctx, "CLIENT", "KILL", "TYPE", "replica").Int(); err != nil || n != 1 {
		t.Fatalf("CLIENT KILL TYPE replica: %d %v", n, err)
	}
	liveWrites(t, mc, "during2")
	testutil.Eventually(t, 10*time.Second, func() bool {
		return replInfo(t, mc, "stats", "sync_partial_ok") == "2"
	}, "second partial resync")
	waitSameDigest(t, mc, rc)
	if got := replInfo(t, mc, "stats", "sync_full"); got != "1" {
		t.Fatalf("reconnections needed a full sync: sync_full:%s", got)
	}

	// Promotion keeps the data and the old history as replid2.
	oldID := replInfo(t, rc, "replication", "master_replid")
	if err := rc.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if got := replInfo(t, rc, "replication", "role"); got != "master" {
		t.Fatalf("role:%s after REPLICAOF NO ONE", got)
	}
	if got := replInfo(t, rc, "replication", "master_replid2"); got != oldID {
		t.Fatalf("master_replid2:%s want %s", got, oldID)
	}
	if err := rc.Set(ctx, "promoted", "yes", 0).Err(); err != nil {
		t.Fatalf("write after promotion: %v", err)
	}
	// The old master follows the promoted one with a partial resync on the shared history.
	if err := mc.Do(ctx, "CONFIG", "SET", "masterauth", "pw").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.Do(ctx, "CONFIG", "SET", "requirepass", "pw").Err(); err != nil {
		t.Fatal(err)
	}
	rc2 := replica.Client(func(o *redis.Options) { o.Password = "pw" })
	replicaof(t, mc, replica)
	waitLinkUp(t, mc)
	waitSameDigest(t, rc2, mc)
	if got := replInfo(t, rc2, "stats", "sync_partial_ok"); got != "1" {
		t.Fatalf("old master rejoining: sync_partial_ok:%s (sync_full:%s)", got, replInfo(t, rc2, "stats", "sync_full"))
	}
}

// REPLICAOF argument errors and the replies Redis gives.
func TestReplicaofReplies(t *testing.T) {
	s := testutil.StartSard(t)
	r := testutil.StartRedis(t)
	for _, args := range [][]string{
		{"REPLICAOF", "127.0.0.1", "notaport"},
		{"REPLICAOF", "127.0.0.1", "70000"},
		{"REPLICAOF", "NO", "ONE"},
		{"WAIT", "x", "0"},
		{"WAIT", "0", "-1"},
		{"WAIT", "0", "0"},
		{"REPLCONF", "listening-port"},
		{"REPLCONF", "bogus", "1"},
		{"REPLCONF", "listening-port", "1234", "capa", "eof"},
		{"ROLE"},
	} {
		want, err1 := r.Raw().Do(args...)
		got, err2 := s.Raw().Do(args...)
		if err1 != nil || err2 != nil {
			t.Fatalf("%v: %v %v", args, err1, err2)
		}
		if args[0] == "ROLE" {
			// the offsets differ; the shape must not
			want, got = bytes.SplitN(want, []byte(":"), 2)[0], bytes.SplitN(got, []byte(":"), 2)[0]
		}
		if !bytes.Equal(want, got) {
			t.Errorf("%v: sard %q, redis %q", args, got, want)
		}
	}
}

// A replica that hears nothing from its master for repl-timeout drops the link and comes
// back with a partial resync.
func TestReplicaLinkTimeout(t *testing.T) {
	master := testutil.StartSard(t, "--repl-ping-replica-period", "1000")
	mc := master.Client()
	ctx := context.Background()
	mc.Set(ctx, "k", "v", 0)
	replica := testutil.StartSard(t, "--repl-timeout", "1")
	rc := replica.Client()
	replicaof(t, rc, master)
	waitLinkUp(t, rc)
	testutil.Eventually(t, 10*time.Second, func() bool {
		return replInfo(t, mc, "stats", "sync_partial_ok") == "1"
	}, "the replica timed out its silent master and resynced partially")
	if !strings.Contains(replica.LogText(), "MASTER timeout: no data nor PING received...") {
		t.Fatalf("no timeout in the replica's log")
	}
	waitLinkUp(t, rc)
	waitSameDigest(t, mc, rc)
}
