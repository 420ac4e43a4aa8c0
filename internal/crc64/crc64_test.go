package crc64

import (
	"bytes"
	"encoding/binary"
	stdcrc "hash/crc64"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/sard-kv/sard/internal/testutil"
)

func TestCheckVector(t *testing.T) {
	// The check value Redis's own self-test uses for this CRC.
	if got := Checksum([]byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("crc64(123456789) = %#x, want 0xe9c6d914c4b8d9ca", got)
	}
	if got := Checksum(nil); got != 0 {
		t.Fatalf("crc64(empty) = %#x, want 0", got)
	}
}

// bitwise is the textbook one-bit-at-a-time CRC the tables must agree with.
func bitwise(crc uint64, p []byte) uint64 {
	for _, b := range p {
		crc ^= uint64(b)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ poly
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

func TestAgainstReferences(t *testing.T) {
	// The standard library runs the same polynomial with the register
	// inverted on entry and exit, so it is an independent cross-check.
	std := stdcrc.MakeTable(poly)
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 600; n++ {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		seed := rng.Uint64()
		want := bitwise(seed, p)
		if got := Update(seed, p); got != want {
			t.Fatalf("len %d: Update = %#x, bitwise = %#x", n, got, want)
		}
		if got := ^stdcrc.Update(^seed, std, p); got != want {
			t.Fatalf("len %d: hash/crc64 = %#x, bitwise = %#x", n, got, want)
		}
		// Feeding the data in two pieces gives the same result.
		cut := 0
		if n > 0 {
			cut = rng.IntN(n + 1)
		}
		if got := Update(Update(seed, p[:cut]), p[cut:]); got != want {
			t.Fatalf("len %d split at %d: %#x, want %#x", n, cut, got, want)
		}
	}
}

// TestDumpPayload checks that the last eight bytes of a real DUMP payload
// are the little-endian CRC of everything before them.
func TestDumpPayload(t *testing.T) {
	o := testutil.StartRedis(t).Raw()
	big := bytes.Repeat([]byte("payload-"), 5000)
	setup := [][]string{
		{"SET", "s", "hello"},
		{"SET", "i", "12345"},
		{"SET", "big", string(big)},
		{"RPUSH", "l", "a", "b", "c"},
		{"HSET", "h", "f", "v", "g", "w"},
		{"SADD", "set", "1", "2", "x"},
		{"ZADD", "z", "1.5", "m", "2", "n"},
		{"XADD", "st", "*", "f", "v"},
	}
	for i := 0; i < 200; i++ {
		setup = append(setup, []string{"SADD", "bigset", "member" + strconv.Itoa(i)})
	}
	replies, err := o.Pipeline(setup...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range replies {
		if r[0] == '-' {
			t.Fatalf("setup failed: %q", r)
		}
	}
	for _, key := range []string{"s", "i", "big", "l", "h", "set", "z", "st", "bigset"} {
		reply, err := o.Do("DUMP", key)
		if err != nil {
			t.Fatal(err)
		}
		payload, ok := testutil.Bulk(reply)
		if !ok || len(payload) < 10 {
			t.Fatalf("DUMP %s: unexpected reply", key)
		}
		body, tail := payload[:len(payload)-8], payload[len(payload)-8:]
		if got, want := Checksum(body), binary.LittleEndian.Uint64(tail); got != want {
			t.Errorf("DUMP %s: crc %#x, payload says %#x", key, got, want)
		}
		// A corrupted body must no longer verify, or the check proves nothing.
		bad := bytes.Clone(body)
		bad[0] ^= 1
		if Checksum(bad) == binary.LittleEndian.Uint64(tail) {
			t.Errorf("DUMP %s: corrupted payload still verifies", key)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	for _, n := range []int{8, 64, 1024, 64 << 10} {
		p := make([]byte, n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			var crc uint64
			for b.Loop() {
				crc = Update(crc, p)
			}
		})
	}
}
