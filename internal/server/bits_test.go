package server

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/sard-kv/sard/internal/testutil"
)

// Differential tests of the bitmap and HyperLogLog commands on random input: the same
// commands go to sard and to a real redis-server and the raw replies must be identical.

// diffPair sends every command to both servers and fails on the first difference.
type diffPair struct {
	t           *testing.T
	sard, redis *testutil.RawConn
	n           int
}

func newDiffPair(t *testing.T) *diffPair {
	t.Helper()
	redis := testutil.StartRedis(t)
	sard := testutil.StartSard(t)
	return &diffPair{t: t, sard: sard.Raw(), redis: redis.Raw()}
}

// do runs one command on both servers and returns the (identical) reply.
func (d *diffPair) do(args ...string) string {
	d.t.Helper()
	d.n++
	want, err := d.redis.Do(args...)
	if err != nil {
		d.t.Fatalf("redis %q: %v", args, err)
	}
	got, err := d.sard.Do(args...)
	if err != nil {
		d.t.Fatalf("sard %q: %v", args, err)
	}
	if !bytes.Equal(got, want) {
		d.t.Fatalf("command %d %s\n sard:  %q\n redis: %q", d.n, quoteCmd(args), clip(got), clip(want))
	}
	return string(want)
}

func quoteCmd(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	return strings.Join(q, " ")
}

func clip(b []byte) []byte {
	if len(b) > 300 {
		return append(b[:300:300], "..."...)
	}
	return b
}

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("differential test against redis-server skipped in -short mode")
	}
}

// TestHLLMatchesRedisBytes builds HyperLogLogs of random sizes under random
// hll-sparse-max-bytes limits and compares their bytes (GET), estimates, unions, merges and
// registers with Redis's.
func TestHLLMatchesRedisBytes(t *testing.T) {
	skipShort(t)
	d := newDiffPair(t)
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 3, 10, 50, 200, 1000, 3000, 20000}
	var keys []string
	for round, size := range sizes {
		sparseMax := []int{3000, 100, 0, 12000, 500}[round%5]
		d.do("CONFIG", "SET", "hll-sparse-max-bytes", strconv.Itoa(sparseMax))
		key := fmt.Sprintf("h%d", round)
		keys = append(keys, key)
		d.do("PFADD", key)
		added := 0
		for added < size {
			batch := min(size-added, 1+rng.IntN(40))
			args := []string{"PFADD", key}
			for range batch {
				args = append(args, strconv.FormatUint(rng.Uint64()%uint64(4*size+1), 36))
			}
			d.do(args...)
			added += batch
			if rng.IntN(8) == 0 {
				d.do("PFCOUNT", key)
			}
			if rng.IntN(4) == 0 {
				d.do("GET", key)
			}
		}
		d.do("GET", key)
		d.do("PFCOUNT", key)
		d.do("GET", key)
		d.do("PFDEBUG", "ENCODING", key)
		if round%3 == 0 {
			d.do("PFDEBUG", "DECODE", key)
		}
	}
	d.do("CONFIG", "SET", "hll-sparse-max-bytes", "3000")
	for i := range 20 {
		a, b := keys[rng.IntN(len(keys))], keys[rng.IntN(len(keys))]
		d.do("PFCOUNT", a, b, "nokey")
		dst := fmt.Sprintf("m%d", i)
		if i%2 == 0 {
			dst = a
		}
		d.do("PFMERGE", dst, a, b)
		d.do("GET", dst)
		d.do("PFCOUNT", dst)
	}
	d.do("PFDEBUG", "GETREG", keys[len(keys)-1])
	d.do("PFDEBUG", "GETREG", keys[2])
	d.do("GET", keys[2])
	d.do("DEBUG", "DIGEST")
}

