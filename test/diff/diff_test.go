package diff

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

// maxReported bounds the mismatches printed per file and protocol, so that
// one broken command family does not bury everything else.
const maxReported = 40

// verbose (SARD_DIFF_VERBOSE=1) logs every command with the oracle's reply,
// for reading what a new script actually exercises.
var verbose = os.Getenv("SARD_DIFF_VERBOSE") == "1"

// fileResult is one line of the summary printed at the end of TestDiff.
type fileResult struct {
	name                        string
	compared, ignored, mismatch int
	aborted                     bool
}

// TestDiff runs every testdata/*.txt script against the server under test and
// a real redis-server, over RESP2 and RESP3. With SARD_DIFF_PEER=redis the
// server under test is a second redis-server, which checks the harness and
// the scripts themselves.
func TestDiff(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	sort.Strings(files)
	scripts := map[string][]Step{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		steps, err := ParseScript(filepath.Base(f), data)
		if err != nil {
			t.Fatal(err)
		}
		scripts[f] = steps
	}

	oracle := testutil.StartRedis(t)
	var subject *testutil.Server
	switch peer := os.Getenv("SARD_DIFF_PEER"); peer {
	case "", "sard":
		subject = testutil.StartSard(t)
	case "redis":
		subject = testutil.StartRedis(t)
		subject.Name = "redis-peer"
	default:
		t.Fatalf("SARD_DIFF_PEER=%q: want sard or redis", peer)
	}

	var results []fileResult
	for _, f := range files {
		base := filepath.Base(f)
		t.Run(base, func(t *testing.T) {
			for _, proto := range []int{2, 3} {
				t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
					r := fileResult{name: fmt.Sprintf("%s/resp%d", base, proto), aborted: true}
					defer func() { results = append(results, r) }()
					for _, s := range []*testutil.Server{oracle, subject} {
						if !s.Running() {
							t.Logf("%s is down (crashed in an earlier script?); starting it again", s.Name)
							if err := s.TryStart(); err != nil {
								t.Fatal(err)
							}
						}
					}
					runScript(t, scripts[f], proto, oracle, subject, &r)
					r.aborted = false
					t.Logf("%s: %d commands compared, %d sent without comparing, %d mismatches",
						r.name, r.compared, r.ignored, r.mismatch)
				})
			}
		})
	}

	var sb strings.Builder
	total := fileResult{}
	for _, r := range results {
		status := ""
		if r.aborted {
			status = "  ABORTED"
		}
		fmt.Fprintf(&sb, "\n  %-28s %5d compared %4d ignored %4d mismatches%s", r.name, r.compared, r.ignored, r.mismatch, status)
		total.compared += r.compared
		total.ignored += r.ignored
		total.mismatch += r.mismatch
	}
	t.Logf("%s vs %s:%s\n  %-28s %5d compared %4d ignored %4d mismatches",
		subject.Name, oracle.Name, sb.String(), "total", total.compared, total.ignored, total.mismatch)
}

// side is one server's connection while a script runs.
type side struct {
	srv   *testutil.Server
	proto int
	conn  *testutil.RawConn
	// others holds the connections a !conn directive switched away from, by number; the
	// script's first connection is number 1.
	others map[int]*testutil.RawConn
	cur    int
}

// use makes connection n current, opening it (on DB 0, in the script's protocol) the first
// time.
func (s *side) use(t testing.TB, n int) {
	t.Helper()
	if n == s.cur {
		return
	}
	if s.others == nil {
		s.others = map[int]*testutil.RawConn{}
	}
	s.others[s.cur] = s.conn
	s.conn, s.cur = s.others[n], n
	delete(s.others, n)
	if s.conn == nil {
		s.dial(t)
	}
}

func (s *side) closeAll() {
	s.conn.Close()
	for n, c := range s.others {
		c.Close()
		delete(s.others, n)
	}
}

func (s *side) do(args ...string) ([]byte, error) {
	return s.wrap(s.conn.Do(args...))
}

func (s *side) wrap(reply []byte, err error) ([]byte, error) {
	if err != nil {
		return reply, fmt.Errorf("%s on %s: %w (partial reply %q)", s.srv.Name, s.srv.Addr, err, reply)
	}
	return reply, nil
}

// rawReply reads one reply for !raw and !read, where the server closing the
// connection (as it does after a protocol error) is an outcome to compare.
func (s *side) rawReply() ([]byte, error) {
	reply, err := s.conn.ReadReply()
	if err != nil && len(reply) == 0 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		return []byte(closedReply), nil
	}
	return s.wrap(reply, err)
}

// closedReply stands in for a reply when the server hung up.
const closedReply = "(connection closed)"

// connect opens a fresh connection and switches it to the script's protocol.
func (s *side) connect(t testing.TB) {
	t.Helper()
	if s.conn != nil {
		s.closeAll()
	}
	s.cur = 1
	s.dial(t)
}

