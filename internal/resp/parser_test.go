package resp

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// parseAll feeds data in chunks of the given size, as a socket would deliver it, and returns
// every request parsed plus the first protocol error.
func parseAll(t testing.TB, data []byte, chunk int) ([]string, error) {
	var p Parser
	p.MaxBulkLen = 512 << 20
	var out []string
	var buf []byte
	for off := 0; off < len(data); {
		end := min(off+chunk, len(data))
		buf = append(buf, data[off:end]...)
		off = end
		for {
			args, n, err := p.Parse(buf, nil)
			if errors.Is(err, ErrIncomplete) {
				break
			}
			if err != nil {
				return out, err
			}
			if len(args) > 0 {
				parts := make([]string, len(args))
				for i, a := range args {
					parts[i] = string(a)
				}
				out = append(out, strings.Join(parts, "|"))
			}
			buf = buf[n:]
		}
	}
	return out, nil
}

func TestParseEverySplitPoint(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n", []string{"SET|k|hello"}},
		{"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", []string{"PING", "ECHO|"}},
		{"PING\r\nset a \"b c\"\n\r\n", []string{"PING", "set|a|b c"}},
		{"*0\r\n*-1\r\nGET x\r\n", []string{"GET|x"}},
		{"echo \"\\x41\\n\" 'it\\'s'\r\n", []string{"echo|A\n|it's"}},
		{"*2\r\n$3\r\nGET\r\n$4\r\na\r\nb\r\n", []string{"GET|a\r\nb"}},
	}
	for _, c := range cases {
		for chunk := 1; chunk <= len(c.in); chunk++ {
			got, err := parseAll(t, []byte(c.in), chunk)
			if err != nil {
				t.Fatalf("%q chunk %d: %v", c.in, chunk, err)
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("%q chunk %d: got %q want %q", c.in, chunk, got, c.want)
			}
		}
	}
}

func TestProtocolErrors(t *testing.T) {
	cases := []struct {
		in, msg string
		unauth  bool
	}{
		{"*abc\r\n", "invalid multibulk length", false},
		{"*2147483648\r\n", "invalid multibulk length", false},
		{"*1\r\nfoo\r\n", "expected '$', got 'f'", false},
		{"*1\r\n$-5\r\n", "invalid bulk length", false},
		{"*1\r\n$x\r\n", "invalid bulk length", false},
		{"set a \"b\r\n", "unbalanced quotes in request", false},
		{"set a \"b\"c\r\n", "unbalanced quotes in request", false},
		{"*11\r\n", "unauthenticated multibulk length", true},
		{"*1\r\n$16385\r\n", "unauthenticated bulk length", true},
		{strings.Repeat("a", MaxInlineSize+1), "too big inline request", false},
		{"*" + strings.Repeat("1", MaxInlineSize+1), "too big mbulk count string", false},
		{"*1\r\n$" + strings.Repeat("1", MaxInlineSize+1), "too big bulk count string", false},
	}
	for _, c := range cases {
		var p Parser
		p.MaxBulkLen = 512 << 20
		p.Unauth = c.unauth
		_, _, err := p.Parse([]byte(c.in), nil)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Msg != c.msg {
			t.Errorf("%.40q: got %v, want %q", c.in, err, c.msg)
		}
	}
}

func TestBulkLimit(t *testing.T) {
	p := Parser{MaxBulkLen: 10}
	_, _, err := p.Parse([]byte("*1\r\n$11\r\n"), nil)
	if err == nil || err.Error() != "Protocol error: invalid bulk length" {
		t.Fatalf("got %v", err)
	}
}

func TestWriterRESP2And3(t *testing.T) {
	for _, c := range []struct {
		proto int
		want  string
	}{
		{2, "$-1\r\n*-1\r\n*4\r\n+a\r\n:1\r\n$3\r\n1.5\r\n:1\r\n*2\r\n$1\r\nx\r\n-ERR a b\r\n"},
		{3, "_\r\n_\r\n%2\r\n+a\r\n:1\r\n,1.5\r\n#t\r\n~2\r\n$1\r\nx\r\n-ERR a b\r\n"},
	} {
		w := Writer{Proto: c.proto}
		w.Null()
		w.NullArray()
		w.Map(2)
		w.Status("a")
		w.Int(1)
		w.Double(1.5)
		w.Bool(true)
		d := w.Defer()
		w.BulkString("x")
		w.Error("ERR a\nb")
		// the deferred set holds the bulk and the error
		w.FillSet(d, 2)
		if got := string(w.Buf); got != c.want {
			t.Errorf("proto %d: got %q want %q", c.proto, got, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n", "PING\r\n", "set a \"b\\x41\"\r\n",
		"*-1\r\n", "*1\r\n$-1\r\n", "'a\\'b'\n", "*2\r\n$1\r\na\r\n$99999999999\r\n",
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		c := int(chunk)%16 + 1
		whole, errWhole := parseAll(t, data, len(data)+1)
		split, errSplit := parseAll(t, data, c)
		// the result must not depend on how the bytes were split across reads
		if (errWhole == nil) != (errSplit == nil) || !bytes.Equal([]byte(strings.Join(whole, "\n")), []byte(strings.Join(split, "\n"))) {
			t.Fatalf("split %d changed result: %q/%v vs %q/%v", c, whole, errWhole, split, errSplit)
		}
	})
}

// FuzzParseWhole checks the one-pass fast path against the incremental parser on the same
// bytes: whenever the fast path accepts a request, the incremental parser must return the
// same arguments and consume the same bytes.
func FuzzParseWhole(f *testing.F) {
	for _, s := range []string{
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n", "*1\r\n$0\r\n\r\n", "*2\r\n$1\r\na\r\n$99999999999\r\n",
		"*1\r\n$3\rxabc\r\n", "*01\r\n$003\r\nabcXY", "*2\r\n$1\r\na\r\n", "*11\r\n", "*1\r\n$16385\r\n",
		"*1\r\n$999999999999999\r\n", "*1\r\n$1125899906842625\r\n",
	} {
		f.Add([]byte(s), false, int64(512<<20))
	}
	f.Fuzz(func(t *testing.T, data []byte, unauth bool, maxBulk int64) {
		fast := Parser{MaxBulkLen: maxBulk, Unauth: unauth}
		args, n, ok := fast.parseWhole(data, nil)
		if !ok {
			if len(args) != 0 || n != 0 {
				t.Fatalf("gave up but returned %q, %d", args, n)
			}
			return
		}
		slow := Parser{MaxBulkLen: maxBulk, Unauth: unauth}
		want, wn, err := slow.parseIncremental(data, nil)
		if err != nil || wn != n || len(want) != len(args) {
			t.Fatalf("fast %q/%d, incremental %q/%d/%v", args, n, want, wn, err)
		}
		for i := range args {
			if !bytes.Equal(args[i], want[i]) || cap(args[i]) != cap(want[i]) {
				t.Fatalf("argument %d: fast %q, incremental %q", i, args[i], want[i])
			}
		}
	})
}

func BenchmarkParseSET(b *testing.B) {
	req := []byte("*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000000\r\n$3\r\nxxx\r\n")
	p := Parser{MaxBulkLen: 512 << 20}
	args := make([][]byte, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.Parse(req, args[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