// TestHLLSparseEdits drives single-register edits of the sparse encoding (splits, merges of
// adjacent VAL opcodes, promotion) with PFADD of one element at a time on a small sparse
// limit, comparing every intermediate value.
func TestHLLSparseEdits(t *testing.T) {
	skipShort(t)
	d := newDiffPair(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 6 {
		d.do("CONFIG", "SET", "hll-sparse-max-bytes", strconv.Itoa(40+round*60))
		key := "e" + strconv.Itoa(round)
		for range 400 {
			d.do("PFADD", key, strconv.Itoa(rng.IntN(600)))
			if d.do("PFDEBUG", "ENCODING", key) == "+dense\r\n" {
				break
			}
			d.do("GET", key)
		}
		d.do("GET", key)
		d.do("PFCOUNT", key)
	}
}

// TestBitCommandsMatchRedis compares BITCOUNT, BITPOS, GETBIT and BITFIELD on random
// strings, ranges and field types.
func TestBitCommandsMatchRedis(t *testing.T) {
	skipShort(t)
	d := newDiffPair(t)
	rng := rand.New(rand.NewPCG(5, 6))
	patterns := []func() byte{
		func() byte { return byte(rng.Uint32()) },
		func() byte { return 0 },
		func() byte { return 0xff },
		func() byte { return []byte{0, 0xff, 0x0f, 0xf0, 0x80, 0x01}[rng.IntN(6)] },
	}
	idx := func(n int) string { return strconv.Itoa(rng.IntN(2*n+20) - n - 10) }
	for round := range 60 {
		n := rng.IntN(40)
		pat := patterns[round%len(patterns)]
		val := make([]byte, n)
		for i := range val {
			val[i] = pat()
		}
		d.do("SET", "k", string(val))
		for range 30 {
			unit := []string{"BYTE", "BIT"}[rng.IntN(2)]
			nb := n
			if unit == "BIT" {
				nb = 8 * n
			}
			bit := strconv.Itoa(rng.IntN(2))
			d.do("BITCOUNT", "k", idx(nb), idx(nb), unit)
			d.do("BITPOS", "k", bit, idx(nb), idx(nb), unit)
			d.do("BITPOS", "k", bit, idx(n))
			d.do("BITPOS", "k", bit, idx(n), idx(n))
			d.do("GETBIT", "k", strconv.Itoa(rng.IntN(8*n+16)))
		}
		d.do("BITCOUNT", "k")
		d.do("BITPOS", "k", "0")
		d.do("BITPOS", "k", "1")
		for range 20 {
			args := []string{"BITFIELD", "k"}
			for range 1 + rng.IntN(4) {
				signed := rng.IntN(2) == 0
				width := 1 + rng.IntN(63)
				typ := "u" + strconv.Itoa(width)
				if signed {
					width = 1 + rng.IntN(64)
					typ = "i" + strconv.Itoa(width)
				}
				off := strconv.Itoa(rng.IntN(8*n + 70))
				if rng.IntN(4) == 0 {
					off = "#" + strconv.Itoa(rng.IntN(5))
				}
				value := strconv.FormatInt(int64(rng.Uint64()>>uint(rng.IntN(64))), 10)
				if rng.IntN(2) == 0 {
					value = "-" + value
				}
				switch rng.IntN(4) {
				case 0:
					args = append(args, "GET", typ, off)
				case 1:
					args = append(args, "SET", typ, off, value)
				case 2:
					args = append(args, "INCRBY", typ, off, value)
				default:
					args = append(args, "OVERFLOW", []string{"WRAP", "SAT", "FAIL"}[rng.IntN(3)])
				}
			}
			d.do(args...)
			d.do("GET", "k")
		}
		d.do("SETBIT", "k2", strconv.Itoa(rng.IntN(300)), strconv.Itoa(rng.IntN(2)))
		op := []string{"AND", "OR", "XOR", "NOT"}[rng.IntN(4)]
		if op == "NOT" {
			d.do("BITOP", op, "dst", "k")
		} else {
			d.do("BITOP", op, "dst", "k", "k2", "nokey")
		}
		d.do("GET", "dst")
	}
	d.do("DEBUG", "DIGEST")
	d.do("DEBUG", "DIGEST-VALUE", "k", "k2", "dst")
}

func TestPopcountAndBitpos(t *testing.T) {
	b := []byte{0xff, 0x00, 0x01, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f}
	want := 0
	for _, x := range b {
		for i := 0; i < 8; i++ {
			want += int(x >> i & 1)
		}
	}
	if got := popcount(b); got != int64(want) {
		t.Fatalf("popcount = %d, want %d", got, want)
	}
	if got := bitpos(b[1:], 1); got != 15 {
		t.Fatalf("bitpos(1) = %d, want 15", got)
	}
	if got := bitpos([]byte{0xff, 0xff}, 0); got != 16 {
		t.Fatalf("bitpos(0) on ones = %d, want 16", got)
	}
	if got := bitpos([]byte{0, 0}, 1); got != -1 {
		t.Fatalf("bitpos(1) on zeros = %d, want -1", got)
	}
}

func BenchmarkBitcount1MB(b *testing.B) {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		popcount(buf)
	}
}
