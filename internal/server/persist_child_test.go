package server

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

// childScript runs BGSAVE and BGREWRITEAOF against each other in every order, as Redis's
// one background child allows: replies and the INFO fields that tell which operation runs
// or waits. rdb-key-save-delay makes each operation last about a second on both servers.
func childScript(t *testing.T, s *testutil.Server) (replies []string) {
	t.Helper()
	ctx := context.Background()
	c := s.Client()
	if err := c.Do(ctx, "DEBUG", "POPULATE", 5000, "key", 10).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.ConfigSet(ctx, "rdb-key-save-delay", "200").Err(); err != nil {
		t.Fatal(err)
	}
	rc := testutil.DialRaw(t, s.Addr)
	do := func(args ...string) {
		t.Helper()
		r, err := rc.Do(args...)
		if err != nil {
			t.Fatalf("%s %v: %v", s.Name, args, err)
		}
		replies = append(replies, strings.Join(args, " ")+" -> "+string(r))
	}
	field := regexp.MustCompile(`(?m)^(rdb_bgsave_in_progress|aof_rewrite_in_progress|aof_rewrite_scheduled|aof_last_bgrewrite_status|rdb_last_bgsave_status):(.*)\r$`)
	info := func(what string) {
		t.Helper()
		r, _ := rc.Do("INFO", "persistence")
		var f []string
		for _, m := range field.FindAllStringSubmatch(string(r), -1) {
			f = append(f, m[1]+":"+m[2])
		}
		replies = append(replies, what+": "+strings.Join(f, " "))
	}
	waitFor := func(sub string) {
		t.Helper()
		testutil.Eventually(t, 30*time.Second, func() bool {
			r, _ := c.Info(ctx, "persistence").Result()
			return strings.Contains(r, sub)
		}, s.Name+": waiting for "+sub)
	}
	// A BGSAVE runs: another BGSAVE and SAVE are refused, a rewrite waits for it.
	do("BGSAVE")
	do("BGSAVE")
	do("BGSAVE", "SCHEDULE")
	do("SAVE")
	do("BGREWRITEAOF")
	info("during BGSAVE")
	// The rewrite starts once the save is over; now BGSAVE is refused or scheduled and a
	// SAVE runs in the foreground.
	waitFor("aof_rewrite_in_progress:1")
	do("BGREWRITEAOF")
	do("BGSAVE")
	info("during the rewrite")
	do("BGSAVE", "SCHEDULE")
	info("during the rewrite, BGSAVE scheduled")
	do("SAVE")
	waitFor("aof_rewrite_in_progress:0")
	waitFor("rdb_bgsave_in_progress:1") // the scheduled BGSAVE
	waitFor("rdb_bgsave_in_progress:0")
	info("after both")
	// Inside a transaction both are scheduled.
	do("MULTI")
	do("BGSAVE")
	do("BGREWRITEAOF")
	do("EXEC")
	info("after EXEC")
	waitFor("aof_rewrite_in_progress:1")
	waitFor("aof_rewrite_in_progress:0")
	waitFor("rdb_bgsave_in_progress:0")
	waitFor("aof_rewrite_scheduled:0")
	info("at the end")
	return replies
}

// TestBackgroundChildMatchesRedis compares sard's BGSAVE / BGREWRITEAOF interplay with
// redis-server's: each has its own INFO fields, one runs at a time, the other is refused
// or scheduled with Redis's texts.
func TestBackgroundChildMatchesRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server and redis-server; skipped with -short")
	}
	redisSrv := testutil.StartRedis(t)
	sard := testutil.StartSard(t, "--save", "")
	want := childScript(t, redisSrv)
	got := childScript(t, sard)
	if len(got) != len(want) {
		t.Fatalf("sard %d steps, redis %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal([]byte(got[i]), []byte(want[i])) {
			t.Errorf("sard:  %q\nredis: %q", got[i], want[i])
		}
	}
	for _, s := range []*testutil.Server{sard, redisSrv} {
		if n := strings.Count(s.LogText(), "Background AOF rewrite finished successfully"); n != 2 {
			t.Errorf("%s: %d rewrites finished, want 2", s.Name, n)
		}
		if n := strings.Count(s.LogText(), "Background saving terminated with success"); n != 3 {
			t.Errorf("%s: %d BGSAVEs finished, want 3", s.Name, n)
		}
	}
}
