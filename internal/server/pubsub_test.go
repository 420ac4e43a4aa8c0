package server

import (
	"bufio"
	"context"
	"net"
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
