package server

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// trkSession drives named raw connections to one server and records every reply and every
// message a connection receives, in order. Client ids differ between servers, so commands
// name connections ("$sub") and the replies that carry ids show the names instead.
type trkSession struct {
	t     *testing.T
	addr  string
	conns map[string]*testutil.RawConn
	ids   map[string]string
	log   []string
}

func newTrkSession(t *testing.T, addr string) *trkSession {
	return &trkSession{t: t, addr: addr, conns: map[string]*testutil.RawConn{}, ids: map[string]string{}}
}

func (s *trkSession) conn(name string) *testutil.RawConn {
	if c := s.conns[name]; c != nil {
		return c
	}
	c := testutil.DialRaw(s.t, s.addr)
	c.Timeout = 5 * time.Second
	id, err := c.Do("CLIENT", "ID")
	if err != nil {
		s.t.Fatalf("%s: CLIENT ID: %v", name, err)
	}
	s.conns[name] = c
	s.ids[name] = string(bytes.TrimSuffix(id[1:], []byte("\r\n")))
	return c
}

// names replaces the ids in the replies that carry one (HELLO's id, GETREDIR, the redirect
// of TRACKINGINFO, tracking-redir-broken) with the connections' names.
func (s *trkSession) names(b []byte) string {
	str := string(b)
	for name, id := range s.ids {
		for _, ctx := range []string{"$2\r\nid\r\n", "redirect\r\n", "tracking-redir-broken\r\n", ""} {
			if ctx == "" && str != ":"+id+"\r\n" {
				continue
			}
			str = strings.ReplaceAll(str, ctx+":"+id+"\r\n", ctx+":$"+name+"\r\n")
		}
	}
	return str
}

// do runs a command on connection name; "$x" arguments stand for connection x's id.
func (s *trkSession) do(name string, args ...string) {
	s.t.Helper()
	c := s.conn(name)
	sent := slices.Clone(args)
	for i, a := range sent {
		if strings.HasPrefix(a, "$") {
			s.conn(a[1:])
			sent[i] = s.ids[a[1:]]
		}
	}
	r, err := c.Do(sent...)
	if err != nil {
		s.t.Fatalf("%s %q: %v (log so far:\n%s)", name, args, err, strings.Join(s.log, "\n"))
	}
	out := string(r)
	if slices.ContainsFunc(args, func(a string) bool {
		return strings.EqualFold(a, "getredir") || strings.EqualFold(a, "trackinginfo") || strings.EqualFold(a, "hello")
	}) {
		out = s.names(r)
	}
	s.log = append(s.log, fmt.Sprintf("%s> %s => %q", name, strings.Join(args, " "), out))
}

// read records the next message connection name receives.
func (s *trkSession) read(name string) {
	s.t.Helper()
	r, err := s.conn(name).ReadReply()
	if err != nil {
		s.t.Fatalf("%s: waiting for a message: %v (log so far:\n%s)", name, err, strings.Join(s.log, "\n"))
	}
	s.log = append(s.log, fmt.Sprintf("%s< %q", name, s.names(r)))
}

func (s *trkSession) transcript() string { return strings.Join(s.log, "\n") }

