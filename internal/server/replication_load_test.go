package server

// The replica side of a full sync, driven by a scripted master: the test plays the master's
// half of the protocol byte by byte, so truncated and corrupt payloads, auxiliary fields and
// slow transfers are exact. Each scenario runs against a sard replica and a real Redis 7.0
// replica, and both must end up the same.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/crc64"
	"github.com/sard-kv/sard/internal/rdb"
	"github.com/sard-kv/sard/internal/testutil"
)

// fakeMaster accepts replica connections on a free port.
type fakeMaster struct {
	ln   net.Listener
	port int
}

func startFakeMaster(t *testing.T) *fakeMaster {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &fakeMaster{ln: ln, port: ln.Addr().(*net.TCPAddr).Port}
}

// fakeLink is one replica connection as the scripted master sees it.
type fakeLink struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// accept waits for the replica and answers its handshake up to PSYNC, whose arguments it
// returns.
func (f *fakeMaster) accept(t *testing.T) (*fakeLink, []string) {
	t.Helper()
	f.ln.(*net.TCPListener).SetDeadline(time.Now().Add(15 * time.Second))
	conn, err := f.ln.Accept()
	if err != nil {
		t.Fatalf("fake master: no replica connected: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	l := &fakeLink{t: t, conn: conn, r: bufio.NewReader(conn)}
	for {
		args := l.readCommand()
		switch strings.ToUpper(args[0]) {
		case "PING":
			l.send("+PONG\r\n")
		case "PSYNC", "SYNC":
			return l, args
		default:
			l.send("+OK\r\n")
		}
	}
}

func (l *fakeLink) readCommand() []string {
	l.t.Helper()
	l.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := l.r.ReadString('\n')
	if err != nil {
		l.t.Fatalf("fake master: reading a command: %v", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if line[0] != '*' || err != nil {
		l.t.Fatalf("fake master: not a multibulk: %q", line)
	}
	args := make([]string, n)
	for i := range args {
		hdr, _ := l.r.ReadString('\n')
		size, _ := strconv.Atoi(strings.TrimSpace(hdr[1:]))
		buf := make([]byte, size+2)
		if _, err := ioReadFull(l.r, buf); err != nil {
			l.t.Fatalf("fake master: reading an argument: %v", err)
		}
		args[i] = string(buf[:size])
	}
	return args
}

func ioReadFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (l *fakeLink) send(s string) {
	l.t.Helper()
	if _, err := l.conn.Write([]byte(s)); err != nil {
		l.t.Fatalf("fake master: write: %v", err)
	}
}

// waitForCommand reads the replica's commands until one named name arrives (REPLCONF ACK).
func (l *fakeLink) waitForCommand(name string) []string {
	for {
		args := l.readCommand()
		if strings.EqualFold(strings.Join(args[:min(2, len(args))], " "), name) {
			return args
		}
	}
}

// payloadKey is one key of a scripted payload.
type payloadKey struct {
	db       int
	key, val string
	expireAt int64 // unix ms, 0 for none
}

// buildPayload encodes an RDB with the given auxiliary fields and string keys.
func buildPayload(aux [][2]string, keys []payloadKey, corrupt bool) []byte {
	var e rdb.Encoder
	e.Buf = append(e.Buf, fmt.Sprintf("REDIS%04d", rdb.Version)...)
	e.Aux("redis-ver", "7.0.15")
	e.AuxInt("redis-bits", 64)
	for _, a := range aux {
		e.Aux(a[0], a[1])
	}
	db := -1
	for _, k := range keys {
		if k.db != db {
			e.Byte(rdb.OpSelectDB)
			e.Len(uint64(k.db))
			db = k.db
		}
		if k.expireAt != 0 {
			e.Byte(rdb.OpExpireTimeMs)
			e.Millis(k.expireAt)
		}
		e.Byte(rdb.TypeString)
		e.String([]byte(k.key))
		e.String([]byte(k.val))
	}
	e.Byte(rdb.OpEOF)
	sum := crc64.Update(0, e.Buf)
	if corrupt {
		sum++
	}
	for i := 0; i < 8; i++ {
		e.Buf = append(e.Buf, byte(sum>>(8*i)))
	}
	return e.Buf
}

const fakeReplID = "1111111111111111111111111111111111111111"

// replicaKinds runs fn against a sard replica and a Redis replica.
func replicaKinds(t *testing.T, args []string, fn func(t *testing.T, replica *testutil.Server)) {
	for _, kind := range []string{"sard", "redis"} {
		t.Run(kind, func(t *testing.T) {
			var s *testutil.Server
			if kind == "sard" {
				s = testutil.StartSard(t, args...)
			} else {
				s = testutil.StartRedis(t, append([]string{"--enable-debug-command", "yes"}, args...)...)
			}
			fn(t, s)
		})
	}
}

func keysOf(t *testing.T, c *redis.Client, db int) []string {
	t.Helper()
	ctx := context.Background()
	conn := c.Conn()
	defer conn.Close()
	if err := conn.Select(ctx, db).Err(); err != nil {
		t.Fatal(err)
	}
	keys, err := conn.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	conn.Select(ctx, 0) // the connection goes back to the pool
	return keys
}

// The payload's repl-stream-db names the database the stream continues in, and keys that
// are already expired in it are loaded (reads hide them) until the master's DEL.
func TestReplLoadStreamDBAndExpiredKeys(t *testing.T) {
	replicaKinds(t, nil, func(t *testing.T, replica *testutil.Server) {
		ctx := context.Background()
		rc := replica.Client(func(o *redis.Options) { o.PoolSize = 1 })
		fm := startFakeMaster(t)
		replicaof(t, rc, &testutil.Server{Port: fm.port})
		link, _ := fm.accept(t)
		past := time.Now().Add(-time.Hour).UnixMilli()
		payload := buildPayload([][2]string{{"repl-stream-db", "3"}, {"repl-id", fakeReplID}, {"repl-offset", "100"}},
			[]payloadKey{{db: 0, key: "live", val: "1"}, {db: 0, key: "gone", val: "2", expireAt: past}, {db: 3, key: "in3", val: "3"}}, false)
		link.send("+FULLRESYNC " + fakeReplID + " 100\r\n")
		link.send("$" + strconv.Itoa(len(payload)) + "\r\n" + string(payload))
		// No SELECT: the stream is in the database the payload named.
		link.send("*3\r\n$3\r\nSET\r\n$6\r\nstream\r\n$1\r\nx\r\n")
		waitLinkUp(t, rc)
		testutil.Eventually(t, 5*time.Second, func() bool {
			return len(keysOf(t, rc, 3)) == 2
		}, "the stream's SET reached database 3")
		if got := keysOf(t, rc, 0); len(got) != 1 || got[0] != "live" {
			// KEYS hides the expired key; DBSIZE counts it.
			t.Fatalf("db 0 KEYS: %v, want [live]", got)
		}
		if n := rc.DBSize(ctx).Val(); n != 2 {
			t.Fatalf("db 0 DBSIZE %d, want 2 (live and the expired gone)", n)
		}
		got := keysOf(t, rc, 3)
		if strings.Join(sortedCopy(got), ",") != "in3,stream" {
			t.Fatalf("db 3 keys %v, want in3 and stream (repl-stream-db 3)", got)
		}
		if v, err := rc.Get(ctx, "gone").Result(); err != redis.Nil {
			t.Fatalf("GET of a key expired in the payload: %q %v", v, err)
		}
		link.send("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$3\r\nDEL\r\n$4\r\ngone\r\n")
		testutil.Eventually(t, 5*time.Second, func() bool { return rc.DBSize(ctx).Val() == 1 }, "the master's DEL removed it")
		// The offset counts the payload's position plus the stream applied.
		want := 100 + int64(len("*3\r\n$3\r\nSET\r\n$6\r\nstream\r\n$1\r\nx\r\n")+len("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$3\r\nDEL\r\n$4\r\ngone\r\n"))
		testutil.Eventually(t, 5*time.Second, func() bool {
			return replInfo(t, rc, "replication", "slave_repl_offset") == strconv.FormatInt(want, 10)
		}, "slave_repl_offset "+strconv.FormatInt(want, 10))
	})
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// A transfer cut in the middle leaves the old dataset in every mode: disabled had not
// flushed it yet, swapdb keeps it until a payload has loaded.
func TestReplLoadTruncatedPayload(t *testing.T) {
	for _, mode := range []string{"disabled", "swapdb"} {
		t.Run(mode, func(t *testing.T) {
			replicaKinds(t, []string{"--repl-diskless-load", mode}, func(t *testing.T, replica *testutil.Server) {
				ctx := context.Background()
				rc := replica.Client(func(o *redis.Options) { o.PoolSize = 1 })
				for i := 0; i < 10; i++ {
					rc.Set(ctx, "old"+strconv.Itoa(i), i, 0)
				}
				fm := startFakeMaster(t)
				replicaof(t, rc, &testutil.Server{Port: fm.port})
				link, _ := fm.accept(t)
				payload := buildPayload(nil, []payloadKey{{key: "new", val: "1"}, {key: "new2", val: "2"}}, false)
				link.send("+FULLRESYNC " + fakeReplID + " 1\r\n")
				link.send("$EOF:" + strings.Repeat("a", 40) + "\r\n" + string(payload[:len(payload)-12]))
				link.conn.Close()
				// The replica gives up on this payload and reconnects.
				link2, _ := fm.accept(t)
				defer link2.conn.Close()
				if n := rc.DBSize(ctx).Val(); n != 10 {
					t.Fatalf("DBSIZE after a cut transfer: %d, want the old 10", n)
				}
				if n := rc.Exists(ctx, "new").Val(); n != 0 {
					t.Fatalf("the cut payload's key is visible")
				}
			})
		})
	}
}

// A payload whose checksum is wrong: swapdb keeps the old dataset, disabled has flushed it
// before loading. (Redis 7.0 goes further and exits after a corrupt payload; sard logs it
// and asks its master again.)
func TestReplLoadCorruptPayload(t *testing.T) {
	for _, mode := range []string{"disabled", "swapdb"} {
		t.Run(mode, func(t *testing.T) {
			replica := testutil.StartSard(t, "--repl-diskless-load", mode)
			ctx := context.Background()
			rc := replica.Client(func(o *redis.Options) { o.PoolSize = 1 })
			for i := 0; i < 10; i++ {
				rc.Set(ctx, "old"+strconv.Itoa(i), i, 0)
			}
			fm := startFakeMaster(t)
			replicaof(t, rc, &testutil.Server{Port: fm.port})
			link, _ := fm.accept(t)
			payload := buildPayload(nil, []payloadKey{{key: "new", val: "1"}}, true)
			mark := strings.Repeat("a", 40)
			link.send("+FULLRESYNC " + fakeReplID + " 1\r\n")
			link.send("$EOF:" + mark + "\r\n" + string(payload) + mark)
			link2, _ := fm.accept(t)
			defer link2.conn.Close()
			want := int64(10)
			if mode == "disabled" {
				want = 0
			}
			if n := rc.DBSize(ctx).Val(); n != want {
				t.Fatalf("DBSIZE after a corrupt payload: %d, want %d", n, want)
			}
			if !strings.Contains(replica.LogText(), "Failed trying to load the MASTER synchronization DB") {
				t.Fatalf("the failed load is not logged")
			}
		})
	}
}

// repl-diskless-load swapdb loads a payload that continues our own history while clients
// keep reading the old data (Redis 7.0's async loading); a new history means -LOADING.
// Redis answers clients only between 2 MB chunks of a load, so with the transfer stalled as
// here its clients would wait: this is checked on sard alone.
func TestReplLoadSwapdbServesOldData(t *testing.T) {
	func(t *testing.T, replica *testutil.Server) {
		ctx := context.Background()
		rc := replica.Client(func(o *redis.Options) { o.PoolSize = 1 })
		fm := startFakeMaster(t)
		replicaof(t, rc, &testutil.Server{Port: fm.port})
		link, _ := fm.accept(t)
		payload := buildPayload(nil, []payloadKey{{key: "k", val: "old"}}, false)
		link.send("+FULLRESYNC " + fakeReplID + " 1\r\n")
		link.send("$" + strconv.Itoa(len(payload)) + "\r\n" + string(payload))
		waitLinkUp(t, rc)
		link.conn.Close()

		// Same history, so the old data stays readable while the new payload arrives.
		link, psync := fm.accept(t)
		if psync[1] != fakeReplID {
			t.Fatalf("PSYNC %v", psync)
		}
		payload = buildPayload(nil, []payloadKey{{key: "k", val: "new"}}, false)
		link.send("+FULLRESYNC " + fakeReplID + " 5\r\n")
		link.send("$" + strconv.Itoa(len(payload)) + "\r\n" + string(payload[:20]))
		testutil.Eventually(t, 5*time.Second, func() bool {
			return replInfo(t, rc, "replication", "master_sync_read_bytes") == "20"
		}, "INFO shows the transfer's progress")
		if got := replInfo(t, rc, "replication", "master_sync_total_bytes"); got != strconv.Itoa(len(payload)) {
			t.Fatalf("master_sync_total_bytes:%s, want %d", got, len(payload))
		}
		if got := replInfo(t, rc, "replication", "master_sync_in_progress"); got != "1" {
			t.Fatalf("master_sync_in_progress:%s during the transfer", got)
		}
		if v, err := rc.Get(ctx, "k").Result(); err != nil || v != "old" {
			t.Fatalf("GET during an async load: %q %v, want the old value", v, err)
		}
		link.send(string(payload[20:]))
		testutil.Eventually(t, 5*time.Second, func() bool { return rc.Get(ctx, "k").Val() == "new" }, "the new payload swapped in")
		link.conn.Close()

		// Another history: clients are told the dataset is loading.
		link, _ = fm.accept(t)
		other := "2222222222222222222222222222222222222222"
		link.send("+FULLRESYNC " + other + " 1\r\n")
		link.send("$" + strconv.Itoa(len(payload)) + "\r\n" + string(payload[:20]))
		time.Sleep(300 * time.Millisecond)
		_, err := rc.Get(ctx, "k").Result()
		if err == nil || !strings.HasPrefix(err.Error(), "LOADING") {
			t.Fatalf("GET while loading another history: %v, want -LOADING", err)
		}
		link.send(string(payload[20:]))
		testutil.Eventually(t, 5*time.Second, func() bool {
			return replInfo(t, rc, "replication", "master_replid") == other
		}, "the other history adopted")
	}(t, testutil.StartSard(t, "--repl-diskless-load", "swapdb"))
}
