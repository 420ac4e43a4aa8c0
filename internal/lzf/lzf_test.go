package lzf

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/sard-kv/sard/internal/testutil"
	"pgregory.net/rapid"
)

func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// small alphabets make repeats, hence back references of every length
		alpha := rapid.IntRange(1, 256).Draw(t, "alpha")
		n := rapid.IntRange(1, 20000).Draw(t, "n")
		seed := rapid.Uint64().Draw(t, "seed")
		r := rand.New(rand.NewPCG(seed, 1))
		in := make([]byte, n)
		for i := range in {
			in[i] = byte(r.IntN(alpha))
		}
		c := Compress(nil, in, 0)
		if c == nil {
			t.Fatalf("compress failed with a generous limit")
		}
		out, err := Decompress(nil, c, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("round trip: err %v equal %v", err, bytes.Equal(out, in))
		}
		// a limit below the compressed size must fail, never overrun
		if len(c) > 1 {
			if Compress(nil, in, len(c)-1) != nil {
				t.Fatalf("compress fit in %d bytes though it needs %d", len(c)-1, len(c))
			}
		}
	})
}

func TestDecompressCorrupt(t *testing.T) {
	cases := [][]byte{
		{0x05, 'a'},          // literal run past the end
		{0x20},               // reference without offset byte
		{0xE0, 0x01},         // long reference without offset byte
		{0x20, 0x00},         // reference before the start
		{0x00, 'a', 0x20, 5}, // offset beyond output
	}
	for _, in := range cases {
		if _, err := Decompress(nil, in, 10); err == nil {
			t.Errorf("%x: no error", in)
		}
	}
	if _, err := Decompress(nil, []byte{0x01, 'a', 'b'}, 1); err != ErrTooBig {
		t.Errorf("too big: %v", err)
	}
}

func FuzzDecompress(f *testing.F) {
	f.Add(Compress(nil, []byte("hello hello hello hello hello"), 0), 29)
	f.Add([]byte{0xE0, 0xFF, 0x00}, 300)
	f.Fuzz(func(t *testing.T, in []byte, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		out, err := Decompress(nil, in, n)
		if err == nil && len(out) != n {
			t.Fatalf("len %d want %d", len(out), n)
		}
	})
}

// TestMatchesRedis compares Compress with what redis-server writes into DUMP payloads
// for strings longer than 20 bytes (RDB compression with a limit of len-4 bytes).
func TestMatchesRedis(t *testing.T) {
	srv := testutil.StartRedis(t)
	rc := testutil.DialRaw(t, srv.Addr)
	defer rc.Close()
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 300; i++ {
		n := 21 + r.IntN(3000)
		alpha := 1 + r.IntN(20)
		in := make([]byte, n)
		for j := range in {
			in[j] = 'a' + byte(r.IntN(alpha))
		}
		if i%3 == 0 { // text-like: repeated words
			in = in[:0]
			for len(in) < n {
				in = append(in, fmt.Sprintf("field:%d value-%d ", r.IntN(50), r.IntN(9))...)
			}
		}
		if _, err := rc.Do("SET", "k", string(in)); err != nil {
			t.Fatal(err)
		}
		raw, err := rc.Do("DUMP", "k")
		if err != nil {
			t.Fatal(err)
		}
		payload := bulkBody(t, raw)
		// payload: type 0 (string), then the RDB string, then version and CRC
		if payload[0] != 0 {
			t.Fatalf("type byte %d", payload[0])
		}
		got := Compress(nil, in, len(in)-4)
		if payload[1] != 0xC3 {
			if got != nil {
				t.Fatalf("case %d: redis stored %d bytes raw, we compressed to %d", i, len(in), len(got))
			}
			continue
		}
		p := 2
		clen := rdbLen(payload, &p)
		ulen := rdbLen(payload, &p)
		if ulen != len(in) {
			t.Fatalf("ulen %d want %d", ulen, len(in))
		}
		want := payload[p : p+clen]
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d (%d bytes): compressed output differs\nsard:  %x\nredis: %x", i, len(in), got, want)
		}
		dec, err := Decompress(nil, want, ulen)
		if err != nil || !bytes.Equal(dec, in) {
			t.Fatalf("decompressing redis output: %v", err)
		}
	}
}

func bulkBody(t *testing.T, raw []byte) []byte {
	t.Helper()
	i := bytes.Index(raw, []byte("\r\n"))
	if raw[0] != '$' || i < 0 {
		t.Fatalf("not a bulk: %q", raw)
	}
	n, _ := strconv.Atoi(string(raw[1:i]))
	return raw[i+2 : i+2+n]
}

// rdbLen decodes an RDB length at b[*p].
func rdbLen(b []byte, p *int) int {
	c := b[*p]
	switch c >> 6 {
	case 0:
		*p++
		return int(c & 0x3F)
	case 1:
		v := int(c&0x3F)<<8 | int(b[*p+1])
		*p += 2
		return v
	}
	v := int(b[*p+1])<<24 | int(b[*p+2])<<16 | int(b[*p+3])<<8 | int(b[*p+4])
	*p += 5
	return v
}
