package server

import (
	"slices"
	"strconv"
	"time"
)

// MONITOR: every command executed is shown to the monitoring clients as one status line,
// "+<unix time with µs> [<db> <client address>] "arg" "arg" ...".

func monitorCommand(c *Client) {
	if c.flags&flagMonitor != 0 {
		return // already monitoring: Redis ignores the repeat without a reply
	}
	c.flags |= flagMonitor
	c.srv.monitors = append(c.srv.monitors, c)
	c.w.OK()
}

// removeMonitor stops c from receiving the monitor stream (RESET, disconnection).
func (s *Server) removeMonitor(c *Client) {
	c.flags &^= flagMonitor
	if i := slices.Index(s.monitors, c); i >= 0 {
		s.monitors = slices.Delete(s.monitors, i, i+1)
	}
}

// feedMonitors sends the command c just executed to every monitoring client. Secrets are
// redacted as in the slow log.
func (s *Server) feedMonitors(c *Client, argv [][]byte) {
	if len(s.monitors) == 0 {
		return
	}
	line := monitorLine(nil, time.Now(), c.db.id, s.monitorSource(c), loggedArgv(c.cmd, argv))
	for _, m := range s.monitors {
		if m == c {
			// a monitor's own command: its line follows its reply, which is not out yet
			c.w.Raw(line)
			continue
		}
		m.push(line)
	}
}

// monitorSource is the "[db source]" part: "lua" for commands a script runs (clients without
// a connection), "unix:<path>" for unix socket clients, the peer address otherwise.
func (s *Server) monitorSource(c *Client) string {
	switch {
	case c.conn == nil:
		return "lua"
	case c.flags&flagUnixSocket != 0:
		return "unix:" + s.cfg.Values.UnixSocket
	}
	return c.addr
}

func monitorLine(b []byte, now time.Time, db int, source string, argv [][]byte) []byte {
	b = append(b, '+')
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, '.')
	us := now.Nanosecond() / 1000
	for d := 100000; d > 1 && us < d; d /= 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(us), 10)
	b = append(b, " ["...)
	b = strconv.AppendInt(b, int64(db), 10)
	b = append(b, ' ')
	b = append(b, source...)
	b = append(b, ']')
	for _, a := range argv {
		b = append(b, ' ')
		b = appendRepr(b, a)
	}
	return append(b, '\r', '\n')
}

// appendRepr quotes s the way Redis's sdscatrepr does: C escapes for quote, backslash and
// the usual control characters, \xHH (lower case) for any other unprintable byte.
func appendRepr(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, ch := range s {
		switch ch {
		case '\\', '"':
			b = append(b, '\\', ch)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if ch >= ' ' && ch <= '~' {
				b = append(b, ch)
			} else {
				b = append(b, '\\', 'x', hex[ch>>4], hex[ch&15])
			}
		}
	}
	return append(b, '"')
}

func init() {
	register(map[string]func(*Client){
		"monitor": monitorCommand,
	})
}