// trackingScenarios are the cases compared byte for byte with redis-server. Each ends with
// a PING on the connections that must have received nothing more.
var trackingScenarios = map[string]func(s *trkSession){
	"redirect-resp2-subscriber": func(s *trkSession) {
		s.do("sub", "SUBSCRIBE", "foo")
		s.do("trk", "CLIENT", "TRACKING", "on", "REDIRECT", "$sub")
		s.do("trk", "CLIENT", "GETREDIR")
		s.do("trk", "GET", "a")
		s.do("trk", "MGET", "b", "c")
		s.do("w", "SET", "a", "1")
		s.read("sub")
		s.do("w", "MSET", "b", "1", "c", "2")
		s.read("sub")
		s.read("sub")
		s.do("w", "FLUSHALL")
		s.read("sub")
		// the null keeps the tracking connection's protocol, even inside a RESP2 message
		s.do("trk", "HELLO", "3")
		s.do("w", "FLUSHALL")
		s.read("sub")
		s.do("trk", "PING")
		// a RESP2 target that is not subscribed cannot be sent anything
		s.do("trk", "CLIENT", "TRACKING", "on", "REDIRECT", "$plain")
		s.do("trk", "GET", "a")
		s.do("w", "SET", "a", "2")
		s.do("plain", "PING")
		s.do("trk", "PING")
	},
	"redirect-resp3-target": func(s *trkSession) {
		s.do("dst", "HELLO", "3")
		s.do("trk", "CLIENT", "TRACKING", "on", "REDIRECT", "$dst", "NOLOOP")
		s.do("trk", "GET", "k")
		// NOLOOP is about the tracking connection, not the target, which gets the
		// invalidation among its own replies, before SET's +OK
		s.do("dst", "SET", "k", "1")
		s.read("dst")
		s.do("dst", "PING")
		s.do("trk", "GET", "k")
		s.do("trk", "SET", "k", "2")
		s.do("w", "FLUSHDB")
		s.read("dst")
		s.do("dst", "PING")
		s.do("trk", "PING")
	},
	"redirect-broken": func(s *trkSession) {
		s.do("trk", "HELLO", "3")
		s.do("gone", "PING")
		s.do("trk", "CLIENT", "TRACKING", "on", "REDIRECT", "$gone")
		s.do("trk", "GET", "a")
		s.do("trk", "GET", "b")
		s.do("gone", "QUIT")
		time.Sleep(100 * time.Millisecond)
		s.do("w", "SET", "a", "1")
		s.read("trk")
		s.do("trk", "CLIENT", "TRACKINGINFO")
		s.do("w", "SET", "b", "1")
		s.read("trk")
		s.do("trk", "CLIENT", "GETREDIR")
		s.do("trk", "CLIENT", "TRACKING", "on", "REDIRECT", "$gone")
		s.do("trk", "CLIENT", "TRACKING", "off")
		s.do("trk", "CLIENT", "TRACKINGINFO")
	},
	"bcast-prefixes": func(s *trkSession) {
		s.do("b", "HELLO", "3")
		s.do("b", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "item:", "NOLOOP")
		s.do("sub", "SUBSCRIBE", "__redis__:invalidate")
		s.do("r", "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "$sub")
		s.do("w", "MSET", "user:2", "a", "other", "b", "item:9", "c", "user:1", "d")
		s.read("b")
		s.read("b")
		s.read("sub")
		s.do("b", "SET", "user:3", "x")
		s.read("sub")
		s.do("b", "PING")
		s.do("w", "DEL", "user:1", "user:2", "nosuch")
		s.read("b")
		s.read("sub")
		s.do("b", "CLIENT", "TRACKINGINFO")
		s.do("w", "FLUSHALL")
		s.read("b")
		s.read("sub")
		s.do("b", "PING")
	},
	"optin-caching": func(s *trkSession) {
		s.do("trk", "HELLO", "3")
		s.do("trk", "CLIENT", "TRACKING", "on", "OPTIN")
		s.do("trk", "GET", "x")
		s.do("trk", "CLIENT", "CACHING", "yes")
		s.do("trk", "CLIENT", "TRACKINGINFO")
		s.do("trk", "GET", "y")
		s.do("trk", "CLIENT", "TRACKINGINFO")
		s.do("trk", "GET", "z")
		s.do("w", "MSET", "x", "1", "y", "1", "z", "1")
		s.read("trk")
		s.do("trk", "PING")
	},
	"noloop-and-flush": func(s *trkSession) {
		s.do("trk", "HELLO", "3")
		s.do("trk", "CLIENT", "TRACKING", "on", "NOLOOP")
		s.do("trk", "GET", "a")
		s.do("trk", "SET", "a", "1")
		s.do("trk", "GET", "a")
		s.do("w", "APPEND", "a", "2")
		s.read("trk")
		// a flush reaches NOLOOP clients too, after the reply
		s.do("trk", "FLUSHALL")
		s.read("trk")
		s.do("trk", "PING")
	},
}

func runTrackingScenario(t *testing.T, addr string, fn func(*trkSession)) string {
	s := newTrkSession(t, addr)
	s.do("w", "FLUSHALL")
	fn(s)
	return s.transcript()
}

// TestTrackingMatchesRedis runs each scenario on sard and on redis-server and compares
// every reply and message byte for byte.
func TestTrackingMatchesRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sard-server and redis-server processes; skipped with -short")
	}
	oracle := testutil.StartRedis(t)
	sard := testutil.StartSard(t)
	for name, fn := range trackingScenarios {
		t.Run(name, func(t *testing.T) {
			want := runTrackingScenario(t, oracle.Addr, fn)
			got := runTrackingScenario(t, sard.Addr, fn)
			if got != want {
				t.Errorf("transcripts differ\nsard:\n%s\n\nredis:\n%s", got, want)
			}
		})
	}
}

// TestTrackingPushBytes pins the exact invalidation formats on sard alone, so they are
// checked even where redis-server is not installed.
func TestTrackingPushBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sard-server process; skipped with -short")
	}
	srv := testutil.StartSard(t)
	s := newTrkSession(t, srv.Addr)
	s.do("sub", "SUBSCRIBE", "x")
	s.do("t3", "HELLO", "3")
	s.do("t3", "CLIENT", "TRACKING", "on")
	s.do("t2", "CLIENT", "TRACKING", "on", "REDIRECT", "$sub")
	s.do("t3", "GET", "key")
	s.do("t2", "GET", "key")
	s.do("t3", "SET", "key", "v") // its own change: the push follows the reply
	s.read("t3")
	s.read("sub")
	s.do("w", "FLUSHALL")
	s.read("t3")
	s.read("sub")
	want := []string{
		`t3> SET key v => "+OK\r\n"`,
		`t3< ">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nkey\r\n"`,
		`sub< "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$3\r\nkey\r\n"`,
		`w> FLUSHALL => "+OK\r\n"`,
		`t3< ">2\r\n$10\r\ninvalidate\r\n_\r\n"`,
		`sub< "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n"`,
	}
	got := s.log[len(s.log)-len(want):]
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

