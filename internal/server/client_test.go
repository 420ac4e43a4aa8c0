package server

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// clientFields splits one CLIENT LIST line into its field names (in order) and values.
func clientFields(t *testing.T, line string) ([]string, map[string]string) {
	t.Helper()
	var names []string
	vals := map[string]string{}
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("field without '=' in %q", line)
		}
		names = append(names, k)
		vals[k] = v
	}
	return names, vals
}

func newGoRedis(t *testing.T, addr string, opts ...func(*redis.Options)) *redis.Client {
	o := &redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1, PoolSize: 1, DisableIdentity: true}
	for _, f := range opts {
		f(o)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestClientListFieldsMatchRedis checks that CLIENT LIST and CLIENT INFO carry Redis 7.0's
// fields in its order, with the values sard knows filled in.
func TestClientListFieldsMatchRedis(t *testing.T) {
	ctx := context.Background()
	sard := testutil.StartSard(t)
	oracle := testutil.StartRedis(t)
	infoLine := func(addr string) string {
		c := newGoRedis(t, addr)
		if err := c.Do(ctx, "CLIENT", "SETNAME", "probe").Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.Do(ctx, "SELECT", "2").Err(); err != nil {
			t.Fatal(err)
		}
		line, err := c.Do(ctx, "CLIENT", "INFO").Text()
		if err != nil {
			t.Fatal(err)
		}
		return line
	}
	want, _ := clientFields(t, infoLine(oracle.Addr))
	got, vals := clientFields(t, infoLine(sard.Addr))
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("CLIENT INFO fields:\n sard:  %v\n redis: %v", got, want)
	}
	checks := map[string]string{"name": "probe", "db": "2", "flags": "N", "multi": "-1",
		"cmd": "client|info", "user": "default", "redir": "-1", "resp": "2", "sub": "0"}
	for k, v := range checks {
		if vals[k] != v {
			t.Errorf("CLIENT INFO %s=%q, want %q", k, vals[k], v)
		}
	}
	if fd, err := strconv.Atoi(vals["fd"]); err != nil || fd <= 2 {
		t.Errorf("fd=%q is not a socket descriptor", vals["fd"])
	}

	// CLIENT LIST: one line per client in connection order, TYPE and ID filters
	a := newGoRedis(t, sard.Addr)
	b := newGoRedis(t, sard.Addr)
	idA, _ := a.ClientID(ctx).Result()
	idB, _ := b.ClientID(ctx).Result()
	b.Do(ctx, "CLIENT", "SETNAME", "bee")
	list, err := a.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, line := range strings.Split(strings.TrimSuffix(list, "\n"), "\n") {
		_, v := clientFields(t, line)
		id, _ := strconv.ParseInt(v["id"], 10, 64)
		ids = append(ids, id)
		if id == idB && (v["name"] != "bee" || v["cmd"] != "client|setname") {
			t.Errorf("client B listed as %q", line)
		}
		if id == idA && v["cmd"] != "client|list" {
			t.Errorf("the listing client shows cmd=%s", v["cmd"])
		}
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Errorf("CLIENT LIST not in connection order: %v", ids)
		}
	}
	only, err := a.Do(ctx, "CLIENT", "LIST", "ID", strconv.FormatInt(idB, 10), "999999").Text()
	if err != nil {
		t.Fatal(err)
	}
	if _, v := clientFields(t, strings.TrimSuffix(only, "\n")); v["id"] != strconv.FormatInt(idB, 10) || strings.Count(only, "\n") != 1 {
		t.Errorf("CLIENT LIST ID %d = %q", idB, only)
	}
	if s, _ := a.Do(ctx, "CLIENT", "LIST", "TYPE", "pubsub").Text(); s != "" {
		t.Errorf("CLIENT LIST TYPE pubsub = %q, want nothing", s)
	}
	if s, _ := a.Do(ctx, "CLIENT", "LIST", "TYPE", "normal").Text(); strings.Count(s, "\n") != len(ids) {
		t.Errorf("CLIENT LIST TYPE normal lists %d clients, want %d", strings.Count(s, "\n"), len(ids))
	}
}

// connGone reports whether the server closed the connection (a read sees EOF or a reset).
func connGone(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 64<<10)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return false
		}
		return true
	}
}

