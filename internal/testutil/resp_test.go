package testutil

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

var validReplies = []string{
	"+OK\r\n",
	"-ERR unknown command 'foo', with args beginning with: \r\n",
	":-9223372036854775808\r\n",
	"$5\r\nhello\r\n",
	"$0\r\n\r\n",
	"$-1\r\n",
	"$4\r\na\r\nb\r\n", // CRLF inside a bulk string is data
	"*-1\r\n",
	"*0\r\n",
	"*2\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n",
	"_\r\n",
	",3.14\r\n",
	",inf\r\n",
	"#t\r\n",
	"(3492890328409238509324850943850943825024385\r\n",
	"!21\r\nSYNTAX invalid syntax\r\n",
	"=15\r\ntxt:Some string\r\n",
	"%2\r\n+first\r\n:1\r\n+second\r\n*1\r\n_\r\n",
	"~3\r\n+a\r\n+b\r\n+c\r\n",
	">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
	"|1\r\n+ttl\r\n:3600\r\n$5\r\nvalue\r\n",
}

// TestReadReplyBoundaries checks that each reply is read exactly, even with
// another reply right behind it and with the bytes arriving one at a time.
func TestReadReplyBoundaries(t *testing.T) {
	for _, want := range validReplies {
		stream := want + "+NEXT\r\n"
		for _, r := range []io.Reader{strings.NewReader(stream), iotestOneByte(stream)} {
			br := bufio.NewReaderSize(r, 16)
			got, err := readReply(br, nil, 0)
			if err != nil {
				t.Fatalf("readReply(%q): %v", want, err)
			}
			if string(got) != want {
				t.Fatalf("readReply(%q) = %q", want, got)
			}
			next, err := readReply(br, nil, 0)
			if err != nil || string(next) != "+NEXT\r\n" {
				t.Fatalf("after %q: next reply %q, %v", want, next, err)
			}
		}
	}
}

type oneByte struct{ r io.Reader }

func (o oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func iotestOneByte(s string) io.Reader { return oneByte{strings.NewReader(s)} }

func TestReadReplyRejectsMalformed(t *testing.T) {
	bad := []string{
		"OK\r\n",               // no type byte
		"+OK\n",                // LF without CR
		"$5\r\nhi\r\n",         // short bulk
		"$2\r\nhiXX",           // bulk not followed by CRLF
		"$x\r\n",               // bad length
		"$-2\r\n",              // negative length other than -1
		"~-1\r\n",              // RESP3 sets have no -1 null
		"$?\r\n;4\r\nHell\r\n", // streamed strings are not supported
		"*3\r\n:1\r\n:2\r\n",   // truncated array
		"\r\n",
		"",
		strings.Repeat("*1\r\n", maxDepth+2) + ":1\r\n",
	}
	for _, in := range bad {
		got, err := readReply(bufio.NewReader(strings.NewReader(in)), nil, 0)
		if err == nil {
			t.Errorf("readReply(%q) = %q, want an error", in, got)
		}
	}
}

func TestSplitReply(t *testing.T) {
	tests := []struct {
		in     string
		header string
		elems  []string
	}{
		{"$3\r\nabc\r\n", "$3\r\nabc\r\n", nil},
		{"*0\r\n", "*0\r\n", nil},
		{"*2\r\n$1\r\na\r\n*1\r\n:1\r\n", "*2\r\n", []string{"$1\r\na\r\n", "*1\r\n:1\r\n"}},
		{"%1\r\n+k\r\n_\r\n", "%1\r\n", []string{"+k\r\n", "_\r\n"}},
		{"|1\r\n+a\r\n+b\r\n:7\r\n", "|1\r\n", []string{"+a\r\n", "+b\r\n", ":7\r\n"}},
	}
	for _, tt := range tests {
		h, elems, err := SplitReply([]byte(tt.in))
		if err != nil {
			t.Fatalf("SplitReply(%q): %v", tt.in, err)
		}
		if string(h) != tt.header || len(elems) != len(tt.elems) {
			t.Fatalf("SplitReply(%q) = %q, %q", tt.in, h, elems)
		}
		for i := range elems {
			if string(elems[i]) != tt.elems[i] {
				t.Fatalf("SplitReply(%q) element %d = %q, want %q", tt.in, i, elems[i], tt.elems[i])
			}
		}
	}
	for _, in := range []string{"*1\r\n", "+OK\r\n+OK\r\n", "*1\r\n:1\r\n:2\r\n"} {
		if _, _, err := SplitReply([]byte(in)); !errors.Is(err, ErrProtocol) && err != io.EOF && err != io.ErrUnexpectedEOF {
			t.Errorf("SplitReply(%q): err = %v, want a protocol or EOF error", in, err)
		}
	}
}

func TestEncodeCommand(t *testing.T) {
	got := EncodeCommand("SET", "k", "", "a\r\nb")
	want := "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n$4\r\na\r\nb\r\n"
	if string(got) != want {
		t.Fatalf("EncodeCommand = %q, want %q", got, want)
	}
}

// TestRawConnTimeout proves ReadReply gives up instead of hanging when the
// peer sends only part of a reply.
func TestRawConnTimeout(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	go func() {
		server.Write([]byte("$10\r\nabc"))
	}()
	rc := NewRawConn(client)
	rc.Timeout = 100 * time.Millisecond
	start := time.Now()
	got, err := rc.ReadReply()
	if err == nil {
		t.Fatalf("ReadReply = %q, want a timeout", got)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("ReadReply took %v", time.Since(start))
	}
	if !bytes.HasPrefix(got, []byte("$10\r\n")) {
		t.Logf("partial bytes: %q", got)
	}
}

func TestBulk(t *testing.T) {
	for raw, want := range map[string]string{"$5\r\nhello\r\n": "hello", "$0\r\n\r\n": "", "$4\r\na\r\nb\r\n": "a\r\nb"} {
		got, ok := Bulk([]byte(raw))
		if !ok || string(got) != want {
			t.Errorf("Bulk(%q) = %q, %v; want %q", raw, got, ok, want)
		}
	}
	for _, raw := range []string{"$-1\r\n", "+OK\r\n", "$5\r\nhell\r\n", "$5\r\nhello\r\nX", "$x\r\nhello\r\n", "$5\nhello\r\n", "", "$"} {
		if got, ok := Bulk([]byte(raw)); ok {
			t.Errorf("Bulk(%q) = %q, true; want not ok", raw, got)
		}
	}
}

// TestPipeline proves replies come back in command order, one per command,
// even when they arrive split across reads.
func TestPipeline(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	go func() {
		r := bufio.NewReader(server)
		for i := 0; i < 3; i++ {
			if _, err := readReply(r, nil, 0); err != nil {
				return
			}
		}
		for _, b := range []byte("+a\r\n:2\r\n$1\r\nc\r\n") {
			server.Write([]byte{b})
		}
	}()
	rc := NewRawConn(client)
	rc.Timeout = 5 * time.Second
	got, err := rc.Pipeline([]string{"ECHO", "a"}, []string{"INCR", "k"}, []string{"GET", "c"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"+a\r\n", ":2\r\n", "$1\r\nc\r\n"}
	if len(got) != len(want) {
		t.Fatalf("Pipeline returned %d replies, want %d", len(got), len(want))
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("reply %d = %q, want %q", i, got[i], want[i])
		}
	}
}