var infoTrackingRE = regexp.MustCompile(`(tracking_[a-z_]+):(\d+)`)

// TestTrackingTableMaxKeys checks that lowering tracking-table-max-keys evicts random keys
// from the table at once, each eviction an invalidation, on sard as on redis-server.
func TestTrackingTableMaxKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes; skipped with -short")
	}
	run := func(t *testing.T, addr string) string {
		c := testutil.DialRaw(t, addr)
		c.Timeout = 5 * time.Second
		for _, cmd := range [][]string{{"FLUSHALL"}, {"HELLO", "3"}, {"CLIENT", "TRACKING", "on"}, {"MGET", "k1", "k2", "k3", "k4", "k5"}} {
			if _, err := c.Do(cmd...); err != nil {
				t.Fatal(err)
			}
		}
		r, err := c.Do("CONFIG", "SET", "tracking-table-max-keys", "2")
		if err != nil || string(r) != "+OK\r\n" {
			t.Fatalf("CONFIG SET: %q %v", r, err)
		}
		var evicted []string
		for range 3 {
			m, err := c.ReadReply()
			if err != nil {
				t.Fatalf("waiting for the invalidations: %v", err)
			}
			k := regexp.MustCompile(`^>2\r\n\$10\r\ninvalidate\r\n\*1\r\n\$2\r\n(k[1-5])\r\n$`).FindSubmatch(m)
			if k == nil {
				t.Fatalf("unexpected message %q", m)
			}
			evicted = append(evicted, string(k[1]))
		}
		slices.Sort(evicted)
		if len(slices.Compact(evicted)) != 3 {
			t.Errorf("evicted %v: want 3 distinct keys", evicted)
		}
		info, err := c.Do("INFO", "stats")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Do("CONFIG", "SET", "tracking-table-max-keys", "1000000"); err != nil {
			t.Fatal(err)
		}
		var fields []string
		for _, m := range infoTrackingRE.FindAllSubmatch(info, -1) {
			fields = append(fields, string(m[0]))
		}
		return strings.Join(fields, " ")
	}
	sard := testutil.StartSard(t)
	got := run(t, sard.Addr)
	if want := "tracking_total_keys:2 tracking_total_items:2 tracking_total_prefixes:0"; got != want {
		t.Errorf("sard INFO after eviction: %s, want %s", got, want)
	}
	oracle := testutil.StartRedis(t)
	if want := run(t, oracle.Addr); got != want {
		t.Errorf("INFO after eviction: sard %s, redis %s", got, want)
	}
}

// TestTrackingGoRedis uses tracking as a go-redis application would in RESP2: a pub/sub
// connection subscribed to __redis__:invalidate receives the invalidated keys as the
// message's PayloadSlice.
func TestTrackingGoRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sard-server process; skipped with -short")
	}
	srv := testutil.StartSard(t)
	ctx := context.Background()
	rdb := srv.Client(func(o *redis.Options) { o.Protocol = 2 })
	defer rdb.Close()
	ps := rdb.Subscribe(ctx, "__redis__:invalidate")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	var subID int64
	for _, line := range strings.Split(rdb.ClientList(ctx).Val(), "\n") {
		if strings.Contains(line, "cmd=subscribe") {
			fmt.Sscanf(line, "id=%d", &subID)
		}
	}
	if subID == 0 {
		t.Fatalf("subscriber not found in CLIENT LIST")
	}
	cn := rdb.Conn()
	defer cn.Close()
	if err := cn.Do(ctx, "CLIENT", "TRACKING", "on", "REDIRECT", subID).Err(); err != nil {
		t.Fatal(err)
	}
	if got := cn.Do(ctx, "CLIENT", "GETREDIR").Val(); got != subID {
		t.Errorf("GETREDIR = %v, want %d", got, subID)
	}
	cn.Get(ctx, "greeting")
	rdb.Set(ctx, "greeting", "hello", 0)
	select {
	case m := <-ps.Channel():
		if m.Channel != "__redis__:invalidate" || !slices.Equal(m.PayloadSlice, []string{"greeting"}) {
			t.Errorf("got %+v, want the invalidation of greeting", *m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no invalidation message")
	}
	n, err := rdb.Info(ctx, "clients").Result()
	if err != nil || !strings.Contains(n, "tracking_clients:1\r\n") {
		t.Errorf("INFO clients: %q %v", n, err)
	}
}
