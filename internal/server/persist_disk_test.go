//go:build linux

package server

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sys/unix"

	"github.com/sard-kv/sard/internal/testutil"
)

// Full-disk tests. A small tmpfs is mounted for each server's directory, which needs root;
// without it the tests say so and skip. TestAOFFileSizeLimit gets write errors without
// root, from RLIMIT_FSIZE.

// smallDisk mounts a tmpfs of size bytes on a new directory and returns it; it is
// unmounted and removed when the test ends (after the servers started later have stopped,
// since cleanups run last-in first-out).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs to fill needs root; not root, so the full-disk test is skipped")
	}
	dir, err := os.MkdirTemp("", "sard-fulldisk-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		os.Remove(dir)
		t.Skipf("can't mount a tmpfs (%v: %s); the full-disk test is skipped", err, out)
	}
	t.Cleanup(func() {
		exec.Command("umount", "-l", dir).Run()
		os.RemoveAll(dir)
	})
	return dir
}

// growDisk gives a mounted tmpfs more room, as an operator freeing space would.
func growDisk(t *testing.T, dir, size string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, out)
	}
}

// fillUntilRefused writes 20 KB values until a SET is refused and returns the keys that
// were acknowledged and the error of the first refusal.
func fillUntilRefused(t *testing.T, c *redis.Client) (acked []string, refusal string) {
	t.Helper()
	ctx := context.Background()
	v := strings.Repeat("v", 20000)
	for i := 0; i < 2000; i++ {
		k := fmt.Sprint("k", i)
		if err := c.Set(ctx, k, v, 0).Err(); err != nil {
			return acked, err.Error()
		}
		acked = append(acked, k)
		// everysec writes in the background: give the write of this one time to fail.
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("the disk never filled")
	return nil, ""
}

// TestAOFFullDiskEverysec fills the disk under an AOF with appendfsync everysec, on sard and
// on redis-server: writes are refused with the same -MISCONF error (PING too), reads go on,
// INFO says aof_last_write_status:err; once there is room again writes are accepted, and a
// restart loads every acknowledged write.
func TestAOFFullDiskEverysec(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers; skipped with -short")
	}
	ctx := context.Background()
	var refusals [2]string
	for i, name := range []string{"redis", "sard"} {
		dir := smallDisk(t, "3m")
		args := []string{"--dir", dir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""}
		var s *testutil.Server
		if name == "redis" {
			s = testutil.StartRedis(t, args...)
		} else {
			s = testutil.StartSard(t, args...)
		}
		c := singleClient(s)
		acked, refusal := fillUntilRefused(t, c)
		refusals[i] = refusal
		if got := c.Ping(ctx).Err(); got == nil || got.Error() != refusal {
			t.Errorf("%s: PING while the AOF can't be written: %v, want %q", name, got, refusal)
		}
		if got := c.Get(ctx, acked[0]).Val(); len(got) != 20000 {
			t.Errorf("%s: GET while the AOF can't be written: %d bytes", name, len(got))
		}
		if info := c.Info(ctx, "persistence").Val(); !strings.Contains(info, "aof_last_write_status:err") {
			t.Errorf("%s: INFO while the AOF can't be written:\n%s", name, info)
		}
		growDisk(t, dir, "64m")
		testutil.Eventually(t, 10*time.Second, func() bool {
			return c.Set(ctx, "after", "space", 0).Err() == nil
		}, name+" did not accept writes again")
		if info := c.Info(ctx, "persistence").Val(); !strings.Contains(info, "aof_last_write_status:ok") {
			t.Errorf("%s: INFO after recovery:\n%s", name, info)
		}
		if !strings.Contains(s.LogText(), "AOF write error looks solved, Redis can write again.") {
			t.Errorf("%s: the log does not say the error is solved", name)
		}
		want := c.Do(ctx, "DEBUG", "DIGEST").Val()
		s.Restart()
		c = singleClient(s)
		for _, k := range append(acked, "after") {
			if c.Exists(ctx, k).Val() != 1 {
				t.Errorf("%s: acknowledged key %s lost across the restart", name, k)
			}
		}
		if got := c.Do(ctx, "DEBUG", "DIGEST").Val(); got != want {
			t.Errorf("%s: digest after restart %v, want %v", name, got, want)
		}
		checkAOF(t, filepath.Join(dir, "appendonlydir", "appendonly.aof.manifest"))
	}
	if refusals[0] != refusals[1] {
		t.Errorf("refusal: sard %q, redis %q", refusals[1], refusals[0])
	}
	if !strings.HasPrefix(refusals[1], "MISCONF Errors writing to the AOF file: No space left on device") {
		t.Errorf("refusal %q", refusals[1])
	}
}

// TestAOFFullDiskAlways: with appendfsync always Redis can't keep its promise once a write
// fails, so it exits; sard does the same, having acknowledged nothing it did not sync, and
// a restart with room again loads every acknowledged write.
func TestAOFFullDiskAlways(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers; skipped with -short")
	}
	ctx := context.Background()
	for _, name := range []string{"redis", "sard"} {
		dir := smallDisk(t, "3m")
		args := []string{"--dir", dir, "--appendonly", "yes", "--appendfsync", "always", "--save", ""}
		var s *testutil.Server
		if name == "redis" {
			s = testutil.StartRedis(t, args...)
		} else {
			s = testutil.StartSard(t, args...)
		}
		c := singleClient(s)
		acked, _ := fillUntilRefused(t, c)
		testutil.Eventually(t, 10*time.Second, func() bool { return !s.Running() }, name+" did not exit")
		if code := s.Cmd.ProcessState.ExitCode(); code != 1 {
			t.Errorf("%s exit code %d, want 1", name, code)
		}
		if !strings.Contains(s.LogText(), "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...") {
			t.Errorf("%s: log:\n%s", name, s.LogTail(10))
		}
		growDisk(t, dir, "64m")
		s.Start()
		c = singleClient(s)
		for _, k := range acked {
			if c.StrLen(ctx, k).Val() != 20000 {
				t.Fatalf("%s: acknowledged key %s lost across the restart", name, k)
			}
		}
	}
}

