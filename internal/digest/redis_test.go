package digest

// Differential tests: a real redis-server holds a dataset, the test reads it back
// with ordinary commands, digests it with this package, and compares with the
// server's own DEBUG DIGEST and DEBUG DIGEST-VALUE.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// oracle is one redis-server process started for a test.
type oracle struct {
	addr string
	dbs  map[int]*redis.Client
}

// startRedis starts a redis-server on a free loopback port with DEBUG enabled,
// skipping the test when the binary is not installed.
func startRedis(t *testing.T) *oracle {
	t.Helper()
	if testing.Short() {
		t.Skip("differential test against redis-server skipped in -short mode")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed, cannot compare digests with Redis: ", err)
	}
	var lastErr error
	// A freed port can be taken by someone else before redis binds it; retry.
	for range 3 {
		o, err := tryStartRedis(t, bin)
		if err == nil {
			return o
		}
		lastErr = err
	}
	t.Fatalf("starting redis-server: %v", lastErr)
	return nil
}

func tryStartRedis(t *testing.T, bin string) (*oracle, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--enable-debug-command", "yes",
		"--dir", dir, "--logfile", dir+"/redis.log")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	o := &oracle{addr: fmt.Sprintf("127.0.0.1:%d", port), dbs: map[int]*redis.Client{}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := o.db(0).Ping(ctx).Err()
		cancel()
		if err == nil {
			break
		}
		select {
		case werr := <-exited:
			exited <- werr
			o.close()
			log, _ := os.ReadFile(dir + "/redis.log")
			return nil, fmt.Errorf("redis-server exited (%v): %s", werr, log)
		default:
		}
		if time.Now().After(deadline) {
			o.close()
			stop()
			return nil, fmt.Errorf("redis-server on %s not answering: %v", o.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		o.close()
		stop()
	})
	return o, nil
}

func (o *oracle) db(n int) *redis.Client {
	c := o.dbs[n]
	if c == nil {
		c = redis.NewClient(&redis.Options{Addr: o.addr, DB: n, Protocol: 2, DisableIdentity: true})
		o.dbs[n] = c
	}
	return c
}

func (o *oracle) close() {
	for _, c := range o.dbs {
		c.Close()
	}
}

// do runs one command on database db and fails the test on an error reply.
func (o *oracle) do(t *testing.T, db int, args ...any) any {
	t.Helper()
	v, err := o.db(db).Do(context.Background(), args...).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatalf("db %d %v: %v", db, args, err)
	}
	return v
}

// keyBuilder digests one key, read back from the server, from a given start,
// so that the same data feeds both the DEBUG DIGEST and DIGEST-VALUE checks.
type keyBuilder func(s Start, expireAtMs int64) Digest