func TestClientKill(t *testing.T) {
	ctx := context.Background()
	sard := testutil.StartSard(t)
	admin := newGoRedis(t, sard.Addr)
	victim := func() (*testutil.RawConn, int64, string) {
		rc := testutil.DialRaw(t, sard.Addr)
		r, err := rc.Do("CLIENT", "ID")
		if err != nil {
			t.Fatal(err)
		}
		id, _ := strconv.ParseInt(strings.TrimSpace(string(r[1:])), 10, 64)
		return rc, id, rc.Conn.LocalAddr().String()
	}

	// old form: by address, +OK
	rc, _, addr := victim()
	if s, err := admin.Do(ctx, "CLIENT", "KILL", addr).Text(); err != nil || s != "OK" {
		t.Fatalf("CLIENT KILL %s = %q, %v", addr, s, err)
	}
	if !connGone(t, rc.Conn) {
		t.Error("old-form CLIENT KILL left the connection open")
	}
	if err := admin.Do(ctx, "CLIENT", "KILL", addr).Err(); err == nil || err.Error() != "ERR No such client" {
		t.Errorf("killing a gone client: %v", err)
	}

	// new form: ID, ADDR, LADDR, USER, TYPE; replies count the killed clients
	for _, filter := range []func(id int64, addr string) []any{
		func(id int64, _ string) []any { return []any{"ID", id} },
		func(_ int64, addr string) []any { return []any{"ADDR", addr} },
		func(id int64, _ string) []any { return []any{"ID", id, "LADDR", sard.Addr} },
		func(id int64, _ string) []any { return []any{"ID", id, "USER", "default", "TYPE", "normal"} },
	} {
		rc, id, addr := victim()
		args := append([]any{"CLIENT", "KILL"}, filter(id, addr)...)
		n, err := admin.Do(ctx, args...).Int()
		if err != nil || n != 1 {
			t.Fatalf("%v = %d, %v; want 1", args, n, err)
		}
		if !connGone(t, rc.Conn) {
			t.Errorf("%v left the connection open", args)
		}
	}

	// a filter matching nobody, and TYPE normal sparing the caller (SKIPME yes)
	if n, _ := admin.Do(ctx, "CLIENT", "KILL", "LADDR", "10.0.0.1:1").Int(); n != 0 {
		t.Errorf("LADDR filter matching nobody killed %d", n)
	}
	rc1, _, _ := victim()
	rc2, _, _ := victim()
	if n, err := admin.Do(ctx, "CLIENT", "KILL", "TYPE", "normal").Int(); err != nil || n != 2 {
		t.Errorf("CLIENT KILL TYPE normal = %d, %v; want 2", n, err)
	}
	if !connGone(t, rc1.Conn) || !connGone(t, rc2.Conn) {
		t.Error("TYPE normal left a client open")
	}
	if err := admin.Ping(ctx).Err(); err != nil {
		t.Fatalf("the killing client was killed too: %v", err)
	}

	// SKIPME no: the caller gets its reply, then the connection closes
	rc, id, _ := victim()
	r, err := rc.Do("CLIENT", "KILL", "ID", strconv.FormatInt(id, 10), "SKIPME", "no")
	if err != nil || string(r) != ":1\r\n" {
		t.Fatalf("self kill replied %q, %v", r, err)
	}
	if !connGone(t, rc.Conn) {
		t.Error("SKIPME no did not close the caller")
	}
}