// TestBgsaveFullDisk: a BGSAVE that fills the disk fails as in Redis: the log says why,
// rdb_last_bgsave_status:err, writes and PING get -MISCONF while stop-writes-on-bgsave-error
// is on (reads go on), the previous dump.rdb is untouched and no temporary file is left;
// once there is room a BGSAVE succeeds and writes are accepted again.
func TestBgsaveFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers; skipped with -short")
	}
	ctx := context.Background()
	for _, name := range []string{"redis", "sard"} {
		dir := smallDisk(t, "3m")
		args := []string{"--dir", dir, "--save", "3600 1"}
		var s *testutil.Server
		if name == "redis" {
			s = testutil.StartRedis(t, args...)
		} else {
			s = testutil.StartSard(t, args...)
		}
		c := singleClient(s)
		c.Do(ctx, "DEBUG", "POPULATE", 1000, "key", 100)
		if err := c.Save(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		old, err := os.ReadFile(filepath.Join(dir, "dump.rdb"))
		if err != nil {
			t.Fatal(err)
		}
		c.Do(ctx, "DEBUG", "POPULATE", 200000, "big", 100)
		if err := c.BgSave(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 20*time.Second, func() bool {
			return strings.Contains(c.Info(ctx, "persistence").Val(), "rdb_bgsave_in_progress:0")
		}, name+": BGSAVE did not end")
		if info := c.Info(ctx, "persistence").Val(); !strings.Contains(info, "rdb_last_bgsave_status:err") {
			t.Errorf("%s: INFO after the failed BGSAVE:\n%s", name, info)
		}
		for _, err := range []error{c.Set(ctx, "a", "b", 0).Err(), c.Ping(ctx).Err()} {
			if err == nil || err.Error() != errMisconf {
				t.Errorf("%s: write after the failed BGSAVE: %v", name, err)
			}
		}
		if c.Get(ctx, "key:1").Err() != nil {
			t.Errorf("%s: GET after the failed BGSAVE: %v", name, c.Get(ctx, "key:1").Err())
		}
		if cur, _ := os.ReadFile(filepath.Join(dir, "dump.rdb")); !bytes.Equal(cur, old) {
			t.Errorf("%s: dump.rdb changed by the failed BGSAVE", name)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("%s: files left in the directory: %v", name, ents)
		}
		for _, line := range []string{"Write error saving DB on disk(rdbSaveRio): No space left on device", "Background saving error"} {
			if !strings.Contains(s.LogText(), line) {
				t.Errorf("%s: the log lacks %q", name, line)
			}
		}
		c.ConfigSet(ctx, "stop-writes-on-bgsave-error", "no")
		if err := c.Set(ctx, "a", "b", 0).Err(); err != nil {
			t.Errorf("%s: write with stop-writes-on-bgsave-error no: %v", name, err)
		}
		c.ConfigSet(ctx, "stop-writes-on-bgsave-error", "yes")
		growDisk(t, dir, "64m")
		if err := c.BgSave(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 20*time.Second, func() bool {
			return strings.Contains(c.Info(ctx, "persistence").Val(), "rdb_last_bgsave_status:ok")
		}, name+": BGSAVE with room did not succeed")
		if err := c.Set(ctx, "a", "b", 0).Err(); err != nil {
			t.Errorf("%s: write after a good BGSAVE: %v", name, err)
		}
	}
}

// TestAOFFileSizeLimit needs no root: RLIMIT_FSIZE set on the running server makes its
// AOF writes fail with EFBIG, so writes are refused with -MISCONF until the limit is
// lifted, and nothing acknowledged is lost. (redis-server can't be compared here: SIGXFSZ kills it, while the
// Go runtime ignores the signal and gets the error.)
func TestAOFFileSizeLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server; skipped with -short")
	}
	ctx := context.Background()
	s := testutil.StartSard(t, "--appendonly", "yes", "--save", "")
	pid := s.Cmd.Process.Pid
	lim := unix.Rlimit{Cur: 1 << 20, Max: unix.RLIM_INFINITY}
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &lim, nil); err != nil {
		t.Skipf("prlimit: %v", err)
	}
	c := singleClient(s)
	acked, refusal := fillUntilRefused(t, c)
	// A write cut short counts as a full disk, as in Redis; one that wrote nothing gives
	// EFBIG's own text.
	if refusal != "MISCONF Errors writing to the AOF file: No space left on device" &&
		refusal != "MISCONF Errors writing to the AOF file: File too large" {
		t.Errorf("refusal %q", refusal)
	}
	lim.Cur = unix.RLIM_INFINITY
	unix.Prlimit(pid, unix.RLIMIT_FSIZE, &lim, nil)
	testutil.Eventually(t, 10*time.Second, func() bool {
		return c.Set(ctx, "after", "limit", 0).Err() == nil
	}, "sard did not accept writes again")
	s.Restart()
	c = singleClient(s)
	for _, k := range append(acked, "after") {
		if c.Exists(ctx, k).Val() != 1 {
			t.Errorf("acknowledged key %s lost across the restart", k)
		}
	}
}
