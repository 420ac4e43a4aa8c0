package server

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// TestPubSubGoRedis subscribes with go-redis over both protocols and checks that channel and
// pattern messages arrive through Channel() with their fields, and the receiver counts.
func TestPubSubGoRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sard-server process; skipped with -short")
	}
	srv := testutil.StartSard(t)
	ctx := context.Background()
	pub := srv.Client()
	defer pub.Close()
	for _, proto := range []int{2, 3} {
		t.Run("resp"+strconv.Itoa(proto), func(t *testing.T) {
			rdb := srv.Client(func(o *redis.Options) { o.Protocol = proto })
			defer rdb.Close()
			ps := rdb.Subscribe(ctx, "news")
			defer ps.Close()
			if _, err := ps.Receive(ctx); err != nil { // the confirmation
				t.Fatal(err)
			}
			if err := ps.PSubscribe(ctx, "sport.*"); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, 5*time.Second, func() bool {
				return pub.PubSubNumPat(ctx).Val() == 1
			}, "pattern subscription not registered")
			ch := ps.Channel()
			if n := pub.Publish(ctx, "news", "hello").Val(); n != 1 {
				t.Errorf("PUBLISH news: %d receivers, want 1", n)
			}
			if n := pub.Publish(ctx, "sport.tennis", "ace").Val(); n != 1 {
				t.Errorf("PUBLISH sport.tennis: %d receivers, want 1", n)
			}
			if n := pub.Publish(ctx, "weather", "rain").Val(); n != 0 {
				t.Errorf("PUBLISH weather: %d receivers, want 0", n)
			}
			want := []redis.Message{
				{Channel: "news", Payload: "hello"},
				{Channel: "sport.tennis", Pattern: "sport.*", Payload: "ace"},
			}
			for _, w := range want {
				select {
				case m := <-ch:
					if m.Channel != w.Channel || m.Pattern != w.Pattern || m.Payload != w.Payload {
						t.Errorf("got %+v, want %+v", *m, w)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("no message %+v", w)
				}
			}
			if err := ps.Unsubscribe(ctx, "news"); err != nil {
				t.Fatal(err)
			}
			if err := ps.PUnsubscribe(ctx, "sport.*"); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, 5*time.Second, func() bool {
				return pub.PubSubNumSub(ctx, "news").Val()["news"] == 0 && pub.PubSubNumPat(ctx).Val() == 0
			}, "unsubscribe did not take effect")
		})
	}
}

// TestPubSubSlowSubscriber checks that a subscriber that stops reading is disconnected once
// its output passes the pubsub hard limit, while the publisher and a reading subscriber carry
// on at full speed and the latter receives every message.
func TestPubSubSlowSubscriber(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sard-server process; skipped with -short")
	}
	const messages = 2000
	srv := testutil.StartSard(t)
	ctx := context.Background()
	pub := srv.Client()
	defer pub.Close()
	if err := pub.ConfigSet(ctx, "client-output-buffer-limit", "pubsub 256kb 0 0").Err(); err != nil {
		t.Fatal(err)
	}

	slow, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.(*net.TCPConn).SetReadBuffer(4096)
	slow.Write([]byte("SUBSCRIBE ch\r\n"))
	line, err := bufio.NewReader(slow).ReadString('\n')
	if err != nil || line != "*3\r\n" {
		t.Fatalf("SUBSCRIBE reply %q, %v", line, err)
	}

	fast := srv.Client()
	defer fast.Close()
	ps := fast.Subscribe(ctx, "ch")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	got := make(chan int)
	go func() {
		n := 0
		for range ps.Channel(redis.WithChannelSize(10000)) {
			n++
			if n == messages {
				break
			}
		}
		got <- n
	}()

	payload := strings.Repeat("x", 4096)
	start := time.Now()
	for i := range messages {
		t0 := time.Now()
		if err := pub.Publish(ctx, "ch", payload).Err(); err != nil {
			t.Fatalf("PUBLISH %d: %v", i, err)
		}
		if d := time.Since(t0); d > 2*time.Second {
			t.Fatalf("PUBLISH %d took %v: the slow subscriber holds up the publisher", i, d)
		}
	}
	t.Logf("%d publishes of 4 KiB in %v", messages, time.Since(start))
	testutil.Eventually(t, 10*time.Second, func() bool {
		return pub.PubSubNumSub(ctx, "ch").Val()["ch"] == 1
	}, "the slow subscriber was not disconnected")
	select {
	case n := <-got:
		if n != messages {
			t.Errorf("reading subscriber got %d messages, want %d", n, messages)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("reading subscriber did not get every message")
	}
}

