package server

import (
	"bufio"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

func TestAppendRepr(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"plain text", `"plain text"`},
		{"a\nb\r\t\a\b", `"a\nb\r\t\a\b"`},
		{`q"b\`, `"q\"b\\"`},
		{"\x00\x01\x7f\xff\xc3\xa9~ ", `"\x00\x01\x7f\xff\xc3\xa9~ "`},
	} {
		if got := string(appendRepr(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("appendRepr(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestMonitorLineTimestamp(t *testing.T) {
	now := time.Unix(1700000000, 5_000)
	got := string(monitorLine(nil, now, 3, "127.0.0.1:5", [][]byte{[]byte("get"), []byte("k")}))
	if want := "+1700000000.000005 [3 127.0.0.1:5] \"get\" \"k\"\r\n"; got != want {
		t.Errorf("monitorLine = %q, want %q", got, want)
	}
}

// monitorLineRE splits a MONITOR line into the parts that are the same on two servers.
var monitorLineRE = regexp.MustCompile(`^\+\d+\.\d{6} \[(\d+) 127\.0\.0\.1:\d+\] (.*)$`)

// monitorTranscript runs cmds on a fresh connection while a MONITOR connection records the
// stream, and returns the lines with the time and the client port taken out.
func monitorTranscript(t *testing.T, addr string, cmds [][]string) []string {
	t.Helper()
	mon, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	r := bufio.NewReader(mon)
	mon.Write(testutil.EncodeCommand("MONITOR"))
	mon.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, err := r.ReadString('\n'); err != nil || l != "+OK\r\n" {
		t.Fatalf("MONITOR replied %q, %v", l, err)
	}
	rc := testutil.DialRaw(t, addr)
	for _, c := range cmds {
		if _, err := rc.Do(c...); err != nil {
			t.Fatalf("%v: %v", c, err)
		}
	}
	// a marker command ends the transcript
	rc.Do("ECHO", "end-of-transcript")
	var out []string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the monitor stream: %v (so far %q)", err, out)
		}
		m := monitorLineRE.FindStringSubmatch(strings.TrimSuffix(l, "\r\n"))
		if m == nil {
			t.Fatalf("malformed MONITOR line %q", l)
		}
		if strings.Contains(l, "end-of-transcript") {
			return out
		}
		out = append(out, "["+m[1]+"] "+m[2])
	}
}

// TestMonitorMatchesRedis compares the MONITOR stream of sard and redis-server for the same
// commands: quoting, redaction, database numbers, what is left out (admin commands, refused
// commands).
func TestMonitorMatchesRedis(t *testing.T) {
	skipShort(t)
	oracle := testutil.StartRedis(t)
	sard := testutil.StartSard(t)
	cmds := [][]string{
		{"SET", "k", "v"},
		{"set", "bin", "a\nb\r\t\a\b\"\\\x01\xff\x00 é"},
		{"GET", "k"},
		{"SELECT", "5"},
		{"SET", "in5", "x"},
		{"INCR", "in5"}, // runs and fails: still shown
		{"SELECT", "0"},
		{"NOSUCHCOMMAND", "x"}, // refused: not shown
		{"GET"},                // wrong arity: not shown
		{"CONFIG", "GET", "maxmemory"},
		{"DEBUG", "SLEEP", "0"},
		{"SLOWLOG", "LEN"},
		{"CLIENT", "LIST"},
		{"CLIENT", "SETNAME", "watched"},
		{"AUTH", "nopass"},
		{"AUTH", "someone", "secret"},
		{"HELLO", "2", "AUTH", "default", "wrong"},
		{"HELLO", "2", "SETNAME", "again"},
		{"PING"},
		{"ECHO", ""},
		{"DEL", "k", "bin", "in5"},
	}
	want := monitorTranscript(t, oracle.Addr, cmds)
	got := monitorTranscript(t, sard.Addr, cmds)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("MONITOR streams differ\nsard:\n  %s\nredis:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestMonitorClientState: a monitor refuses keyspace commands, sees its own commands after
// their replies, and RESET makes it a normal client again.
func TestMonitorClientState(t *testing.T) {
	sard := testutil.StartSard(t)
	rc := testutil.DialRaw(t, sard.Addr)
	if r, _ := rc.Do("MONITOR"); string(r) != "+OK\r\n" {
		t.Fatalf("MONITOR = %q", r)
	}
	if r, _ := rc.Do("GET", "k"); string(r) != "-ERR Replica can't interact with the keyspace\r\n" {
		t.Errorf("GET from a monitor = %q", r)
	}
	if r, _ := rc.Do("PING"); string(r) != "+PONG\r\n" {
		t.Errorf("PING from a monitor = %q", r)
	}
	r, _ := rc.ReadReply()
	if !strings.HasSuffix(string(r), `] "PING"`+"\r\n") {
		t.Errorf("the monitor's own PING line = %q", r)
	}
	if r, _ := rc.Do("RESET"); string(r) != "+RESET\r\n" {
		t.Errorf("RESET = %q", r)
	}
	if r, _ := rc.Do("GET", "k"); string(r) != "$-1\r\n" {
		t.Errorf("GET after RESET = %q", r)
	}
}
