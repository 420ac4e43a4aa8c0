package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

// redis-cli's replication clients against a sard master, as against Redis: --rdb takes a
// full payload, --functions-rdb one with only the functions (REPLCONF rdb-filter-only), and
// --replica an empty payload followed by the live stream.
func TestReplRedisCLIClients(t *testing.T) {
	s := testutil.StartSard(t, "--repl-diskless-sync-delay", "0")
	c := s.Client()
	ctx := context.Background()
	if err := c.Do(ctx, "DEBUG", "POPULATE", 1000).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('f1', function() return 1 end)").Err(); err != nil {
		t.Fatal(err)
	}
	check := testutil.RequireTool(t, "redis-check-rdb")
	port := strconv.Itoa(s.Port)
	dir := t.TempDir()
	for _, tc := range []struct{ flag, keys string }{{"--rdb", "1000"}, {"--functions-rdb", "0"}} {
		file := filepath.Join(dir, strings.TrimPrefix(tc.flag, "--")+".rdb")
		out, err := cli(t, "-p", port, tc.flag, file)
		if err != nil || !strings.Contains(out, "Transfer finished with success") {
			t.Fatalf("redis-cli %s: %v\n%s", tc.flag, err, out)
		}
		rep, err := exec.Command(check, file).CombinedOutput()
		if err != nil || !strings.Contains(string(rep), "[info] "+tc.keys+" keys read") {
			t.Fatalf("redis-check-rdb of %s's file: %v\n%s", tc.flag, err, rep)
		}
		if b, _ := os.ReadFile(file); !bytes.Contains(b, []byte("mylib")) {
			t.Fatalf("%s: the payload has no function library", tc.flag)
		}
	}

	cliBin := testutil.RequireTool(t, "redis-cli")
	cmd := exec.Command(cliBin, "-p", port, "--replica")
	out := &testutil.LogBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	testutil.Eventually(t, 10*time.Second, func() bool {
		return strings.Contains(out.String(), "Logging commands from master")
	}, "redis-cli --replica synced")
	c.Set(ctx, "streamed", "yes", 0)
	testutil.Eventually(t, 10*time.Second, func() bool {
		return strings.Contains(out.String(), `"set","streamed","yes"`)
	}, "redis-cli --replica printed the live stream")
}
