package integration

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sard-kv/sard/internal/testutil"
)

// TestGoRedisConcurrent: 50 goroutines share a pool of 20 connections for 2 seconds; every
// GET sees its own SET and the shared counter ends at the number of INCRs acknowledged.
func TestGoRedisConcurrent(t *testing.T) {
	t.Parallel()
	s := testutil.StartSard(t)
	c := s.Client(func(o *redis.Options) { o.PoolSize = 20 })
	ctx := context.Background()
	var incrs atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	deadline := time.Now().Add(2 * time.Second)
	for g := 0; g < 50; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				key := fmt.Sprintf("g%d", g)
				val := fmt.Sprintf("v%d", i)
				if err := c.Set(ctx, key, val, 0).Err(); err != nil {
					errs <- fmt.Errorf("SET: %w", err)
					return
				}
				if got, err := c.Get(ctx, key).Result(); err != nil || got != val {
					errs <- fmt.Errorf("GET %s = %q, %v; want %q", key, got, err, val)
					return
				}
				if err := c.Incr(ctx, "counter").Err(); err != nil {
					errs <- fmt.Errorf("INCR: %w", err)
					return
				}
				incrs.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := c.Get(ctx, "counter").Int64()
	if err != nil || got != incrs.Load() || got == 0 {
		t.Errorf("counter = %d, %v; want %d", got, err, incrs.Load())
	}
	t.Logf("%d INCRs in 2s", incrs.Load())
}

// TestGoRedisPipeline: 1,000 commands in one Pipelined call, results in order.
func TestGoRedisPipeline(t *testing.T) {
	t.Parallel()
	s := testutil.StartSard(t)
	c := s.Client()
	ctx := context.Background()
	const n = 1000
	cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < n/2; i++ {
			p.Set(ctx, fmt.Sprintf("p%d", i), i, 0)
		}
		for i := 0; i < n/2; i++ {
			p.Get(ctx, fmt.Sprintf("p%d", i))
		}
		return nil
	})
	if err != nil || len(cmds) != n {
		t.Fatalf("Pipelined: %d results, %v", len(cmds), err)
	}
	for i := 0; i < n/2; i++ {
		if v, err := cmds[n/2+i].(*redis.StringCmd).Result(); err != nil || v != fmt.Sprint(i) {
			t.Fatalf("GET p%d in the pipeline = %q, %v", i, v, err)
		}
	}
}

// TestGoRedisErrors: an unknown command's error reaches the caller with Redis's text.
func TestGoRedisErrors(t *testing.T) {
	t.Parallel()
	s := testutil.StartSard(t)
	c := s.Client()
	ctx := context.Background()
	err := c.Do(ctx, "NOSUCHCMD", "a", "b").Err()
	want := "ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' "
	var rerr redis.Error
	if err == nil || !errors.As(err, &rerr) || err.Error() != want {
		t.Errorf("Do(NOSUCHCMD) error = %v, want %q", err, want)
	}
	if err := c.Do(ctx, "GET").Err(); err == nil || err.Error() != "ERR wrong number of arguments for 'get' command" {
		t.Errorf("Do(GET) error = %v", err)
	}
	c.Set(ctx, "s", "x", 0)
	if err := c.Incr(ctx, "s").Err(); err == nil || err.Error() != "ERR value is not an integer or out of range" {
		t.Errorf("INCR on a string: %v", err)
	}
}

// TestGoRedisRESP3: a Protocol 3 client negotiates RESP3 with HELLO and works normally.
func TestGoRedisRESP3(t *testing.T) {
	t.Parallel()
	s := testutil.StartSard(t)
	c := s.Client(func(o *redis.Options) { o.Protocol = 3 })
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Errorf("GET = %q, %v", v, err)
	}
	if _, err := c.Get(ctx, "missing").Result(); err != redis.Nil {
		t.Errorf("GET missing: err = %v, want redis.Nil", err)
	}
	if ttl, err := c.TTL(ctx, "k").Result(); err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("TTL = %v, %v", ttl, err)
	}
	v, err := c.Do(ctx, "HELLO", "3").Result()
	m, ok := v.(map[interface{}]interface{})
	if err != nil || !ok || m["proto"] != int64(3) {
		t.Errorf("HELLO 3 via a RESP3 client = %#v, %v; want a map with proto 3", v, err)
	}
}
