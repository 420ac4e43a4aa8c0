package num

// Differential tests: the same inputs go through real commands on a
// redis-server 7.0 and through this package, and the reply bytes must match.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/sard-kv/sard/internal/testutil"
)

const (
	replyNotInt   = "-ERR value is not an integer or out of range\r\n"
	replyNotFloat = "-ERR value is not a valid float\r\n"
)

func bulkReply(b []byte) string { return "$" + strconv.Itoa(len(b)) + "\r\n" + string(b) + "\r\n" }

func errReply(err error) string { return "-" + err.Error() + "\r\n" }

// pipeline sends cmds to the oracle at once and returns every reply.
func pipeline(t *testing.T, o *testutil.RawConn, cmds [][]string) [][]byte {
	t.Helper()
	replies, err := o.Pipeline(cmds...)
	if err != nil {
		t.Fatal(err)
	}
	return replies
}

// intInputs mixes boundary values with random near-integers.
func intInputs(rng *rand.Rand) []string {
	in := []string{"0", "-0", "00", "01", "-01", "+1", " 1", "1 ", "", "-", "+", "1a", "1.0", "0x10", "1e3",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"18446744073709551615", "18446744073709551616", "99999999999999999999", "-99999999999999999999",
		"000000000000000000001", "12345678901234567890", "-1234567890123456789", "\x001", "1\x00"}
	for len(in) < 3000 {
		switch rng.IntN(4) {
		case 0:
			in = append(in, strconv.FormatInt(int64(rng.Uint64()), 10))
		case 1:
			in = append(in, strconv.FormatInt(rng.Int64N(2000)-1000, 10))
		case 2:
			// Around the 19/20 digit boundary.
			n := 18 + rng.IntN(4)
			var b strings.Builder
			if rng.IntN(2) == 0 {
				b.WriteByte('-')
			}
			for range n {
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
			in = append(in, b.String())
		default:
			in = append(in, randomText(rng, "0123456789-+ ", 6))
		}
	}
	return in
}

func randomText(rng *rand.Rand, alphabet string, max int) string {
	b := make([]byte, rng.IntN(max+1))
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// TestDifferentialInt parses integers with INCRBY on a missing key, which
// replies with the parsed value itself.
func TestDifferentialInt(t *testing.T) {
	o := testutil.StartRedis(t).Raw()
	in := intInputs(rand.New(rand.NewPCG(1, 1)))
	var cmds [][]string
	for _, s := range in {
		cmds = append(cmds, []string{"DEL", "k"}, []string{"INCRBY", "k", s})
	}
	replies := pipeline(t, o, cmds)
	for i, s := range in {
		want := replyNotInt
		if v, ok := ParseInt64String(s); ok {
			want = ":" + string(FormatInt64(nil, v)) + "\r\n"
		}
		if got := string(replies[2*i+1]); got != want {
			t.Errorf("INCRBY %q: oracle %q, ours %q", s, got, want)
		}
	}
}

// floatInputs mixes edge cases of strtod's grammar and range with random
// decimal, exponent and hex forms and random doubles.
func floatInputs(rng *rand.Rand, n int) []string {
	in := []string{"0", "-0", "+0", "1", "-1", "0.1", "1e-5", "3.0e3", "10.5", "1e300", "-1e300",
		"  1", " 1", "1 ", "", ".", "-.", "+.5", ".5", "5.", "1e", "1e+", "1e-", "e5", "1e5",
		"inf", "-inf", "+inf", "Inf", "INFINITY", "infinity", "infinit", "nan", "-nan", "NaN", "nan(1)",
		"0x", "0x1", "0x10", "0X1P3", "0x1.8p1", "0x.8", "0x.p1", "0x1p", "0xg", "0x1p-1074", "0x1p-1075",
		"0x1.0000000000001p-1075", "0x1p1023", "0x1p1024", "1e308", "1.7976931348623157e308",
		"1.7976931348623158e308", "1.797693134862315807e308", "1e309", "1e-307", "4e-320", "5e-324",
		"3e-324", "2.5e-324", "2.4703282292062328e-324", "2e-324", "1e-330", "1e-400", "0e-400", "0e999999",
		"1e4932", "1.18973149535723176502e+4932", "1.189731495357231765e+4932", "1.2e4932", "1e-4940",
		"1e-4950", "3.6e-4951", "2e-4951", "1.9e-4951", "1.8e-4951", "1e-4951", "1e-5000", "1e5000",
		"0x1p-16445", "0x1p-16446", "0x1.0000000001p-16446", "0x1p16383", "0x1p16384", "0x1.fffffffffffffffep16383",
		"0x1.ffffffffffffffffp16383", "9007199254740993", "18446744073709551615", "18446744073709551617",
		"36893488147419103231", "1.00000762939453125", "0.000003814697265625",
		"5e-18", "-5e-18", "4.9e-18", "5.1e-18", "3.4e-18", "3.5e-18", "1e-17", "0x1p-58", "0x1.0000000000001p-58",
		"0x1p-57", "-0x1.8p-57", "0.00000000000000000500000000000000001", "1_0", "1,5", "\x00", "1\x001",
		"1e0000000000000000000000001", "1" + strings.Repeat("0", 400), "0." + strings.Repeat("0", 400) + "1",
		strings.Repeat("9", 5000), strings.Repeat("1", 5119), strings.Repeat("1", 5120)}
	for len(in) < n {
		switch rng.IntN(8) {
		case 0:
			f := math.Float64frombits(rng.Uint64())
			in = append(in, strconv.FormatFloat(f, "eg"[rng.IntN(2)], -1, 64))
		case 1:
			f := math.Float64frombits(rng.Uint64())
			in = append(in, strconv.FormatFloat(f, 'x', -1, 64))
		case 2:
			in = append(in, randomText(rng, "0123456789.eE+-xXpPaAfinINF ", 8))
		case 3:
			// Big integers show every bit of a 64-bit significand.
			in = append(in, strconv.FormatUint(rng.Uint64(), 10)+strings.Repeat("0", rng.IntN(8)))
		default:
			in = append(in, randomDecimal(rng))
		}
	}
	return in
}

// randomDecimal writes a number with 1-25 significant digits, a random
// point and sometimes an exponent, mostly at everyday magnitudes.
func randomDecimal(rng *rand.Rand) string {
	var b strings.Builder
	if rng.IntN(3) == 0 {
		b.WriteByte('-')
	}
	n := 1 + rng.IntN(25)
	point := rng.IntN(n + 1)
	for i := range n {
		if i == point {
			b.WriteByte('.')
		}
		b.WriteByte(byte('0' + rng.IntN(10)))
	}
	switch rng.IntN(6) {
	case 0:
		fmt.Fprintf(&b, "e%d", rng.IntN(60)-30)
	case 1:
		fmt.Fprintf(&b, "E%+d", rng.IntN(700)-350)
	case 2:
		fmt.Fprintf(&b, "e%d", rng.IntN(40)-4950+9900*rng.IntN(2))
	}
	return b.String()
}

// TestDifferentialZsetScores checks ParseFloat through ZADD and FormatDouble
// through ZSCORE in RESP2 (bulk string) and RESP3 (double).
func TestDifferentialZsetScores(t *testing.T) {
	// The skiplist encoding keeps a score as the parsed double (a listpack
	// stores "-0" as 0), so it shows exactly what was parsed.
	o := testutil.StartRedis(t, "--zset-max-listpack-entries", "0").Raw()
	var in []string
	for _, s := range floatInputs(rand.New(rand.NewPCG(2, 2)), 6000) {
		switch strings.ToLower(s) {
		case "nx", "xx", "gt", "lt", "ch", "incr":
			// ZADD would read these as options, not as a score.
		default:
			in = append(in, s)
		}
	}
	var cmds, scores [][]string
	for i, s := range in {
		m := "m" + strconv.Itoa(i)
		cmds = append(cmds, []string{"ZADD", "z", s, m})
		scores = append(scores, []string{"ZSCORE", "z", m})
	}
	added := pipeline(t, o, cmds)
	resp2 := pipeline(t, o, scores)
	if r := pipeline(t, o, [][]string{{"HELLO", "3"}})[0]; r[0] != '%' {
		t.Fatalf("HELLO 3: %q", r)
	}
	resp3 := pipeline(t, o, scores)
	for i, s := range in {
		v, ok := ParseFloat([]byte(s))
		wantAdd, want2, want3 := ":1\r\n", "", ""
		if ok {
			f := FormatDouble(nil, v)
			want2, want3 = bulkReply(f), ","+string(f)+"\r\n"
		} else {
			wantAdd, want2, want3 = replyNotFloat, "$-1\r\n", "_\r\n"
		}
		if got := string(added[i]); got != wantAdd {
			t.Errorf("ZADD z %q m: oracle %q, ours %q", s, got, wantAdd)
			continue
		}
		if got := string(resp2[i]); got != want2 {
			t.Errorf("ZSCORE after ZADD %q (RESP2): oracle %q, ours %q", s, got, want2)
		}
		if got := string(resp3[i]); got != want3 {
			t.Errorf("ZSCORE after ZADD %q (RESP3): oracle %q, ours %q", s, got, want3)
		}
	}
}

// TestDifferentialIncrByFloat runs random INCRBYFLOAT sequences, each from
// a fresh or SET value, on the server and in IncrByFloat, step by step.
func TestDifferentialIncrByFloat(t *testing.T) {
	o := testutil.StartRedis(t).Raw()
	rng := rand.New(rand.NewPCG(3, 3))
	pool := floatInputs(rng, 3000)
	type step struct {
		seq   int
		incr  string
		start *string // the SET value before the sequence; nil for no key
	}
	var cmds [][]string
	var steps []step
	var kinds []int // 0: setup reply to ignore, 1: INCRBYFLOAT reply
	for seq := 0; seq < 3000; seq++ {
		cmds = append(cmds, []string{"DEL", "k"})
		kinds = append(kinds, 0)
		var start *string
		if rng.IntN(2) == 0 {
			s := pool[rng.IntN(len(pool))]
			start = &s
			cmds = append(cmds, []string{"SET", "k", s})
			kinds = append(kinds, 0)
		}
		for j, n := 0, 1+rng.IntN(5); j < n; j++ {
			incr := pool[rng.IntN(len(pool))]
			if rng.IntN(2) == 0 {
				// Everyday increments keep most sequences alive.
				incr = randomDecimal(rng)
			}
			cmds = append(cmds, []string{"INCRBYFLOAT", "k", incr})
			kinds = append(kinds, 1)
			steps = append(steps, step{seq: seq, incr: incr, start: start})
		}
	}
	replies := pipeline(t, o, cmds)
	var cur []byte
	seq, k, ok := -1, 0, 0
	for i, r := range replies {
		if kinds[i] == 0 {
			continue
		}
		st := steps[k]
		k++
		if st.seq != seq {
			seq, cur = st.seq, nil
			if st.start != nil {
				cur = []byte(*st.start)
			}
		}
		before := cur
		got, err := IncrByFloat(cur, []byte(st.incr))
		want := ""
		if err != nil {
			want = errReply(err)
		} else {
			want, cur = bulkReply(got), got
		}
		if err == nil {
			ok++
		}
		if string(r) != want {
			t.Errorf("value %q INCRBYFLOAT %q: oracle %.200q, ours %.200q", before, st.incr, r, want)
			// Follow the oracle so one mismatch does not cascade.
			if b, isBulk := testutil.Bulk(r); isBulk {
				cur = b
			}
		}
	}
	t.Logf("%d INCRBYFLOAT steps, %d succeeded", len(steps), ok)
	if ok < len(steps)/3 {
		t.Errorf("only %d of %d steps succeeded; the inputs exercise too little arithmetic", ok, len(steps))
	}
}

// TestDifferentialHIncrByFloat does the same for HINCRBYFLOAT on a field,
// whose error texts and checks differ from INCRBYFLOAT's.
func TestDifferentialHIncrByFloat(t *testing.T) {
	o := testutil.StartRedis(t).Raw()
	rng := rand.New(rand.NewPCG(4, 4))
	pool := floatInputs(rng, 2000)
	type pair struct {
		cur  *string
		incr string
	}
	var cmds [][]string
	var pairs []pair
	for len(pairs) < 3000 {
		p := pair{incr: pool[rng.IntN(len(pool))]}
		cmds = append(cmds, []string{"DEL", "h"})
		if rng.IntN(3) > 0 {
			s := pool[rng.IntN(len(pool))]
			if rng.IntN(2) == 0 {
				s = randomDecimal(rng)
			}
			p.cur = &s
			cmds = append(cmds, []string{"HSET", "h", "f", s})
		} else {
			cmds = append(cmds, []string{"PING"})
		}
		cmds = append(cmds, []string{"HINCRBYFLOAT", "h", "f", p.incr})
		pairs = append(pairs, p)
	}
	replies := pipeline(t, o, cmds)
	for i, p := range pairs {
		var cur []byte
		if p.cur != nil {
			cur = []byte(*p.cur)
		}
		want := ""
		if got, err := HIncrByFloat(cur, []byte(p.incr)); err != nil {
			want = errReply(err)
		} else {
			want = bulkReply(got)
		}
		if got := string(replies[3*i+2]); got != want {
			t.Errorf("field %q HINCRBYFLOAT %q: oracle %.200q, ours %.200q", cur, p.incr, got, want)
		}
	}
}
