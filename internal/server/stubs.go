package server

import "time"

// Placeholders for subsystems that later issues fill in; each keeps its real signature so
// callers are already wired.

// Keyspace notification classes (notify-keyspace-events letters).
const (
	notifyGeneric = 1 << iota
	notifyString
	notifyExpired
	notifyEvicted
)

// Classes of the set and hash families (set.go, hash.go).
const (
	notifySet  = 1 << 16
	notifyHash = 1 << 17
)

// notifyKeyspace publishes a keyspace event; pub/sub and notify-keyspace-events arrive with
// the pub/sub issue.
func (s *Server) notifyKeyspace(class int, event string, key []byte, db int) {}

// unsubscribeAll drops every pub/sub subscription of c (pub/sub issue).
func (s *Server) unsubscribeAll(c *Client) { c.flags &^= flagPubSub }

// queueMulti queues a command inside MULTI (transactions issue).
func (s *Server) queueMulti(c *Client, cmd *Command) {
	argv := make([][]byte, len(c.argv))
	for i, a := range c.argv {
		argv[i] = append([]byte(nil), a...)
	}
	c.multiQ = append(c.multiQ, queuedCmd{cmd: cmd, argv: argv})
	c.w.Status("QUEUED")
}

// --- Temporary minimal definitions, replaced by client.go/monitor.go/slowlog.go/latency.go
// and server_cmds.go as those land (remove each from here when you implement it). ---

type slowlog struct{ maxLen int }

func (l *slowlog) maybeAdd(s *Server, c *Client, us int64) {}
func (l *slowlog) trim()                                   {}

type latencyMonitor struct{}

func (m *latencyMonitor) sample(s *Server, event string, d time.Duration) {}

type pauseState struct{}

func (s *Server) feedMonitors(c *Client, argv [][]byte) {}
func (s *Server) removeMonitor(c *Client)               { c.flags &^= flagMonitor }
func (s *Server) overOutputLimit(c *Client, n int) bool { return false }
