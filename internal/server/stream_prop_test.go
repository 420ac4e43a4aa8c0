package server

import "testing"

// TestXAddPropagation: what XADD sends to the AOF and replicas when it chose the ID or
// trimmed approximately, as Redis rewrites it: the ID it generated, and "~ N" as "= <length
// after trimming>". The reply carries the same ID.
func TestXAddPropagation(t *testing.T) {
	e := newKVEnv(t, "stream-node-max-entries", "2")
	e.now = 1700000000000
	e.do("SET", "x", "1")
	e.stream.take(t)

	e.expect(kvBulk("1700000000000-0"), "XADD", "s", "*", "f", "v")
	e.expectStream("XADD s 1700000000000-0 f v")
	e.expect(kvBulk("1700000000000-1"), "XADD", "s", "1700000000000-*", "f", "v")
	e.expectStream("XADD s 1700000000000-1 f v")
	e.expect(kvBulk("5-5"), "XADD", "t", "5-5", "f", "v")
	e.expectStream("XADD t 5-5 f v")

	// Three entries in nodes of two: "~ 1" drops the first node and leaves one entry.
	e.expect(kvBulk("1700000000000-2"), "XADD", "s", "MAXLEN", "~", "1", "*", "f", "v")
	e.expectStream("XADD s MAXLEN = 1 1700000000000-2 f v")
	e.expect(kvInt(1), "XLEN", "s")
	e.expect(kvInt(1), "XTRIM", "s", "MAXLEN", "~", "0")
	e.expectStream("XTRIM s MAXLEN = 0")
	e.expect(kvInt(0), "XTRIM", "s", "MAXLEN", "~", "0")
	e.expectStream()

	// The arguments of the request itself are left as they were sent.
	argv := benchArgv("XADD", "u", "MAXLEN", "~", "9", "*", "f", "v")
	e.s.mu.Lock()
	e.c.argv = argv
	e.s.processCommand(e.c)
	e.s.afterCommands()
	e.c.w.Buf = e.c.w.Buf[:0]
	e.s.mu.Unlock()
	if got := string(argv[3]) + " " + string(argv[4]) + " " + string(argv[5]); got != "~ 9 *" {
		t.Errorf("request arguments changed to %q", got)
	}
	e.expectStream("XADD u MAXLEN = 1 1700000000000-0 f v")
}
