package server

import "time"

// Per-request costs of the dispatch path that are paid once per batch or once per server
// instead of once per command: the command-name index and the chained command clock.

// ioState is the server's connection and dispatch state (one field of Server).
type ioState struct {
	index cmdIndex

	// chain is true while executeBatch runs a batch: a top-level command then starts at the
	// instant the previous one ended (clock), so each costs one clock read instead of two.
	chain bool
	clock time.Duration // monoNow() at the end of the last top-level command of the batch

	loops loopSet // the event loops serving client sockets (eventloop_linux.go)
}

// cmdIndex maps command names to top-level commands with open addressing and a hash that
// folds ASCII case as it goes, so a lookup neither lower-cases into a buffer nor hashes
// twice. It is built once from the server's command table, which never changes.
type cmdIndex struct {
	slots   []*Command
	mask    uint32
	longest int
}

func foldHash(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c|0x20)) * 16777619
	}
	return h
}

func (x *cmdIndex) build(table map[string]*Command) {
	n := 1
	for n < 4*len(table) {
		n <<= 1
	}
	x.slots = make([]*Command, n)
	x.mask = uint32(n - 1)
	for name, cmd := range table {
		x.longest = max(x.longest, len(name))
		i := foldHash([]byte(name)) & x.mask
		for x.slots[i] != nil {
			i = (i + 1) & x.mask
		}
		x.slots[i] = cmd
	}
}

// find returns the top-level command named name in any letter case, or nil.
func (x *cmdIndex) find(name []byte) *Command {
	if len(name) > x.longest {
		return nil
	}
	for i := foldHash(name) & x.mask; ; i = (i + 1) & x.mask {
		cmd := x.slots[i]
		if cmd == nil {
			return nil
		}
		if equalFoldLower(name, cmd.FullName) {
			return cmd
		}
	}
}

// equalFoldLower compares b in any ASCII case with the lower-case name.
func equalFoldLower(b []byte, name string) bool {
	if len(b) != len(name) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

// commandStart is when a command call() is about to run began: the end of the previous
// top-level command of the same batch when there is one, else now.
func (s *Server) commandStart(top bool) time.Duration {
	if top && s.io.chain {
		return s.io.clock
	}
	return monoNow()
}

// commandEnd reads the clock once after a command and hands the reading to the next one.
func (s *Server) commandEnd(top bool) time.Duration {
	end := monoNow()
	if top {
		s.io.clock = end
	}
	return end
}

// restartClock is called after anything between two commands of a batch that may take long
// (a pause, a blocked wait, serving blocked clients), so the wait is not counted as the next
// command's run time.
func (s *Server) restartClock() { s.io.clock = monoNow() }