// readKey reads one key with ordinary commands and returns how to digest it.
func readKey(ctx context.Context, c *redis.Client, key string) (keyBuilder, error) {
	typ, err := c.Type(ctx, key).Result()
	if err != nil {
		return nil, err
	}
	enc, err := c.ObjectEncoding(ctx, key).Result()
	if err != nil {
		return nil, err
	}
	switch typ {
	case "string":
		v, err := c.Get(ctx, key).Bytes()
		if err != nil {
			return nil, err
		}
		if enc == "int" {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				return nil, err
			}
			return func(s Start, exp int64) Digest { return s.Int(n, exp) }, nil
		}
		return func(s Start, exp int64) Digest { return s.String(v, exp) }, nil
	case "list":
		elems, err := c.LRange(ctx, key, 0, -1).Result()
		if err != nil {
			return nil, err
		}
		return func(s Start, exp int64) Digest {
			l := s.List()
			for _, e := range elems {
				// Feed canonical integers as integers, as a compact encoding would.
				if n, err := strconv.ParseInt(e, 10, 64); err == nil && strconv.FormatInt(n, 10) == e {
					l.AddInt(n)
				} else {
					l.Add([]byte(e))
				}
			}
			return l.Sum(exp)
		}, nil
	case "set":
		members, err := c.SMembers(ctx, key).Result()
		if err != nil {
			return nil, err
		}
		return func(s Start, exp int64) Digest {
			st := s.Set()
			for _, m := range members {
				if enc == "intset" {
					n, _ := strconv.ParseInt(m, 10, 64)
					st.AddInt(n)
				} else {
					st.Add([]byte(m))
				}
			}
			return st.Sum(exp)
		}, nil
	case "hash":
		pairs, err := c.HGetAll(ctx, key).Result()
		if err != nil {
			return nil, err
		}
		return func(s Start, exp int64) Digest {
			h := s.Hash()
			for f, v := range pairs {
				h.Add([]byte(f), []byte(v))
			}
			return h.Sum(exp)
		}, nil
	case "zset":
		members, err := c.ZRangeWithScores(ctx, key, 0, -1).Result()
		if err != nil {
			return nil, err
		}
		return func(s Start, exp int64) Digest {
			z := s.ZSet()
			for _, m := range members {
				z.Add([]byte(m.Member.(string)), m.Score)
			}
			return z.Sum(exp)
		}, nil
	case "stream":
		entries, err := readStream(ctx, c, key)
		if err != nil {
			return nil, err
		}
		return func(s Start, exp int64) Digest {
			st := s.Stream()
			for _, e := range entries {
				st.Entry(e.ms, e.seq)
				for i := 0; i+1 < len(e.fields); i += 2 {
					st.Field([]byte(e.fields[i]), []byte(e.fields[i+1]))
				}
			}
			return st.Sum(exp)
		}, nil
	}
	return nil, fmt.Errorf("key %q: unexpected type %q", key, typ)
}

type streamEntry struct {
	ms, seq uint64
	fields  []string // field, value, field, value... in stored order
}

// readStream uses raw XRANGE because go-redis's XMessage keeps fields in a map,
// losing their order and any repeated field.
func readStream(ctx context.Context, c *redis.Client, key string) ([]streamEntry, error) {
	raw, err := c.Do(ctx, "XRANGE", key, "-", "+").Slice()
	if err != nil {
		return nil, err
	}
	var out []streamEntry
	for _, r := range raw {
		pair, ok := r.([]any)
		if !ok || len(pair) != 2 {
			return nil, fmt.Errorf("XRANGE %s: odd entry %v", key, r)
		}
		id, _ := pair[0].(string)
		msText, seqText, ok := strings.Cut(id, "-")
		if !ok {
			return nil, fmt.Errorf("XRANGE %s: odd id %q", key, id)
		}
		var e streamEntry
		if e.ms, err = strconv.ParseUint(msText, 10, 64); err != nil {
			return nil, err
		}
		if e.seq, err = strconv.ParseUint(seqText, 10, 64); err != nil {
			return nil, err
		}
		fv, _ := pair[1].([]any)
		for _, x := range fv {
			s, _ := x.(string)
			e.fields = append(e.fields, s)
		}
		out = append(out, e)
	}
	return out, nil
}

