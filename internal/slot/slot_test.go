package slot

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/sard-kv/sard/internal/testutil"
)

func TestCRC16Vector(t *testing.T) {
	// The check value given in the Redis Cluster specification.
	if got := CRC16([]byte("123456789")); got != 0x31C3 {
		t.Fatalf("CRC16(123456789) = %#x, want 0x31c3", got)
	}
}

func TestKeySlotTable(t *testing.T) {
	cases := []struct {
		key  string
		want uint16
	}{
		{"", 0},
		{"a", 15495}, // the seed guide's "set a b" goes to slot 15495
		{"foo", 12182},
		{"bar", 5061},
		{"123456789", 0x31C3},
	}
	for _, c := range cases {
		if got := KeySlot([]byte(c.key)); got != c.want {
			t.Errorf("KeySlot(%q) = %d, want %d", c.key, got, c.want)
		}
		if got := KeySlotString(c.key); got != c.want {
			t.Errorf("KeySlotString(%q) = %d, want %d", c.key, got, c.want)
		}
	}
}

func TestHashTagRules(t *testing.T) {
	cases := []struct{ key, tag string }{
		{"plain", "plain"},
		{"{user1000}.following", "user1000"},
		{"foo{bar}zap", "bar"},
		{"{a}{b}", "a"},          // only the first tag counts
		{"{}{a}", "{}{a}"},       // an empty first tag means the whole key
		{"foo{bar", "foo{bar"},   // no closing brace
		{"foo}bar{", "foo}bar{"}, // '}' before '{' does not close it
		{"{{a}}", "{a"},
		{"x{}", "x{}"},
		{"{", "{"},
		{"}", "}"},
		{"a{b}c{d}", "b"},
	}
	for _, c := range cases {
		if got := string(HashTag([]byte(c.key))); got != c.tag {
			t.Errorf("HashTag(%q) = %q, want %q", c.key, got, c.tag)
		}
		if KeySlotString(c.key) != KeySlotString(c.tag) {
			t.Errorf("KeySlot(%q) differs from KeySlot(%q)", c.key, c.tag)
		}
	}
}

// randomKey builds keys rich in braces so every hash-tag branch is hit.
func randomKey(rng *rand.Rand) []byte {
	const alphabet = "{}{}ab\x00\xff"
	n := rng.IntN(12)
	k := make([]byte, n)
	for i := range k {
		if rng.IntN(3) == 0 {
			k[i] = byte(rng.Uint32())
		} else {
			k[i] = alphabet[rng.IntN(len(alphabet))]
		}
	}
	return k
}

func TestDifferentialClusterKeyslot(t *testing.T) {
	dir := t.TempDir()
	o := testutil.StartRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", dir+"/nodes.conf").Raw()
	rng := rand.New(rand.NewPCG(7, 11))
	var keys [][]byte
	for _, s := range []string{"", "{", "}", "{}", "{}{a}", "{a}{b}", "foo{bar", "foo{bar}", "{user1000}.following", "a", "123456789"} {
		keys = append(keys, []byte(s))
	}
	for len(keys) < 5000 {
		keys = append(keys, randomKey(rng))
	}
	cmds := make([][]string, len(keys))
	for i, k := range keys {
		cmds[i] = []string{"CLUSTER", "KEYSLOT", string(k)}
	}
	replies, err := o.Pipeline(cmds...)
	if err != nil {
		t.Fatal(err)
	}
	for i, reply := range replies {
		want := ":" + strconv.Itoa(int(KeySlot(keys[i]))) + "\r\n"
		if string(reply) != want {
			t.Errorf("key %q: oracle %q, KeySlot %q", keys[i], reply, want)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	key := []byte("{user1000}.following")
	if n := testing.AllocsPerRun(100, func() { KeySlot(key) }); n != 0 {
		t.Fatalf("KeySlot allocates %v times", n)
	}
}

func BenchmarkKeySlot(b *testing.B) {
	for _, k := range []string{"key:000123456", "{user1000}.following", string(make([]byte, 1024))} {
		key := []byte(k)
		b.Run(strconv.Itoa(len(k)), func(b *testing.B) {
			b.SetBytes(int64(len(key)))
			for b.Loop() {
				KeySlot(key)
			}
		})
	}
}