func (s *side) dial(t testing.TB) {
	t.Helper()
	s.conn = testutil.DialRaw(t, s.srv.Addr)
	if s.proto == 3 {
		reply, err := s.do("HELLO", "3")
		if err != nil || !bytes.HasPrefix(reply, []byte("%")) {
			t.Fatalf("%s: HELLO 3 = %q, %v", s.srv.Name, reply, err)
		}
	}
}

func (s *side) reset(t testing.TB) {
	t.Helper()
	for _, cmd := range [][]string{{"FLUSHALL"}, {"SELECT", "0"}} {
		reply, err := s.do(cmd...)
		if err != nil || string(reply) != "+OK\r\n" {
			t.Fatalf("%s: %s = %q, %v", s.srv.Name, strings.Join(cmd, " "), reply, err)
		}
	}
}

func runScript(t testing.TB, steps []Step, proto int, oracle, subject *testutil.Server, r *fileResult) {
	want := &side{srv: oracle, proto: proto}
	got := &side{srv: subject, proto: proto}
	for _, s := range []*side{want, got} {
		s.connect(t)
		s.reset(t)
	}
	defer func() {
		want.closeAll()
		got.closeAll()
	}()

	for _, st := range steps {
		if st.Proto != 0 && st.Proto != proto {
			continue
		}
		var wantReply, gotReply []byte
		var errW, errG error
		switch st.Kind {
		case Sleep:
			time.Sleep(st.Pause)
			continue
		case Reset:
			want.reset(t)
			got.reset(t)
			continue
		case Reconnect:
			want.connect(t)
			got.connect(t)
			continue
		case Conn:
			want.use(t, st.Conn)
			got.use(t, st.Conn)
			continue
		case Send:
			if errW = want.conn.Send(st.Bytes); errW == nil {
				errG = got.conn.Send(st.Bytes)
			}
			if errW != nil || errG != nil {
				t.Fatalf("%s: %s\n  send failed: %v %v", st.Where(), st.Command(), errW, errG)
			}
			continue
		case Raw, Read:
			if st.Kind == Raw {
				want.conn.Send(st.Bytes)
				got.conn.Send(st.Bytes)
			}
			wantReply, errW = want.rawReply()
			if errW == nil {
				gotReply, errG = got.rawReply()
			}
		default:
			wantReply, errW = want.do(st.Args...)
			if errW == nil {
				gotReply, errG = got.do(st.Args...)
			}
		}
		if errW != nil {
			t.Fatalf("%s: %s\n  %v", st.Where(), st.Command(), errW)
		}
		if errG != nil {
			crash := ""
			if testutil.Poll(time.Second, func() bool { return !subject.Running() }) {
				crash = fmt.Sprintf("\n  %s exited; the end of its log:\n%s", subject.Name, subject.LogTail(40))
			}
			t.Fatalf("%s: %s\n  %v\n  %s replied %q%s", st.Where(), st.Command(), errG, oracle.Name, wantReply, crash)
		}
		if verbose {
			t.Logf("%s: %s\n  %q", st.Where(), st.Command(), wantReply)
		}
		if st.Mode == Ignore {
			r.ignored++
			continue
		}
		r.compared++
		if ok, why := Compare(st, wantReply, gotReply); !ok {
			r.mismatch++
			if r.mismatch <= maxReported {
				t.Errorf("%s: %s\n  %s\n  %-10s %q\n  %-10s %q", st.Where(), st.Command(), why,
					subject.Name+":", gotReply, oracle.Name+":", wantReply)
			} else if r.mismatch == maxReported+1 {
				t.Errorf("more than %d mismatches; counting the rest silently", maxReported)
			}
		}
	}
}

// recorder keeps a subtest's Errorf messages for TestHarnessReportsMismatch.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// TestHarnessReportsMismatch runs a script against two redis-servers that
// really differ (one tracks LFU frequencies) and checks that the harness
// notices, counts and reports the difference.
func TestHarnessReportsMismatch(t *testing.T) {
	a := testutil.StartRedis(t)
	b := testutil.StartRedis(t, "--maxmemory-policy", "allkeys-lfu")
	steps, err := ParseScript("probe.txt", []byte("SET k v\nGET k\nOBJECT FREQ k\n@type GET k\n"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{TB: t}
	var r fileResult
	runScript(rec, steps, 2, a, b, &r)
	if r.compared != 4 || r.mismatch != 1 || len(rec.errors) != 1 {
		t.Fatalf("compared %d, mismatched %d, errors %q; want 4, 1, one error", r.compared, r.mismatch, rec.errors)
	}
	msg := rec.errors[0]
	for _, want := range []string{"probe.txt:3", "OBJECT FREQ k", `"-ERR An LFU maxmemory policy is not selected`, `\r\n"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("report lacks %q:\n%s", want, msg)
		}
	}
}
