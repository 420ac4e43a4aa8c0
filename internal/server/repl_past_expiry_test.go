package server

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// TestReplicaKeepsPastExpiry: on a replica, a time already past never deletes a key at once
// (Redis's checkAlreadyExpired is false when masterhost is set): a writable replica's own
// GETEX PXAT, EXPIRE with a negative TTL and RESTORE ABSTTL in the past keep the key, hidden
// from reads, as on a Redis replica.
func TestReplicaKeepsPastExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server and redis-server; skipped with -short")
	}
	script := [][]any{
		{"SET", "src", "v"},
		{"SET", "a", "1"}, {"GETEX", "a", "PXAT", 1},
		{"SET", "b", "1"}, {"GETEX", "b", "EXAT", 1},
		{"SET", "c", "1"}, {"EXPIRE", "c", -1},
		{"SET", "d", "1"}, {"PEXPIREAT", "d", 1},
		{"RESTORE", "e", 1, "<payload>", "ABSTTL"},
		{"SET", "f", "1"}, {"RESTORE", "f", 1, "<payload>", "ABSTTL", "REPLACE"},
		{"DBSIZE"}, {"EXISTS", "a", "b", "c", "d", "e", "f"}, {"GET", "a"},
	}
	run := func(t *testing.T, master, replica *testutil.Server) []string {
		ctx := context.Background()
		rc := replica.Client(func(o *redis.Options) { o.PoolSize = 1 })
		defer rc.Close()
		if err := rc.ConfigSet(ctx, "replica-read-only", "no").Err(); err != nil {
			t.Fatal(err)
		}
		replicaof(t, rc, master)
		waitLinkUp(t, rc)
		var payload string
		var out []string
		for _, cmd := range script {
			args := append([]any(nil), cmd...)
			for i, a := range args {
				if a == "<payload>" {
					args[i] = payload
				}
			}
			v, err := rc.Do(ctx, args...).Result()
			if err != nil {
				out = append(out, "ERR "+err.Error())
			} else {
				out = append(out, strings.TrimSpace(strings.ReplaceAll(fmtReply(v), "\n", " ")))
			}
			if cmd[0] == "SET" && cmd[1] == "src" {
				payload = rc.Dump(ctx, "src").Val()
			}
		}
		return out
	}
	var got, want []string
	for _, kind := range []string{"sard", "redis"} {
		t.Run(kind, func(t *testing.T) {
			var master, replica *testutil.Server
			if kind == "sard" {
				master, replica = testutil.StartSard(t, "--save", ""), testutil.StartSard(t, "--save", "")
				got = run(t, master, replica)
			} else {
				master, replica = testutil.StartRedis(t, "--save", ""), testutil.StartRedis(t, "--save", "")
				want = run(t, master, replica)
			}
		})
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		for i := range script {
			if i < len(got) && i < len(want) && got[i] != want[i] {
				t.Errorf("%v on a writable replica: sard %q, redis %q", script[i], got[i], want[i])
			}
		}
	}
	if len(got) > 0 && got[len(got)-3] != "7" {
		t.Errorf("DBSIZE on the replica: %s, want 7 (the past times keep their keys)", got[len(got)-3])
	}
}

func fmtReply(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, fmtReply(e))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return ""
}

