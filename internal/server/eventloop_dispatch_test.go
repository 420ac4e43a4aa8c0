package server

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/sard-kv/sard/internal/config"
)

// dispatchClient is a client with no socket, for driving the input → parse → gatekeeper →
// call → reply path in process.
func dispatchClient(tb testing.TB) (*Server, *Client) {
	tb.Helper()
	cfg := config.New()
	if err := cfg.Set([][2]string{{"save", ""}}); err != nil {
		tb.Fatal(err)
	}
	log, err := NewLogger("", LogWarning)
	if err != nil {
		tb.Fatal(err)
	}
	s := New(cfg, log)
	c := &Client{srv: s, db: s.dbs[0], authed: true, user: "default", rbuf: make([]byte, readChunk)}
	c.w.Proto = 2
	return s, c
}

func encodeRequests(n int, args ...string) []byte {
	var b []byte
	for range n {
		b = fmt.Appendf(b, "*%d\r\n", len(args))
		for _, a := range args {
			b = fmt.Appendf(b, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	return b
}

// feed runs one read's worth of input through processInput and returns the output.
func feed(c *Client, in []byte) []byte {
	c.rend += copy(c.rbuf[c.rend:], in)
	c.processInput()
	out := c.out
	c.out = c.out[:0]
	return out
}

// benchDispatch measures what one request of a pipeline of depth costs between the read and
// the write: parsing, the gatekeeper, call()'s bookkeeping and the reply.
func benchDispatch(b *testing.B, depth int, args ...string) {
	_, c := dispatchClient(b)
	in := encodeRequests(depth, args...)
	feed(c, encodeRequests(1, "SET", "key:000000000000", "xxx"))
	b.ReportAllocs()
	for b.Loop() {
		feed(c, in)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*depth), "ns/req")
}

func BenchmarkDispatchSETP16(b *testing.B) { benchDispatch(b, 16, "SET", "key:000000000000", "xxx") }
func BenchmarkDispatchGETP16(b *testing.B) { benchDispatch(b, 16, "GET", "key:000000000000") }
func BenchmarkDispatchSETP1(b *testing.B)  { benchDispatch(b, 1, "SET", "key:000000000000", "xxx") }
func BenchmarkDispatchGETP1(b *testing.B)  { benchDispatch(b, 1, "GET", "key:000000000000") }

// TestDispatchNoAllocs: GET and SET of an existing key allocate nothing per request once the
// buffers have grown, whatever the case of the command name.
func TestDispatchNoAllocs(t *testing.T) {
	_, c := dispatchClient(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"SET", "key:000000000000", "xxx"}, "+OK\r\n"},
		{[]string{"get", "key:000000000000"}, "$3\r\nxxx\r\n"},
		{[]string{"GeT", "key:000000000000"}, "$3\r\nxxx\r\n"},
		{[]string{"set", "key:000000000000", "yyy"}, "+OK\r\n"},
		{[]string{"INCR", "counter"}, ""},
	} {
		in := encodeRequests(16, tc.args...)
		feed(c, in)
		out := feed(c, in)
		if tc.want != "" {
			if want := bytes.Repeat([]byte(tc.want), 16); !bytes.Equal(out, want) {
				t.Fatalf("%v: reply %q, want %q", tc.args, out, want)
			}
		}
		if n := testing.AllocsPerRun(100, func() { feed(c, in) }); n != 0 {
			t.Errorf("%v: %.1f allocations per pipeline of 16, want 0", tc.args, n)
		}
	}
}
