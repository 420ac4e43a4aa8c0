package server

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// reloadProbe starts a DEBUG RELOAD (or any loading command) on one connection, waits on a
// second one until INFO says loading:1, sends loadingProbe there and returns its replies,
// the INFO persistence seen, and the loading connection's replies to what it sent (the
// reload and the commands pipelined after it).
func reloadProbe(t *testing.T, s *testutil.Server, load [][]string, during ...func()) (replies [][]byte, info string, own [][]byte) {
	t.Helper()
	loader := testutil.DialRaw(t, s.Addr)
	var raw []byte
	for _, cmd := range load {
		raw = append(raw, testutil.EncodeCommand(cmd...)...)
	}
	if err := loader.Send(raw); err != nil {
		t.Fatal(err)
	}
	rc := testutil.DialRaw(t, s.Addr)
	var body []byte
	ok := testutil.Poll(20*time.Second, func() bool {
		r, err := rc.Do("INFO", "persistence")
		if err != nil {
			return false
		}
		body, _ = testutil.Bulk(r)
		return bytes.Contains(body, []byte("loading:1\r\n"))
	})
	if !ok {
		t.Fatalf("%s never reported loading:1 during %v; last INFO:\n%s", s.Name, load[0], body)
	}
	info = string(body)
	for _, cmd := range loadingProbe {
		r, err := rc.Do(cmd...)
		if err != nil {
			t.Fatalf("%s %v: %v", s.Name, cmd, err)
		}
		replies = append(replies, r)
	}
	for _, f := range during {
		f()
	}
	loader.Conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	for range load {
		r, err := loader.ReadReply()
		if err != nil {
			t.Fatalf("%s: reply to %v: %v", s.Name, load, err)
		}
		own = append(own, r)
	}
	return replies, info, own
}