// checkAgainstRedis digests databases 0-15 of the server from what ordinary
// commands return and compares with DEBUG DIGEST and, key by key, with DEBUG
// DIGEST-VALUE. It returns the dataset digest.
func checkAgainstRedis(t *testing.T, o *oracle) Digest {
	t.Helper()
	ctx := context.Background()
	var ds Dataset
	for db := range 16 {
		c := o.db(db)
		keys, err := c.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatalf("KEYS in db %d: %v", db, err)
		}
		if len(keys) == 0 {
			continue
		}
		args := []any{"DEBUG", "DIGEST-VALUE"}
		want := make([]Digest, len(keys))
		for i, k := range keys {
			build, err := readKey(ctx, c, k)
			if err != nil {
				t.Fatalf("reading db %d key %q: %v", db, k, err)
			}
			exp, err := c.Do(ctx, "PEXPIRETIME", k).Int64()
			if err != nil {
				t.Fatalf("PEXPIRETIME %q: %v", k, err)
			}
			ds.Add(db, build(ForKey([]byte(k)), exp))
			want[i] = build(ForValue(), exp)
			args = append(args, k)
		}
		got, err := c.Do(ctx, args...).StringSlice()
		if err != nil {
			t.Fatalf("DEBUG DIGEST-VALUE in db %d: %v", db, err)
		}
		if len(got) != len(keys) {
			t.Fatalf("DEBUG DIGEST-VALUE returned %d digests for %d keys", len(got), len(keys))
		}
		for i, k := range keys {
			if got[i] != want[i].Hex() {
				t.Errorf("db %d key %q: DIGEST-VALUE redis %s, ours %s", db, k, got[i], want[i].Hex())
			}
		}
	}
	server, err := o.db(0).Do(ctx, "DEBUG", "DIGEST").Text()
	if err != nil {
		t.Fatalf("DEBUG DIGEST: %v", err)
	}
	sum := ds.Sum()
	if server != sum.Hex() {
		t.Errorf("DEBUG DIGEST: redis %s, ours %s (%d keys)", server, sum.Hex(), ds.Keys())
	}
	return sum
}

func TestRedisEmptyAndMissing(t *testing.T) {
	o := startRedis(t)
	if got := checkAgainstRedis(t, o); !got.IsZero() {
		t.Errorf("empty dataset digest %s, want zeros", got)
	}
	got, err := o.db(0).Do(context.Background(), "DEBUG", "DIGEST-VALUE", "missing").StringSlice()
	if err != nil || len(got) != 1 || got[0] != (Digest{}).Hex() {
		t.Errorf("DIGEST-VALUE of a missing key = %v, %v; want [%s]", got, err, Digest{}.Hex())
	}
}

// cmd is one command for database db.
type cmd struct {
	db   int
	args []any
}

func c0(args ...any) cmd { return cmd{0, args} }

