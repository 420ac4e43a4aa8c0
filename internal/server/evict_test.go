package server

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/sard-kv/sard/internal/testutil"
)

func infoInt(t *testing.T, rc *testutil.RawConn, section, field string) int64 {
	t.Helper()
	raw, err := rc.Do("INFO", section)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := testutil.Bulk(raw)
	for _, line := range strings.Split(string(body), "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("%s: %q", field, line)
			}
			return n
		}
	}
	t.Fatalf("INFO %s has no %s", section, field)
	return 0
}

// TestMaxmemoryNoeviction fills a server up to a limit a few megabytes above its
// footprint: writes are refused only once the data written is close to the headroom
// (garbage alone does not trip the gate), reads keep working, and deleting the data
// lets writes in again.
func TestMaxmemoryNoeviction(t *testing.T) {
	srv := testutil.StartSard(t)
	rc := testutil.DialRaw(t, srv.Addr)
	const headroom = 8 << 20
	used := infoInt(t, rc, "memory", "used_memory")
	if _, err := rc.Do("CONFIG", "SET", "maxmemory", strconv.FormatInt(used+headroom, 10)); err != nil {
		t.Fatal(err)
	}
	if got := infoInt(t, rc, "memory", "maxmemory"); got != used+headroom {
		t.Fatalf("INFO maxmemory %d, want %d", got, used+headroom)
	}
	value := strings.Repeat("v", 1000)
	written := 0
	for ; written < 100_000; written++ {
		reply, err := rc.Do("SET", fmt.Sprint("key:", written), value)
		if err != nil {
			t.Fatal(err)
		}
		if string(reply) == "-"+errOOM+"\r\n" {
			break
		}
		if string(reply) != "+OK\r\n" {
			t.Fatalf("SET #%d: %q", written, reply)
		}
	}
	t.Logf("%d values of %d bytes accepted with %d bytes of headroom", written, len(value), headroom)
	if written*len(value) < headroom/2 || written*len(value) > 2*headroom {
		t.Fatalf("refused after %d values of %d bytes with %d bytes of headroom", written, len(value), headroom)
	}
	if got, _ := rc.Do("GET", "key:0"); string(got) != "$1000\r\n"+value+"\r\n" {
		t.Fatalf("GET over the limit: %.40q", got)
	}
	if got, _ := rc.Do("FLUSHALL"); string(got) != "+OK\r\n" {
		t.Fatalf("FLUSHALL: %q", got)
	}
	// the freed memory is garbage until collected: the gate collects before refusing
	testutil.Eventually(t, testutil.ReadyTimeout, func() bool {
		got, _ := rc.Do("SET", "after", "flush")
		return string(got) == "+OK\r\n"
	}, "writes accepted again after FLUSHALL")
	if got, _ := rc.Do("CONFIG", "SET", "maxmemory", "0"); string(got) != "+OK\r\n" {
		t.Fatalf("CONFIG SET maxmemory 0: %q", got)
	}
}