// TestReplLateRestoreKeepsKey: a replica applying a RESTORE ... ABSTTL whose time passed
// while it lagged keeps the key and waits for its master's DEL, so the APPEND the master
// made before the time passed finds it (TestReplLateExpireKeepsKey in test/integration is
// the same for PEXPIREAT).
func TestReplLateRestoreKeepsKey(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server; skipped with -short")
	}
	ctx := context.Background()
	master := testutil.StartSard(t, "--save", "")
	replica := testutil.StartSard(t, "--save", "", "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
	mc, rc := master.Client(), replica.Client()
	defer mc.Close()
	defer rc.Close()
	if err := mc.Do(ctx, "DEBUG", "SET-ACTIVE-EXPIRE", "0").Err(); err != nil {
		t.Fatal(err)
	}
	mc.Set(ctx, "src", "value", 0)
	payload := mc.Dump(ctx, "src").Val()
	synced := func() bool {
		return replInfo(t, rc, "replication", "master_link_status") == "up" &&
			replInfo(t, rc, "replication", "slave_repl_offset") == replInfo(t, mc, "replication", "master_repl_offset")
	}
	if !testutil.Poll(10*time.Second, synced) {
		t.Fatal("replica did not sync")
	}
	// The replica is frozen while the master restores keys with a short TTL and writes to
	// them again before it passes.
	replica.Cmd.Process.Signal(syscall.SIGSTOP)
	mc.Set(ctx, "k", "old", 0)
	for _, cmd := range [][]any{
		{"RESTORE", "k", 100, payload, "REPLACE"},
		{"APPEND", "k", "x"},
		{"RESTORE", "n", 100, payload},
		{"APPEND", "n", "y"},
	} {
		if err := mc.Do(ctx, cmd...).Err(); err != nil {
			replica.Cmd.Process.Signal(syscall.SIGCONT)
			t.Fatalf("%v: %v", cmd[:2], err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	replica.Cmd.Process.Signal(syscall.SIGCONT)
	if !testutil.Poll(10*time.Second, synced) {
		t.Fatal("replica did not catch up")
	}
	if md, rd := replDigest(t, mc), replDigest(t, rc); md != rd {
		t.Fatalf("replica digest %v, master %v (replica DBSIZE %d, master %d)", rd, md, rc.DBSize(ctx).Val(), mc.DBSize(ctx).Val())
	}
	// The master's reads expire them; the replica follows the DELs.
	mc.Get(ctx, "k")
	mc.Get(ctx, "n")
	testutil.Eventually(t, 10*time.Second, func() bool { return rc.DBSize(ctx).Val() == 1 }, "the master's DELs reach the replica")
}

// TestReplAsyncLoadingInfo: while a swapdb replica loads a payload of its own history and
// serves the old data, INFO persistence says async_loading:1 and loading:0 with the
// loading_* fields (as redis-server 7.0.15 does), and commands flagged no-async-loading
// (SAVE, BGSAVE, REPLICAOF) get -LOADING; a payload of another history is loading:1 instead.
func TestReplAsyncLoadingInfo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server; skipped with -short")
	}
	ctx := context.Background()
	replica := testutil.StartSard(t, "--repl-diskless-load", "swapdb", "--save", "")
	rc := replica.Client(func(o *redis.Options) { o.PoolSize = 1 })
	defer rc.Close()
	fm := startFakeMaster(t)
	replicaof(t, rc, &testutil.Server{Port: fm.port})
	link, _ := fm.accept(t)
	payload := buildPayload(nil, []payloadKey{{key: "k", val: "old"}}, false)
	link.send("+FULLRESYNC " + fakeReplID + " 1\r\n")
	link.send("$" + strconv.Itoa(len(payload)) + "\r\n" + string(payload))
	waitLinkUp(t, rc)
	if v := replInfo(t, rc, "persistence", "async_loading"); v != "0" {
		t.Fatalf("async_loading:%s with no load running", v)
	}
	link.conn.Close()

	link, _ = fm.accept(t)
	payload = buildPayload(nil, []payloadKey{{key: "k", val: "new"}}, false)
	link.send("+FULLRESYNC " + fakeReplID + " 5\r\n")
	link.send("$" + strconv.Itoa(len(payload)) + "\r\n" + string(payload[:20]))
	testutil.Eventually(t, 5*time.Second, func() bool {
		return replInfo(t, rc, "replication", "master_sync_read_bytes") == "20"
	}, "the transfer stalls after 20 bytes")
	info := rc.Info(ctx, "persistence").Val()
	want := "loading async_loading loading_start_time loading_total_bytes loading_rdb_used_mem loading_loaded_bytes loading_loaded_perc loading_eta_seconds"
	if got := loadingFieldNames(info); got != want {
		t.Errorf("INFO persistence loading fields during an async load: %q, want %q", got, want)
	}
	if !strings.Contains(info, "\r\nloading:0\r\nasync_loading:1\r\n") ||
		!strings.Contains(info, "\r\nloading_total_bytes:"+strconv.Itoa(len(payload))+"\r\n") {
		t.Errorf("INFO persistence during an async load:\n%s", info)
	}
	if v, err := rc.Get(ctx, "k").Result(); err != nil || v != "old" {
		t.Errorf("GET during an async load: %q %v, want the old value", v, err)
	}
	for _, cmd := range [][]any{{"SAVE"}, {"BGSAVE"}, {"REPLICAOF", "NO", "ONE"}} {
		if err := rc.Do(ctx, cmd...).Err(); err == nil || err.Error() != errLoading {
			t.Errorf("%v during an async load: %v, want -LOADING", cmd, err)
		}
	}
	link.send(string(payload[20:]))
	testutil.Eventually(t, 5*time.Second, func() bool { return rc.Get(ctx, "k").Val() == "new" }, "the new payload swapped in")
	info = rc.Info(ctx, "persistence").Val()
	if !strings.Contains(info, "\r\nloading:0\r\nasync_loading:0\r\n") || strings.Contains(info, "loading_start_time") {
		t.Errorf("INFO persistence after the async load:\n%s", info)
	}
	link.conn.Close()

	// Another history: the old data is not served, so this is an ordinary load.
	link, _ = fm.accept(t)
	link.send("+FULLRESYNC 2222222222222222222222222222222222222222 1\r\n")
	link.send("$" + strconv.Itoa(len(payload)) + "\r\n" + string(payload[:20]))
	testutil.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(rc.Info(ctx, "persistence").Val(), "\r\nloading:1\r\nasync_loading:0\r\n")
	}, "loading:1 async_loading:0 while loading another history")
	link.send(string(payload[20:]))
}

