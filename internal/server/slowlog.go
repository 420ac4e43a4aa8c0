package server

import (
	"bytes"
	"strconv"
	"time"

	"github.com/sard-kv/sard/internal/num"
)

// The slow log: commands slower than slowlog-log-slower-than, newest first, at most
// slowlog-max-len of them (SLOWLOG GET / LEN / RESET).

// Redis's limits on what one slow log entry keeps of a command.
const (
	slowlogMaxArgc   = 32
	slowlogMaxString = 128
)

type slowlogEntry struct {
	id       int64
	time     int64 // unix seconds
	duration int64 // microseconds
	argv     [][]byte
	addr     string
	name     string
}

type slowlog struct {
	maxLen  int
	entries []slowlogEntry // newest first
	nextID  int64
}

// maybeAdd records the command c just ran if it took at least the configured threshold; a
// negative threshold disables the log and 0 logs every command.
func (l *slowlog) maybeAdd(s *Server, c *Client, us int64) {
	limit := s.cfg.Values.SlowlogLogSlowerThan
	if limit < 0 || us < limit {
		return
	}
	argv := loggedArgv(c.cmd, c.argv)
	n := min(len(argv), slowlogMaxArgc)
	e := slowlogEntry{
		id:       l.nextID,
		time:     time.Now().Unix(),
		duration: us,
		argv:     make([][]byte, n),
		addr:     c.addr,
		name:     c.name,
	}
	l.nextID++
	for i := 0; i < n; i++ {
		a := argv[i]
		switch {
		case i == n-1 && n < len(argv):
			// the last slot tells how many arguments were dropped, as Redis does
			a = []byte("... (" + strconv.Itoa(len(argv)-n+1) + " more arguments)")
		case len(a) > slowlogMaxString:
			a = append(bytes.Clone(a[:slowlogMaxString]), "... ("+strconv.Itoa(len(a)-slowlogMaxString)+" more bytes)"...)
		default:
			a = bytes.Clone(a)
		}
		e.argv[i] = a
	}
	l.entries = append(l.entries, slowlogEntry{})
	copy(l.entries[1:], l.entries)
	l.entries[0] = e
	l.trim()
}

// trim drops the oldest entries beyond maxLen.
func (l *slowlog) trim() {
	if len(l.entries) > l.maxLen {
		clear(l.entries[max(l.maxLen, 0):])
		l.entries = l.entries[:max(l.maxLen, 0)]
	}
}

var redacted = []byte("(redacted)")

// loggedArgv is the argument vector MONITOR and the slow log show: secrets are replaced by
// "(redacted)" (AUTH's arguments, HELLO's AUTH pair, MIGRATE's AUTH/AUTH2 passwords), as
// Redis 7.0 does. The result shares unredacted arguments with argv.
func loggedArgv(cmd *Command, argv [][]byte) [][]byte {
	if cmd == nil {
		return argv
	}
	var secret []int
	switch cmd.FullName {
	case "auth":
		for i := 1; i < len(argv); i++ {
			secret = append(secret, i)
		}
	case "hello":
		for i := 2; i < len(argv); i++ {
			if bytes.EqualFold(argv[i], []byte("auth")) && i+2 < len(argv) {
				secret = append(secret, i+1, i+2)
				i += 2
			} else if bytes.EqualFold(argv[i], []byte("setname")) {
				i++
			}
		}
	case "migrate":
		for i := 6; i < len(argv); i++ {
			switch {
			case bytes.EqualFold(argv[i], []byte("auth")) && i+1 < len(argv):
				secret = append(secret, i+1)
				i++
			case bytes.EqualFold(argv[i], []byte("auth2")) && i+2 < len(argv):
				secret = append(secret, i+1, i+2)
				i += 2
			case bytes.EqualFold(argv[i], []byte("keys")):
				i = len(argv)
			}
		}
	}
	if len(secret) == 0 {
		return argv
	}
	out := append([][]byte(nil), argv...)
	for _, i := range secret {
		out[i] = redacted
	}
	return out
}

func slowlogGetCommand(c *Client) {
	if len(c.argv) > 3 {
		c.subcommandSyntaxError()
		return
	}
	count := int64(10)
	if len(c.argv) == 3 {
		v, ok := num.ParseInt64(c.argv[2])
		if !ok || v < -1 {
			c.w.Error("ERR count should be greater than or equal to -1")
			return
		}
		count = v
	}
	l := &c.srv.slowlog
	n := len(l.entries)
	if count >= 0 && count < int64(n) {
		n = int(count)
	}
	c.w.Array(n)
	for _, e := range l.entries[:n] {
		c.w.Array(6)
		c.w.Int(e.id)
		c.w.Int(e.time)
		c.w.Int(e.duration)
		c.w.Array(len(e.argv))
		for _, a := range e.argv {
			c.w.Bulk(a)
		}
		c.w.BulkString(e.addr)
		c.w.BulkString(e.name)
	}
}

func slowlogLenCommand(c *Client) { c.w.Int(int64(len(c.srv.slowlog.entries))) }

func slowlogResetCommand(c *Client) {
	l := &c.srv.slowlog
	clear(l.entries)
	l.entries = l.entries[:0]
	c.w.OK()
}

func slowlogHelpCommand(c *Client) {
	replyHelp(c, []string{
		"GET [<count>]",
		"    Show the <count> newest slow log entries (10 by default, -1 for all). Each entry",
		"    holds: id, unix time, duration in microseconds, the arguments, the client's",
		"    address and the client's name.",
		"LEN",
		"    Show how many entries the slow log holds.",
		"RESET",
		"    Empty the slow log.",
		"HELP",
		"    Print this help.",
	})
}

func init() {
	register(map[string]func(*Client){
		"slowlog|get":   slowlogGetCommand,
		"slowlog|len":   slowlogLenCommand,
		"slowlog|reset": slowlogResetCommand,
		"slowlog|help":  slowlogHelpCommand,
	})
}