func repeatCmd(n int, f func(i int) cmd) []cmd {
	out := make([]cmd, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestRedisValueTypes(t *testing.T) {
	o := startRedis(t)
	long := strings.Repeat("0123456789", 30)
	tests := []struct {
		name string
		cmds []cmd
		// encodings names key -> the OBJECT ENCODING the case means to cover.
		encodings map[string]string
	}{
		{name: "strings", cmds: []cmd{
			c0("SET", "short", "hello"),
			c0("SET", "long", long),
			c0("SET", "int", "12345"),
			c0("SET", "negint", "-9223372036854775808"),
			c0("SET", "maxint", "9223372036854775807"),
			c0("SET", "bigint", "9223372036854775808"),
			c0("SET", "leadingzero", "007"),
			c0("SET", "minuszero", "-0"),
			c0("SET", "empty", ""),
			c0("SET", "binary", "\x00\xff\r\n\x01"),
			c0("SET", "", "empty key name"),
			c0("INCRBYFLOAT", "float", "1.5"),
			c0("APPEND", "appended", "abc"),
		}, encodings: map[string]string{"int": "int", "negint": "int", "short": "embstr", "long": "raw"}},
		{name: "expiry", cmds: []cmd{
			c0("SET", "ttl", "v", "EX", "3600"),
			c0("SET", "pttl", "12", "PX", "7200000"),
			c0("SET", "at", "v", "PXAT", strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)),
			c0("SET", "none", "v"),
			c0("RPUSH", "list", "a", "b"),
			c0("EXPIRE", "list", "5000"),
			c0("HSET", "hash", "f", "v"),
			c0("EXPIRE", "hash", "100000"),
		}},
		{name: "databases", cmds: []cmd{
			{0, []any{"SET", "k", "v"}},
			{1, []any{"SET", "k", "v"}},
			{5, []any{"SET", "k", "other"}},
			{5, []any{"SADD", "s", "1", "2"}},
			{15, []any{"RPUSH", "l", "x"}},
		}},
		{name: "lists", cmds: append([]cmd{
			c0("RPUSH", "small", "a", "1", "-2", "b", "", "007", "9223372036854775808"),
			c0("LPUSH", "pushed-left", "a", "b", "c"),
			c0("RPUSH", "longelems", long, long+"x"),
		}, repeatCmd(300, func(i int) cmd { return c0("RPUSH", "big", strconv.Itoa(i*7-100)+"-"+strings.Repeat("y", i%70)) })...)},
		{name: "sets", cmds: append([]cmd{
			c0("SADD", "intset", "1", "-5", "100000", "9223372036854775807"),
			c0("SADD", "strings", "a", "b", "c", ""),
			c0("SADD", "mixed", "1", "x"),
		}, repeatCmd(600, func(i int) cmd { return c0("SADD", "bigints", strconv.Itoa(i*13)) })...),
			encodings: map[string]string{"intset": "intset", "strings": "hashtable", "bigints": "hashtable"}},
		{name: "hashes", cmds: append([]cmd{
			c0("HSET", "small", "f1", "v1", "f2", "2", "3", "-4", "", "empty"),
			c0("HSET", "longvalue", "f", long),
		}, repeatCmd(600, func(i int) cmd { return c0("HSET", "big", "field"+strconv.Itoa(i), strconv.Itoa(i*i)) })...),
			encodings: map[string]string{"small": "listpack", "longvalue": "hashtable", "big": "hashtable"}},
		{name: "sorted sets", cmds: append([]cmd{
			c0("ZADD", "small", "1", "one", "-2", "minus-two", "0", "zero", "1.5", "frac",
				"0.1", "tenth", "inf", "posinf", "-inf", "neginf", "-0", "minus-zero",
				"1e300", "huge", "5e-324", "tiny", "2.98023223876953125e-08", "tie",
				"123456789012345678", "bigint", "3", "7"),
			c0("ZADD", "longmember", "2.5", long),
			c0("ZINCRBY", "incr", "0.1", "m"),
			c0("ZINCRBY", "incr", "0.2", "m"),
		}, append(repeatCmd(200, func(i int) cmd {
			return c0("ZADD", "big", strconv.FormatFloat(float64(i)/3, 'g', -1, 64), "m"+strconv.Itoa(i))
		}),
			// A skiplist keeps -0 and digests it as "-0"; the listpack above
			// turns it into 0.
			c0("ZADD", "big", "-0", "minus-zero"))...),
			encodings: map[string]string{"small": "listpack", "longmember": "skiplist", "big": "skiplist"}},
		{name: "streams", cmds: []cmd{
			c0("XADD", "plain", "1-1", "f", "v"),
			c0("XADD", "plain", "1-2", "f", "w", "g", "x"),
			c0("XADD", "plain", "5-0", "other", "fields", "f", "v"),
			c0("XADD", "plain", "5-1", "dup", "1", "dup", "2"),
			c0("XADD", "plain", "18446744073709551615-18446744073709551614", "n", "12345"),
			c0("XADD", "groups", "*", "a", "1"),
			c0("XADD", "groups", "*", "a", "2"),
			c0("XADD", "groups", "*", "a", "3"),
			c0("XGROUP", "CREATE", "groups", "g1", "0"),
			c0("XGROUP", "CREATE", "groups", "g2", "$"),
			c0("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "2", "STREAMS", "groups", ">"),
			c0("XACK", "groups", "g1", "0-1"),
			c0("XGROUP", "CREATECONSUMER", "groups", "g2", "bob"),
			c0("XADD", "deleted", "1-1", "a", "1"),
			c0("XADD", "deleted", "2-1", "b", "2"),
			c0("XADD", "deleted", "3-1", "c", "3"),
			c0("XDEL", "deleted", "2-1"),
			c0("XADD", "emptied", "1-1", "a", "1"),
			c0("XDEL", "emptied", "1-1"),
			c0("XADD", "trimmed", "MAXLEN", "2", "*", "x", "1"),
			c0("XADD", "trimmed", "MAXLEN", "2", "*", "x", "2"),
			c0("XADD", "trimmed", "MAXLEN", "2", "*", "x", "3"),
			c0("XADD", "setid", "1-1", "a", "1"),
			c0("XSETID", "setid", "99-0"),
			c0("XGROUP", "CREATE", "created", "g", "$", "MKSTREAM"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o.do(t, 0, "FLUSHALL")
			for _, c := range tc.cmds {
				o.do(t, c.db, c.args...)
			}
			for key, want := range tc.encodings {
				if got := o.do(t, 0, "OBJECT", "ENCODING", key); got != want {
					t.Errorf("key %q has encoding %v, the case meant to cover %s", key, got, want)
				}
			}
			if got := checkAgainstRedis(t, o); got.IsZero() {
				t.Error("non-empty dataset has a zero digest")
			}
		})
	}
}

// TestRedisStreamMetadataIgnored pins that Redis 7.0 leaves consumer groups,
// pending entries and the last ID out of a stream's digest.
func TestRedisStreamMetadataIgnored(t *testing.T) {
	o := startRedis(t)
	o.do(t, 0, "XADD", "s", "1-1", "f", "v")
	o.do(t, 0, "XADD", "s", "2-1", "f", "w")
	before := o.do(t, 0, "DEBUG", "DIGEST")
	o.do(t, 0, "XGROUP", "CREATE", "s", "g", "0")
	o.do(t, 0, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
	o.do(t, 0, "XSETID", "s", "50-0")
	if after := o.do(t, 0, "DEBUG", "DIGEST"); after != before {
		t.Fatalf("stream metadata changed DEBUG DIGEST from %v to %v", before, after)
	}
	checkAgainstRedis(t, o)
}

// TestRedisScoreText compares AppendScore with how Redis 7.0 prints random
// scores (ZSCORE uses the same %.17g as the digest) and digests the zset.
func TestRedisScoreText(t *testing.T) {
	o := startRedis(t)
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	scores := make([]float64, 0, 300)
	for len(scores) < cap(scores) {
		var f float64
		switch len(scores) % 3 {
		case 0: // any bit pattern
			f = math.Float64frombits(rng.Uint64())
		case 1: // short decimals, as users write them
			f = float64(rng.IntN(2000000)-1000000) / math.Pow10(rng.IntN(8))
		default: // integers around 2^53 and beyond
			f = float64(rng.Int64()>>rng.IntN(20)) * float64(rng.IntN(3)-1)
		}
		if !math.IsNaN(f) {
			scores = append(scores, f)
		}
	}
	scores = append(scores, math.Inf(1), math.Inf(-1), math.Copysign(0, -1), math.SmallestNonzeroFloat64, math.MaxFloat64)
	pipe := o.db(0).Pipeline()
	for i, f := range scores {
		pipe.Do(ctx, "ZADD", "z", strconv.FormatFloat(f, 'g', -1, 64), "m"+strconv.Itoa(i))
	}
	for i := range scores {
		pipe.Do(ctx, "ZSCORE", "z", "m"+strconv.Itoa(i))
	}
	res, err := pipe.Exec(ctx)
	if err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	for i, f := range scores {
		got := res[len(scores)+i].(*redis.Cmd).Val()
		if want := string(AppendScore(nil, f)); got != want {
			// A listpack stores -0 as the integer 0, so a -0 added while
			// the zset was still small reads back (and digests) as "0".
			if i < 128 && f == 0 && got == "0" {
				continue
			}
			t.Errorf("score %v (%x): redis prints %q, AppendScore %q", f, math.Float64bits(f), got, want)
		}
	}
	checkAgainstRedis(t, o)
}

// TestRedisRandomDataset builds a seeded random dataset of a few hundred keys
// of every type over several databases, compares, mutates it and compares again.
func TestRedisRandomDataset(t *testing.T) {
	o := startRedis(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	randStr := func() string {
		switch rng.IntN(4) {
		case 0:
			return strconv.FormatInt(rng.Int64N(2000)-1000, 10)
		case 1:
			return strconv.FormatInt(int64(rng.Uint64()), 10)
		case 2:
			b := make([]byte, rng.IntN(8))
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			return string(b)
		default:
			return strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(100))
		}
	}
	randScore := func() string {
		switch rng.IntN(5) {
		case 0:
			return strconv.Itoa(rng.IntN(100))
		case 1:
			return "inf"
		default:
			return strconv.FormatFloat(rng.NormFloat64()*1e6, 'g', -1, 64)
		}
	}
	const nkeys = 400
	for i := range nkeys {
		db := rng.IntN(4)
		key := fmt.Sprintf("k:%d:%s", i, randStr())
		n := 1 + rng.IntN(20)
		if rng.IntN(10) == 0 {
			n = 150 + rng.IntN(500) // past the compact encodings' limits
		}
		args := []any{}
		switch rng.IntN(6) {
		case 0:
			args = append(args, "SET", key, randStr())
		case 1:
			args = append(args, "RPUSH", key)
			for range n {
				args = append(args, randStr())
			}
		case 2:
			args = append(args, "SADD", key)
			ints := rng.IntN(2) == 0
			for range n {
				if ints {
					args = append(args, strconv.Itoa(rng.IntN(100000)))
				} else {
					args = append(args, randStr())
				}
			}
		case 3:
			args = append(args, "HSET", key)
			for range n {
				args = append(args, randStr(), randStr())
			}
		case 4:
			args = append(args, "ZADD", key)
			for range n {
				args = append(args, randScore(), randStr())
			}
		case 5:
			for j := range n {
				xadd := []any{"XADD", key, fmt.Sprintf("%d-%d", j/3+1, j%3)}
				for range 1 + rng.IntN(3) {
					xadd = append(xadd, randStr(), randStr())
				}
				o.do(t, db, xadd...)
			}
			if rng.IntN(2) == 0 {
				o.do(t, db, "XGROUP", "CREATE", key, "g", "0")
				o.do(t, db, "XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", key, ">")
			}
		}
		if len(args) > 0 {
			o.do(t, db, args...)
		}
		if rng.IntN(4) == 0 {
			o.do(t, db, "PEXPIRE", key, 3600000+rng.IntN(1000000))
		}
	}
	before := checkAgainstRedis(t, o)

	// Mutations that move keys between databases, drop expiries, delete
	// elements, and reorder list content.
	ctx := context.Background()
	for db := range 4 {
		keys, err := o.db(db).Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			switch rng.IntN(8) {
			case 0:
				o.do(t, db, "MOVE", k, (db+1)%4)
			case 1:
				o.do(t, db, "PERSIST", k)
			case 2:
				o.do(t, db, "DEL", k)
			case 3:
				typ := o.do(t, db, "TYPE", k)
				switch typ {
				case "list":
					o.do(t, db, "LMOVE", k, k, "LEFT", "RIGHT")
				case "set":
					o.do(t, db, "SPOP", k)
				case "hash":
					o.do(t, db, "HSET", k, "new", "field")
				case "zset":
					o.do(t, db, "ZINCRBY", k, "0.5", "new")
				case "stream":
					o.do(t, db, "XTRIM", k, "MAXLEN", "1")
				case "string":
					o.do(t, db, "APPEND", k, "!")
				}
			}
		}
	}
	if after := checkAgainstRedis(t, o); after == before {
		t.Error("mutations left the dataset digest unchanged")
	}
}