// TestPastExpiryPropagation: what a master writes to its AOF (and so to its replicas) for
// each command given a time already past is what redis-server writes: DEL or UNLINK (as
// lazyfree-lazy-expire says) for EXPIRE with a negative TTL, PEXPIREAT and GETEX EXAT/PXAT,
// DEL for RESTORE ABSTTL over a key (nothing without one), SET ... PXAT for SET EXAT/PXAT.
func TestPastExpiryPropagation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server and redis-server; skipped with -short")
	}
	const hello = "\x00\x05hello\x0a\x00\x63\x72\xdf\x76\x65\x34\x20\x0a" // DUMP of "hello"
	script := [][]any{
		{"SET", "a", "1"}, {"EXPIRE", "a", -1},
		{"SET", "b", "1"}, {"PEXPIREAT", "b", 1},
		{"SET", "c", "1"}, {"GETEX", "c", "PXAT", 1},
		{"SET", "d", "1"}, {"GETEX", "d", "EXAT", 1},
		{"SET", "e", "1", "EXAT", 1}, {"EXISTS", "e"},
		{"SET", "f", "1"}, {"RESTORE", "f", 1, hello, "ABSTTL", "REPLACE"},
		{"RESTORE", "g", 1, hello, "ABSTTL"},
		{"CONFIG", "SET", "lazyfree-lazy-expire", "yes"},
		{"CONFIG", "SET", "lazyfree-lazy-server-del", "yes"},
		{"SET", "h", "1"}, {"EXPIRE", "h", -1},
		{"SET", "i", "1"}, {"GETEX", "i", "PXAT", 1},
		{"SET", "j", "1"}, {"RESTORE", "j", 1, hello, "ABSTTL", "REPLACE"},
		{"SET", "k", "1", "PXAT", 1}, {"GET", "k"},
	}
	aofOf := func(s *testutil.Server) string {
		c := s.Client()
		defer c.Close()
		ctx := context.Background()
		for _, cmd := range script {
			if err := c.Do(ctx, cmd...).Err(); err != nil && err != redis.Nil {
				t.Fatalf("%s %v: %v", s.Name, cmd[:2], err)
			}
		}
		var data []byte
		testutil.Eventually(t, 5*time.Second, func() bool {
			data, _ = os.ReadFile(filepath.Join(s.Dir, "appendonlydir", "appendonly.aof.1.incr.aof"))
			return bytes.HasSuffix(data, []byte("$1\r\nk\r\n"))
		}, s.Name+": the AOF ends with the DEL of k")
		return string(data)
	}
	args := []string{"--save", "", "--appendonly", "yes", "--appendfsync", "always"}
	want := aofOf(testutil.StartRedis(t, args...))
	got := aofOf(testutil.StartSard(t, args...))
	if got != want {
		t.Errorf("AOF after past expiry times:\nsard  %q\nredis %q", got, want)
	}
}

// TestReplAsyncLoadingStreamedProgress: a payload streamed with an EOF mark has no size
// (loading_total_bytes:0), so the progress is reckoned against the payload's used-mem aux
// field, as Redis does, and stays below 100%.
func TestReplAsyncLoadingStreamedProgress(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server; skipped with -short")
	}
	ctx := context.Background()
	replica := testutil.StartSard(t, "--repl-diskless-load", "swapdb", "--save", "")
	rc := replica.Client(func(o *redis.Options) { o.PoolSize = 1 })
	defer rc.Close()
	fm := startFakeMaster(t)
	replicaof(t, rc, &testutil.Server{Port: fm.port})
	link, _ := fm.accept(t)
	payload := buildPayload(nil, []payloadKey{{key: "k", val: "old"}}, false)
	link.send("+FULLRESYNC " + fakeReplID + " 1\r\n")
	link.send("$" + strconv.Itoa(len(payload)) + "\r\n" + string(payload))
	waitLinkUp(t, rc)
	link.conn.Close()

	link, _ = fm.accept(t)
	var keys []payloadKey
	for i := 0; i < 1000; i++ {
		keys = append(keys, payloadKey{key: "k" + strconv.Itoa(i), val: "v"})
	}
	payload = buildPayload([][2]string{{"used-mem", "1000000"}}, keys, false)
	mark := strings.Repeat("m", 40)
	link.send("+FULLRESYNC " + fakeReplID + " 5\r\n")
	link.send("$EOF:" + mark + "\r\n" + string(payload[:len(payload)-100]))
	var info string
	testutil.Eventually(t, 5*time.Second, func() bool {
		info = rc.Info(ctx, "persistence").Val()
		return strings.Contains(info, "async_loading:1\r\n") && !strings.Contains(info, "loading_loaded_bytes:0\r\n")
	}, "an async load with some keys stored")
	field := func(name string) string {
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, name+":"); ok {
				return v
			}
		}
		return ""
	}
	loaded, _ := strconv.ParseFloat(field("loading_loaded_bytes"), 64)
	perc, err := strconv.ParseFloat(field("loading_loaded_perc"), 64)
	if field("loading_total_bytes") != "0" || field("loading_rdb_used_mem") != "1000000" || err != nil ||
		perc >= 100 || fmt.Sprintf("%.2f", loaded/1000000*100) != field("loading_loaded_perc") {
		t.Errorf("progress of a streamed payload:\n%s", info)
	}
	link.send(string(payload[len(payload)-100:]) + mark)
	testutil.Eventually(t, 5*time.Second, func() bool { return rc.Exists(ctx, "k999").Val() == 1 }, "the new payload swapped in")
}