// TestPublishReachesReplicas publishes on a sard master and expects the subscribers of
// its replicas, a sard one and a real redis-server one, to get the messages (PUBLISH,
// SPUBLISH and a script's PUBLISH travel in the replication stream), while the master's
// AOF stays free of them, as Redis 7.0 propagates PUBLISH to replicas only.
func TestPublishReachesReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes; skipped with -short")
	}
	ctx := context.Background()
	master := testutil.StartSard(t, "--appendonly", "yes", "--appendfsync", "always")
	port := strconv.Itoa(master.Port)
	replicas := []*testutil.Server{testutil.StartSard(t, "--replicaof", "127.0.0.1", port)}
	if _, err := exec.LookPath("redis-server"); err == nil || os.Getenv("SARD_REQUIRE_REDIS") == "1" {
		replicas = append(replicas, testutil.StartRedis(t, "--replicaof", "127.0.0.1", port))
	} else {
		t.Log("redis-server not installed: only the sard replica is checked")
	}
	pub := master.Client()
	defer pub.Close()

	type sub struct {
		name string
		ps   *redis.PubSub
		ch   <-chan *redis.Message
	}
	var subs []sub
	for _, r := range replicas {
		c := r.Client()
		defer c.Close()
		testutil.Eventually(t, 15*time.Second, func() bool {
			info, _ := c.Info(ctx, "replication").Result()
			return strings.Contains(info, "master_link_status:up")
		}, r.Name+" replica link up")
		ps := c.Subscribe(ctx, "news")
		defer ps.Close()
		if err := ps.PSubscribe(ctx, "sport.*"); err != nil {
			t.Fatal(err)
		}
		if err := ps.SSubscribe(ctx, "shard"); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 5*time.Second, func() bool {
			return c.PubSubNumPat(ctx).Val() == 1 && c.PubSubShardNumSub(ctx, "shard").Val()["shard"] == 1
		}, "subscriptions registered on "+r.Name)
		subs = append(subs, sub{r.Name, ps, ps.Channel()})
	}

	if n := pub.Publish(ctx, "news", "hello").Val(); n != 0 {
		t.Errorf("PUBLISH on the master: %d receivers, want 0 (the subscribers are on the replicas)", n)
	}
	pub.Set(ctx, "k", "v", 0)
	pub.Publish(ctx, "sport.tennis", "ace")
	pub.SPublish(ctx, "shard", "piece")
	if err := pub.Eval(ctx, "redis.call('set', 'k2', 'v') redis.call('publish', 'news', 'from a script') return 1", nil).Err(); err != nil {
		t.Fatal(err)
	}
	if err := pub.Eval(ctx, "redis.set_repl(redis.REPL_AOF) redis.call('publish', 'news', 'aof only') redis.set_repl(redis.REPL_ALL) return 1", nil).Err(); err != nil {
		t.Fatal(err)
	}
	pub.Publish(ctx, "news", "last")
	want := []redis.Message{
		{Channel: "news", Payload: "hello"},
		{Channel: "sport.tennis", Pattern: "sport.*", Payload: "ace"},
		{Channel: "shard", Payload: "piece"},
		{Channel: "news", Payload: "from a script"},
		{Channel: "news", Payload: "last"},
	}
	for _, s := range subs {
		for _, w := range want {
			select {
			case m := <-s.ch:
				if m.Channel != w.Channel || m.Pattern != w.Pattern || m.Payload != w.Payload {
					t.Errorf("%s replica: got %+v, want %+v", s.name, *m, w)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s replica: no message %+v", s.name, w)
			}
		}
	}

	var aof []byte
	files, _ := filepath.Glob(filepath.Join(master.Dir, "appendonlydir", "*.incr.aof"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		aof = append(aof, b...)
	}
	if !bytes.Contains(aof, []byte("k2")) {
		t.Fatalf("the AOF lacks the script's SET:\n%q", aof)
	}
	for _, msg := range []string{"hello", "ace", "piece", "from a script", "aof only", "last"} {
		if bytes.Contains(aof, []byte(msg)) {
			t.Errorf("the AOF holds the message %q:\n%q", msg, aof)
		}
	}
}
