package server

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// replStreamSince asks a server for its stream from offset from with a PSYNC on a raw
// connection, as a replica would, and returns the +CONTINUE line and the bytes that follow.
func replStreamSince(t *testing.T, s *testutil.Server, replid string, from int64, want int) (string, []byte) {
	t.Helper()
	conn := s.Dial()
	defer conn.Close()
	conn.Write(testutil.EncodeCommand("PSYNC", replid, strconv.FormatInt(from, 10)))
	var got []byte
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _ := conn.Read(buf)
		got = append(got, buf[:n]...)
		if i := bytes.Index(got, []byte("\r\n")); i >= 0 && len(got)-i-2 >= want {
			break
		}
	}
	i := bytes.Index(got, []byte("\r\n"))
	if i < 0 {
		t.Fatalf("PSYNC %s %d: no reply (%q)", replid, from, got)
	}
	return string(got[:i]), got[i+2:]
}

func replOffset(t *testing.T, c *redis.Client) int64 {
	t.Helper()
	n, _ := strconv.ParseInt(replInfo(t, c, "replication", "master_repl_offset"), 10, 64)
	return n
}

func waitSameOffset(t *testing.T, master *redis.Client, replicas ...*redis.Client) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, func() bool {
		m := replOffset(t, master)
		for _, r := range replicas {
			if replOffset(t, r) != m {
				return false
			}
		}
		return true
	}, "replicas at the master's offset")
}

// A chain A → B → {C, D}: sard replicas of a sard replica, and a Redis replica of it. The
// sub-replicas get the top master's stream byte for byte (same replication id and offsets),
// links anywhere in the chain resume with partial resyncs, and when B is promoted its
// replicas continue with +CONTINUE.
func TestReplChain(t *testing.T) {
	ping := []string{"--repl-ping-replica-period", "3600", "--repl-diskless-sync-delay", "0"}
	a := testutil.StartSard(t, append(ping, rdbDatasetConfig...)...)
	ac := a.Client(func(o *redis.Options) { o.PoolSize = 1 })
	buildRDBDataset(t, ac)
	b := testutil.StartSard(t, append(ping, rdbDatasetConfig...)...)
	bc := b.Client()
	replicaof(t, bc, a)
	waitLinkUp(t, bc)
	c := testutil.StartSard(t, rdbDatasetConfig...)
	cc := c.Client()
	replicaof(t, cc, b)
	d := testutil.StartRedis(t, rdbDatasetConfig...)
	dc := d.Client()
	replicaof(t, dc, b)
	waitLinkUp(t, cc)
	waitLinkUp(t, dc)
	liveWrites(t, ac, "chain")
	waitSameOffset(t, ac, bc, cc, dc)
	for _, r := range []*redis.Client{bc, cc, dc} {
		waitSameDigest(t, ac, r)
	}
	id := replInfo(t, ac, "replication", "master_replid")
	for name, r := range map[string]*redis.Client{"B": bc, "C": cc, "D(redis)": dc} {
		if got := replInfo(t, r, "replication", "master_replid"); got != id {
			t.Fatalf("%s master_replid %s, want the top master's %s", name, got, id)
		}
	}
	// The same stream bytes from A's backlog and from B's.
	first, _ := strconv.ParseInt(replInfo(t, bc, "replication", "repl_backlog_first_byte_offset"), 10, 64)
	end := replOffset(t, ac)
	lineA, streamA := replStreamSince(t, a, id, first, int(end-first+1))
	lineB, streamB := replStreamSince(t, b, id, first, int(end-first+1))
	if !strings.HasPrefix(lineA, "+CONTINUE") || !strings.HasPrefix(lineB, "+CONTINUE") {
		t.Fatalf("PSYNC replies: A %q, B %q", lineA, lineB)
	}
	if len(streamB) == 0 || !bytes.Equal(streamA, streamB) {
		t.Fatalf("B's stream differs from A's from offset %d: %d vs %d bytes\nA: %q\nB: %q", first, len(streamA), len(streamB), streamA, streamB)
	}

	ctx := context.Background()
	fullA, fullB := replInfo(t, ac, "stats", "sync_full"), replInfo(t, bc, "stats", "sync_full")
	partialB, _ := strconv.Atoi(replInfo(t, bc, "stats", "sync_partial_ok"))
	// C's link drops: it continues from B.
	cc.Do(ctx, "CLIENT", "KILL", "TYPE", "master")
	// B's link to A drops: it continues from A, and C and D keep their link to B.
	bc.Do(ctx, "CLIENT", "KILL", "TYPE", "master")
	liveWrites(t, ac, "chain2")
	waitLinkUp(t, bc)
	waitLinkUp(t, cc)
	waitSameOffset(t, ac, bc, cc, dc)
	for _, r := range []*redis.Client{bc, cc, dc} {
		waitSameDigest(t, ac, r)
	}
	if got := replInfo(t, ac, "stats", "sync_full"); got != fullA {
		t.Fatalf("A: sync_full %s after the link drops, was %s", got, fullA)
	}
	if got := replInfo(t, bc, "stats", "sync_full"); got != fullB {
		t.Fatalf("B: sync_full %s after the link drops, was %s", got, fullB)
	}
	if got := replInfo(t, bc, "stats", "sync_partial_ok"); got != strconv.Itoa(partialB+1) {
		t.Fatalf("B: sync_partial_ok:%s, want %d (C reconnected)", got, partialB+1)
	}

	// B is promoted: C (sard) and D (redis) continue from it with +CONTINUE and B's new id.
	if err := bc.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	newID := replInfo(t, bc, "replication", "master_replid")
	if newID == id || replInfo(t, bc, "replication", "master_replid2") != id {
		t.Fatalf("B after promotion: replid %s replid2 %s", newID, replInfo(t, bc, "replication", "master_replid2"))
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		return replInfo(t, bc, "stats", "sync_partial_ok") == strconv.Itoa(partialB+3)
	}, "C and D continued from the promoted B")
	if got := replInfo(t, bc, "stats", "sync_full"); got != fullB {
		t.Fatalf("B: sync_full %s after the promotion, was %s", got, fullB)
	}
	liveWrites(t, bc, "promoted")
	waitSameOffset(t, bc, cc, dc)
	waitSameDigest(t, bc, cc)
	waitSameDigest(t, bc, dc)
	for name, r := range map[string]*redis.Client{"C": cc, "D(redis)": dc} {
		if got := replInfo(t, r, "replication", "master_replid"); got != newID {
			t.Fatalf("%s master_replid %s, want B's new %s", name, got, newID)
		}
	}
	if !strings.Contains(c.LogText(), "Master replication ID changed to "+newID) {
		t.Fatalf("C did not log the id change")
	}
}
