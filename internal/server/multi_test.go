package server

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sard-kv/sard/internal/testutil"
)

// TestMultiPropagation checks what EXEC sends to the AOF and replicas: two or more effects as
// one MULTI ... EXEC block (SELECT before MULTI), a single effect alone, nothing for a
// read-only transaction, as Redis 7.0 does.
func TestMultiPropagation(t *testing.T) {
	e := newKVEnv(t)
	e.do("MULTI")
	e.do("SET", "a", "1")
	e.do("GET", "a")
	e.do("SET", "b", "2")
	e.expect("*3\r\n+OK\r\n$1\r\n1\r\n+OK\r\n", "EXEC")
	e.expectStream("SELECT 0", "MULTI", "SET a 1", "SET b 2", "EXEC")

	e.do("MULTI")
	e.do("INCR", "n")
	e.do("GET", "n")
	e.do("EXEC")
	e.expectStream("INCR n")

	e.do("MULTI")
	e.do("GET", "a")
	e.do("EXEC")
	e.expectStream()

	// A database switch inside the block stays inside it.
	e.do("MULTI")
	e.do("SET", "x", "1")
	e.do("SELECT", "1")
	e.do("SET", "y", "1")
	e.do("SELECT", "0")
	e.do("EXEC")
	e.expectStream("MULTI", "SET x 1", "SELECT 1", "SET y 1", "EXEC")

	// Runtime errors do not stop the block; a failed command propagates nothing.
	e.do("MULTI")
	e.do("SET", "s", "str")
	e.do("INCR", "s")
	e.do("SET", "t", "1")
	e.expect("*3\r\n+OK\r\n-ERR value is not an integer or out of range\r\n+OK\r\n", "EXEC")
	e.expectStream("SELECT 0", "MULTI", "SET s str", "SET t 1", "EXEC")

	// An aborted transaction propagates nothing.
	e.do("MULTI")
	e.do("SET", "u", "1")
	e.do("NOSUCH")
	e.expect("-EXECABORT Transaction discarded because of previous errors.\r\n", "EXEC")
	e.expectStream()

	// Lazy expiry inside EXEC propagates its DEL within the block.
	e.do("SET", "gone", "v", "PX", "10")
	e.stream.take(t)
	e.now += 100
	e.do("MULTI")
	e.do("GET", "gone")
	e.do("SET", "z", "1")
	e.do("EXEC")
	e.expectStream("MULTI", "DEL gone", "SET z 1", "EXEC")
}

// TestMultiWatchExpiry covers Redis 7.0's rules for watched keys and TTLs with a controlled
// clock: a key that expires after WATCH aborts EXEC even if nobody deleted it; a key already
// expired at WATCH time does not, and neither does its later deletion.
func TestMultiWatchExpiry(t *testing.T) {
	e := newKVEnv(t)
	e.do("SET", "k", "v", "PX", "100")
	e.do("WATCH", "k")
	e.now += 200
	e.do("MULTI")
	e.expect("*-1\r\n", "EXEC")

	e.do("SET", "k", "v", "PX", "100")
	e.now += 200
	e.do("WATCH", "k")
	e.do("GET", "k") // deletes it: no logical change
	e.do("MULTI")
	e.expect("*0\r\n", "EXEC")

	e.do("SET", "k", "v", "PX", "100")
	e.now += 200
	e.do("WATCH", "k")
	e.do("SET", "k", "new")
	e.do("MULTI")
	e.expect("*-1\r\n", "EXEC")
}

// TestMultiWatchConcurrentIncrements runs go-redis's optimistic-locking pattern from many
// goroutines: every increment must land exactly once.
func TestMultiWatchConcurrentIncrements(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sard-server process; skipped with -short")
	}
	srv := testutil.StartSard(t)
	ctx := context.Background()
	rdb := srv.Client(func(o *redis.Options) { o.PoolSize = 16 })
	defer rdb.Close()
	const workers, each = 8, 50
	incr := func() error {
		for {
			err := rdb.Watch(ctx, func(tx *redis.Tx) error {
				n, err := tx.Get(ctx, "counter").Int()
				if err != nil && !errors.Is(err, redis.Nil) {
					return err
				}
				_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Set(ctx, "counter", strconv.Itoa(n+1), 0)
					return nil
				})
				return err
			}, "counter")
			if !errors.Is(err, redis.TxFailedErr) {
				return err
			}
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := incr(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n, err := rdb.Get(ctx, "counter").Int(); err != nil || n != workers*each {
		t.Fatalf("counter = %d, %v; want %d", n, err, workers*each)
	}
}

// TestMultiTxPipeline checks go-redis's TxPipeline over both protocols: per-command results,
// a runtime error reported for its command only, and a queue-time error aborting it all.
func TestMultiTxPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sard-server process; skipped with -short")
	}
	srv := testutil.StartSard(t)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run("resp"+strconv.Itoa(proto), func(t *testing.T) {
			rdb := srv.Client(func(o *redis.Options) { o.Protocol = proto })
			defer rdb.Close()
			rdb.FlushAll(ctx)
			pipe := rdb.TxPipeline()
			set := pipe.Set(ctx, "s", "str", 0)
			bad := pipe.Incr(ctx, "s")
			n := pipe.IncrBy(ctx, "n", 5)
			get := pipe.Get(ctx, "s")
			if _, err := pipe.Exec(ctx); err == nil {
				t.Error("EXEC with a failing command: want its error")
			}
			if set.Val() != "OK" || bad.Err() == nil || n.Val() != 5 || get.Val() != "str" {
				t.Errorf("results: %q %v %d %q", set.Val(), bad.Err(), n.Val(), get.Val())
			}

			pipe = rdb.TxPipeline()
			pipe.Set(ctx, "x", "1", 0)
			pipe.Do(ctx, "get") // wrong arity: dooms the transaction
			if _, err := pipe.Exec(ctx); err == nil {
				t.Error("EXEC after a queue-time error: want EXECABORT")
			}
			if rdb.Exists(ctx, "x").Val() != 0 {
				t.Error("aborted transaction wrote x")
			}
		})
	}
}