// loadingFieldNames lists the loading* fields of an INFO persistence text, in order.
func loadingFieldNames(info string) string {
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^((?:async_)?loading\w*):`).FindAllStringSubmatch(info, -1) {
		out = append(out, m[1])
	}
	return strings.Join(out, " ")
}

// TestDebugReloadLoadingMatchesRedis: while DEBUG RELOAD loads, other clients get what they
// get from redis-server (-LOADING for commands without the loading flag; INFO, CONFIG,
// CLIENT, ... run), INFO shows loading:1 and the loading_* fields, the reloading client
// gets +OK at the end and the commands it pipelined after it run then; nothing written
// meanwhile slips in.
func TestDebugReloadLoadingMatchesRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server and redis-server; skipped with -short")
	}
	const keys = 40000
	load := [][]string{{"DEBUG", "RELOAD"}, {"GET", "key:7"}, {"DBSIZE"}}
	run := func(s *testutil.Server) (replies [][]byte, info string, own [][]byte, before, after string) {
		ctx := context.Background()
		c := s.Client()
		defer c.Close()
		for _, cmd := range [][]any{
			{"DEBUG", "POPULATE", keys, "key", 20},
			{"CONFIG", "SET", "key-load-delay", "50"},
			{"CONFIG", "SET", "loading-process-events-interval-bytes", "1024"},
		} {
			if err := c.Do(ctx, cmd...).Err(); err != nil {
				t.Fatal(err)
			}
		}
		before = replDigest(t, c)
		// Transactions queued before the reload and run during it: EXEC is refused when
		// it holds a command without the loading flag (Redis's cmd_inv_flags).
		tx, empty := testutil.DialRaw(t, s.Addr), testutil.DialRaw(t, s.Addr)
		txReplies, _ := tx.Pipeline([]string{"MULTI"}, []string{"SET", "during", "1"}, []string{"PING"})
		empty.Do("MULTI")
		replies, info, own = reloadProbe(t, s, load, func() {
			r, _ := tx.Do("EXEC")
			txReplies = append(txReplies, r)
			r, _ = empty.Do("EXEC")
			txReplies = append(txReplies, r)
		})
		replies = append(replies, txReplies...)
		c.Do(ctx, "CONFIG", "SET", "key-load-delay", "0")
		after = replDigest(t, c)
		return
	}
	redisSrv := testutil.StartRedis(t, "--save", "", "--enable-debug-command", "yes")
	sard := testutil.StartSard(t, "--save", "")
	want, redisInfo, wantOwn, _, _ := run(redisSrv)
	got, sardInfo, gotOwn, before, after := run(sard)
	probe := append(append([][]string{}, loadingProbe...), []string{"MULTI"}, []string{"SET", "during", "1"},
		[]string{"PING"}, []string{"EXEC (MULTI SET PING before the reload)"}, []string{"EXEC (empty)"})
	for i, cmd := range probe {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("%v during DEBUG RELOAD: sard %q, redis %q", cmd, got[i], want[i])
		}
	}
	if w := "-EXECABORT Transaction discarded because of: " + errLoading + "\r\n"; string(got[len(got)-2]) != w {
		t.Errorf("EXEC of a write queued before the reload: %q, want %q", got[len(got)-2], w)
	}
	for i, cmd := range load {
		if !bytes.Equal(gotOwn[i], wantOwn[i]) {
			t.Errorf("reloading client's %v: sard %q, redis %q", cmd, gotOwn[i], wantOwn[i])
		}
	}
	if string(gotOwn[0]) != "+OK\r\n" || string(gotOwn[2]) != ":"+strconv.Itoa(keys)+"\r\n" {
		t.Errorf("reloading client got %q", gotOwn)
	}
	if g, w := loadingFieldNames(sardInfo), loadingFieldNames(redisInfo); g != w {
		t.Errorf("INFO persistence loading fields during DEBUG RELOAD: sard %q, redis %q", g, w)
	}
	if !strings.Contains(sardInfo, "async_loading:0\r\n") {
		t.Errorf("INFO during DEBUG RELOAD:\n%s", sardInfo)
	}
	if before != after {
		t.Errorf("digest %s before DEBUG RELOAD, %s after (the -LOADING writes must not have run)", before, after)
	}
	r, _ := sard.Raw().Do("INFO", "persistence")
	if !bytes.Contains(r, []byte("loading:0\r\n")) || bytes.Contains(r, []byte("loading_start_time")) {
		t.Errorf("INFO after DEBUG RELOAD:\n%s", r)
	}
}

// TestDebugReloadOptionsWhileLoading: NOSAVE, NOFLUSH and MERGE keep their meaning with
// the load running in the LOADING state, and a second reload meanwhile is refused.
func TestDebugReloadOptionsWhileLoading(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server; skipped with -short")
	}
	ctx := context.Background()
	s := testutil.StartSard(t, "--save", "")
	c := s.Client()
	defer c.Close()
	must := func(args ...any) any {
		t.Helper()
		v, err := c.Do(ctx, args...).Result()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return v
	}
	must("DEBUG", "POPULATE", 20000, "key", 20)
	must("SET", "saved", "1")
	must("SAVE")
	must("SET", "unsaved", "1")
	must("CONFIG", "SET", "key-load-delay", "50")
	must("CONFIG", "SET", "loading-process-events-interval-bytes", "1024")

	// NOSAVE: the file saved above comes back, the key written after it is gone; a second
	// reload during the first is answered -LOADING.
	_, _, own := reloadProbe(t, s, [][]string{{"DEBUG", "RELOAD", "NOSAVE"}, {"EXISTS", "unsaved", "saved"}})
	if string(own[0]) != "+OK\r\n" || string(own[1]) != ":1\r\n" {
		t.Errorf("DEBUG RELOAD NOSAVE then EXISTS unsaved saved: %q", own)
	}
	// NOFLUSH MERGE keeps keys the file lacks; a second reload meanwhile gets -LOADING.
	must("SET", "extra", "1")
	loader := testutil.DialRaw(t, s.Addr)
	loader.Send(testutil.EncodeCommand("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"))
	rc := testutil.DialRaw(t, s.Addr)
	testutil.Eventually(t, 20*time.Second, func() bool {
		r, _ := rc.Do("INFO", "persistence")
		return bytes.Contains(r, []byte("loading:1\r\n"))
	}, "loading:1 during DEBUG RELOAD NOFLUSH MERGE")
	if r, _ := rc.Do("DEBUG", "RELOAD"); string(r) != "-"+errLoading+"\r\n" {
		t.Errorf("DEBUG RELOAD during another: %q", r)
	}
	if r, _ := rc.Do("DEBUG", "LOADAOF"); string(r) != "-"+errLoading+"\r\n" {
		t.Errorf("DEBUG LOADAOF during DEBUG RELOAD: %q", r)
	}
	loader.Conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	if r, err := loader.ReadReply(); err != nil || string(r) != "+OK\r\n" {
		t.Fatalf("DEBUG RELOAD NOSAVE NOFLUSH MERGE: %q %v", r, err)
	}
	if n := must("EXISTS", "extra", "saved", "key:19999"); n != int64(3) {
		t.Errorf("EXISTS after NOFLUSH MERGE: %v", n)
	}
	// NOFLUSH alone: a key both in memory and in the file fails the load.
	must("CONFIG", "SET", "key-load-delay", "0")
	if err := c.Do(ctx, "DEBUG", "RELOAD", "NOSAVE", "NOFLUSH").Err(); err == nil || !strings.Contains(err.Error(), "Error trying to load the RDB dump") {
		t.Errorf("DEBUG RELOAD NOSAVE NOFLUSH over the same keys: %v", err)
	}
	if v := must("PING"); v != "PONG" {
		t.Errorf("PING after a failed reload: %v", v)
	}
}

// TestDebugLoadAOFLoading: DEBUG LOADAOF replays the AOF in the LOADING state too.
func TestDebugLoadAOFLoading(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server; skipped with -short")
	}
	ctx := context.Background()
	s := testutil.StartSard(t, "--save", "", "--appendonly", "yes")
	c := s.Client()
	defer c.Close()
	if err := c.Do(ctx, "DEBUG", "POPULATE", 30000, "key", 20).Err(); err != nil {
		t.Fatal(err)
	}
	bgrewrite(t, c) // DEBUG POPULATE is not propagated: the base holds the keys
	for i := 0; i < 3000; i++ {
		c.Set(ctx, "after:"+strconv.Itoa(i), i, 0)
	}
	want := replDigest(t, c)
	c.Do(ctx, "CONFIG", "SET", "key-load-delay", "50")
	c.Do(ctx, "CONFIG", "SET", "loading-process-events-interval-bytes", "1024")
	replies, info, own := reloadProbe(t, s, [][]string{{"DEBUG", "LOADAOF"}, {"GET", "after:7"}})
	if string(replies[0]) != "-"+errLoading+"\r\n" || string(replies[2]) != "-"+errLoading+"\r\n" {
		t.Errorf("PING / SET during DEBUG LOADAOF: %q %q", replies[0], replies[2])
	}
	if !strings.Contains(info, "aof_enabled:1\r\n") || !strings.Contains(info, "loading_loaded_bytes:") {
		t.Errorf("INFO during DEBUG LOADAOF:\n%s", info)
	}
	if string(own[0]) != "+OK\r\n" || string(own[1]) != "$1\r\n7\r\n" {
		t.Errorf("DEBUG LOADAOF then GET: %q", own)
	}
	c.Do(ctx, "CONFIG", "SET", "key-load-delay", "0")
	if got := replDigest(t, c); got != want {
		t.Errorf("digest after DEBUG LOADAOF %s, want %s", got, want)
	}
	if err := c.Set(ctx, "post", "load", 0).Err(); err != nil {
		t.Errorf("SET after DEBUG LOADAOF: %v", err)
	}
}

// TestAOFReplayKeepsLateExpiredKeys: an AOF replayed after the TTLs it sets have passed
// rebuilds the same dataset. Nothing expires while loading and a past PEXPIREAT or RESTORE
// ABSTTL keeps its key (Redis's checkAlreadyExpired is false while loading); otherwise the
// APPENDs logged after them would create new keys without a TTL.
func TestAOFReplayKeepsLateExpiredKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server; skipped with -short")
	}
	ctx := context.Background()
	s := testutil.StartSard(t, "--save", "", "--appendonly", "yes", "--appendfsync", "always")
	c := s.Client()
	defer c.Close()
	must := func(args ...any) any {
		t.Helper()
		v, err := c.Do(ctx, args...).Result()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return v
	}
	must("DEBUG", "SET-ACTIVE-EXPIRE", "0")
	must("SET", "src", "payload")
	payload := must("DUMP", "src").(string)
	must("SET", "a", "v")
	must("PEXPIRE", "a", 150) // logged as PEXPIREAT
	must("APPEND", "a", "x")
	must("SET", "b", "v", "PX", 150) // logged as SET ... PXAT
	must("APPEND", "b", "x")
	must("RESTORE", "c", 150, payload) // logged as RESTORE ... ABSTTL
	must("APPEND", "c", "x")
	must("GETEX", "src", "PX", 150) // logged as PEXPIREAT
	must("APPEND", "src", "x")
	time.Sleep(400 * time.Millisecond)
	want := replDigest(t, c)
	must("DEBUG", "LOADAOF")
	if got := replDigest(t, c); got != want {
		var vals []string
		for _, k := range []string{"a", "b", "c", "src"} {
			v, _ := c.Do(ctx, "DEBUG", "DIGEST-VALUE", k).Result()
			vals = append(vals, fmt.Sprintf("%s=%v", k, v))
		}
		t.Errorf("digest after DEBUG LOADAOF %s, before %s (%s)", got, want, strings.Join(vals, " "))
	}
	if n := must("DBSIZE"); n != int64(4) {
		t.Errorf("DBSIZE after the replay: %v (expired keys are kept until something deletes them)", n)
	}
	// Now that loading is over, reading them expires them.
	for _, k := range []string{"a", "b", "c", "src"} {
		if err := c.Get(ctx, k).Err(); err != redis.Nil {
			t.Errorf("GET %s after the replay: %v, want nil", k, err)
		}
	}
}

// TestDebugReloadDefersScheduledRewrite: an AOF rewrite scheduled before DEBUG RELOAD does
// not start while the reload lets other clients in (Redis's cron does not run while it
// loads); started then, it would write the emptied dataset as the new base.
func TestDebugReloadDefersScheduledRewrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server; skipped with -short")
	}
	ctx := context.Background()
	s := testutil.StartSard(t, "--save", "", "--appendonly", "yes", "--hz", "100")
	c := s.Client()
	defer c.Close()
	must := func(args ...any) any {
		t.Helper()
		v, err := c.Do(ctx, args...).Result()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return v
	}
	const keys = 20000
	must("DEBUG", "POPULATE", keys, "key", 20)
	bgrewrite(t, c) // the base holds the keys
	must("SAVE")    // what DEBUG RELOAD NOSAVE loads
	must("CONFIG", "SET", "rdb-key-save-delay", "100")
	must("BGSAVE")
	if v := must("BGREWRITEAOF"); v != "Background append only file rewriting scheduled" {
		t.Fatalf("BGREWRITEAOF during BGSAVE: %v", v)
	}
	must("CONFIG", "SET", "rdb-key-save-delay", "0")
	must("CONFIG", "SET", "key-load-delay", "50")
	must("CONFIG", "SET", "loading-process-events-interval-bytes", "1024")
	must("DEBUG", "RELOAD", "NOSAVE") // the BGSAVE ends, and frees the slot, during the load
	must("CONFIG", "SET", "key-load-delay", "0")
	testutil.Eventually(t, 20*time.Second, func() bool {
		info := c.Info(ctx, "persistence").Val()
		return strings.Contains(info, "aof_rewrite_in_progress:0\r\n") && strings.Contains(info, "aof_rewrite_scheduled:0\r\n")
	}, "the scheduled rewrite ran")
	must("DEBUG", "LOADAOF")
	if n := must("DBSIZE"); n != int64(keys) {
		t.Fatalf("DBSIZE after the rewrite and DEBUG LOADAOF: %v, want %d", n, keys)
	}
}