// TestClientPauseWrite: a WRITE pause holds SET but not GET; UNPAUSE releases at once; an
// ALL pause holds reads too. Replies are timed on separate connections.
func TestClientPauseWrite(t *testing.T) {
	ctx := context.Background()
	sard := testutil.StartSard(t)
	admin := newGoRedis(t, sard.Addr)
	reader := newGoRedis(t, sard.Addr)
	writer := newGoRedis(t, sard.Addr)
	timed := func(c *redis.Client, args ...any) (time.Duration, error) {
		start := time.Now()
		err := c.Do(ctx, args...).Err()
		return time.Since(start), err
	}
	const pause = 600 * time.Millisecond
	if err := admin.Do(ctx, "CLIENT", "PAUSE", pause.Milliseconds(), "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if d, err := timed(reader, "GET", "k"); err != nil && err != redis.Nil || d > pause/2 {
		t.Errorf("GET during a WRITE pause took %v (%v)", d, err)
	}
	if _, err := timed(writer, "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < pause-50*time.Millisecond {
		t.Errorf("SET during a WRITE pause returned after %v, before the pause ended (%v)", waited, pause)
	}

	// UNPAUSE releases a held writer early
	if err := admin.Do(ctx, "CLIENT", "PAUSE", 10000, "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	done := make(chan time.Duration, 1)
	go func() {
		d, _ := timed(writer, "SET", "k", "v2")
		done <- d
	}()
	time.Sleep(200 * time.Millisecond)
	select {
	case d := <-done:
		t.Fatalf("SET was not held by the pause (returned after %v)", d)
	default:
	}
	// the held client shows as blocked
	list, _ := admin.ClientList(ctx).Result()
	if !strings.Contains(list, "flags=b") {
		t.Errorf("no client flagged b while held:\n%s", list)
	}
	if err := admin.Do(ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("UNPAUSE did not release the held SET")
	}
	if v, _ := reader.Get(ctx, "k").Result(); v != "v2" {
		t.Errorf("GET k = %q after the held SET, want v2", v)
	}

	// ALL holds reads as well
	if err := admin.Do(ctx, "CLIENT", "PAUSE", 400).Err(); err != nil {
		t.Fatal(err)
	}
	if d, _ := timed(reader, "GET", "k"); d < 300*time.Millisecond {
		t.Errorf("GET during an ALL pause returned after %v", d)
	}
}

// TestClientPauseKilledClient: a client killed while held never runs its command.
func TestClientPauseKilledClient(t *testing.T) {
	ctx := context.Background()
	sard := testutil.StartSard(t)
	admin := newGoRedis(t, sard.Addr)
	rc := testutil.DialRaw(t, sard.Addr)
	if err := admin.Do(ctx, "CLIENT", "PAUSE", 3000, "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	rc.Send(testutil.EncodeCommand("SET", "ghost", "1"))
	time.Sleep(100 * time.Millisecond)
	if n, _ := admin.Do(ctx, "CLIENT", "KILL", "ADDR", rc.Conn.LocalAddr().String()).Int(); n != 1 {
		t.Fatalf("killed %d clients", n)
	}
	admin.Do(ctx, "CLIENT", "UNPAUSE")
	time.Sleep(100 * time.Millisecond)
	if n, _ := admin.Exists(ctx, "ghost").Result(); n != 0 {
		t.Error("a client killed while paused still ran its SET")
	}
}

func TestClientReplyModes(t *testing.T) {
	sard := testutil.StartSard(t)
	rc := testutil.DialRaw(t, sard.Addr)
	// OFF: nothing comes back until ON, whose +OK is the next reply
	rc.Send(testutil.EncodeCommand("CLIENT", "REPLY", "OFF"))
	rc.Send(testutil.EncodeCommand("SET", "a", "1"))
	rc.Send(testutil.EncodeCommand("GET", "a"))
	r, err := rc.Do("CLIENT", "REPLY", "ON")
	if err != nil || string(r) != "+OK\r\n" {
		t.Fatalf("first reply after REPLY OFF = %q, %v", r, err)
	}
	// SKIP drops exactly the next command's reply
	rc.Send(testutil.EncodeCommand("CLIENT", "REPLY", "SKIP"))
	rc.Send(testutil.EncodeCommand("INCR", "a"))
	r, err = rc.Do("GET", "a")
	if err != nil || string(r) != "$1\r\n2\r\n" {
		t.Fatalf("GET after a skipped INCR = %q, %v", r, err)
	}
}

func TestClientNameAndNoEvict(t *testing.T) {
	ctx := context.Background()
	sard := testutil.StartSard(t)
	c := newGoRedis(t, sard.Addr)
	if err := c.Do(ctx, "CLIENT", "SETNAME", "has space").Err(); err == nil ||
		err.Error() != "ERR Client names cannot contain spaces, newlines or special characters." {
		t.Errorf("SETNAME with a space: %v", err)
	}
	c.Do(ctx, "CLIENT", "SETNAME", "worker-1")
	if n, _ := c.ClientGetName(ctx).Result(); n != "worker-1" {
		t.Errorf("GETNAME = %q", n)
	}
	c.Do(ctx, "CLIENT", "NO-EVICT", "on")
	info, _ := c.Do(ctx, "CLIENT", "INFO").Text()
	if _, v := clientFields(t, info); v["flags"] != "e" || v["name"] != "worker-1" {
		t.Errorf("CLIENT INFO after NO-EVICT on: %q", info)
	}
}

// TestOutputBufferLimitDropsSlowMonitor: a MONITOR client that stops reading is cut off by
// the normal class's hard limit while other clients carry on.
func TestOutputBufferLimitDropsSlowMonitor(t *testing.T) {
	ctx := context.Background()
	sard := testutil.StartSard(t)
	admin := newGoRedis(t, sard.Addr)
	if err := admin.ConfigSet(ctx, "client-output-buffer-limit", "normal 256kb 0 0").Err(); err != nil {
		t.Fatal(err)
	}
	mon, err := net.Dial("tcp", sard.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	mon.Write(testutil.EncodeCommand("MONITOR"))
	testutil.Eventually(t, 2*time.Second, func() bool {
		s, _ := admin.Do(ctx, "CLIENT", "LIST").Text()
		return strings.Contains(s, "flags=O")
	}, "the monitor client is not listed")
	// the monitor never reads: about 20 MB of feed, far past the socket buffers
	val := strings.Repeat("x", 10000)
	pipe := admin.Pipeline()
	for i := 0; i < 2000; i++ {
		pipe.Set(ctx, "k", val, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		s, _ := admin.Do(ctx, "CLIENT", "LIST").Text()
		return !strings.Contains(s, "flags=O")
	}, "the monitor over its output limit is still connected")
	mon.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, mon); err != nil {
		t.Errorf("reading the dropped monitor: %v (want EOF)", err)
	}
	if err := admin.Set(ctx, "after", "1", 0).Err(); err != nil {
		t.Errorf("a normal client was affected: %v", err)
	}
	// a normal client under the limit keeps getting big replies
	admin.ConfigSet(ctx, "client-output-buffer-limit", "normal 0 0 0")
	if v, err := admin.Get(ctx, "k").Result(); err != nil || len(v) != len(val) {
		t.Errorf("GET k: %d bytes, %v", len(v), err)
	}
}
