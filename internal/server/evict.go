package server

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"

	"github.com/sard-kv/sard/internal/commands"
)

// The memory gate: with maxmemory set and maxmemory-policy noeviction, commands that may
// grow the dataset (denyoom, and scripts per their shebang flags) are refused while used
// memory exceeds maxmemory, as Redis's processCommand does. Eviction policies are a later
// issue: under any other policy nothing is refused and nothing is evicted yet.
//
// Used memory is the bytes of heap objects (INFO used_memory): the keyspace arenas,
// entries and buckets, collection values, client buffers, Lua states. Like any garbage
// collected heap it also counts objects that died since the last collection (a deleted
// key's value until the collector finds it). So when the figure is over the limit the gate
// also starts a collection in the background, outside the command lock, and later
// commands are judged by what it leaves; collections so started take at most a tenth of
// the time (oomGCShare) and start at most every oomGCInterval.
//
// The gatekeeper's check on a replica whose master link is down
// (replica-serve-stale-data no) lives here too: both judge the server's state, not the
// command's arguments.

const (
	errOOM        = "OOM command not allowed when used memory > 'maxmemory'."
	errMasterDown = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."

	oomGCInterval = 100 * time.Millisecond
	oomGCShare    = 10
)

// memGate is the state of the memory gate, under the server lock but for the collector
// fields, which its goroutine sets.
type memGate struct {
	usedAt int64 // s.now of the cached reading; 0: none
	used   int64
	sample [1]metrics.Sample
	// oomAtStart is Redis's pre_command_oom_state: whether memory was over the limit when
	// the running command started. A script refuses its first denyoom redis.call by it.
	oomAtStart bool

	gcRunning atomic.Bool
	gcNext    atomic.Int64 // monoNow before which no collection is started
}

// usedMemory reads the heap's object bytes, once per command time snapshot: a read costs
// a quarter of a microsecond, more than a pipelined SET.
func (s *Server) usedMemory() int64 {
	g := &s.mem
	if g.usedAt != 0 && g.usedAt == s.now {
		return g.used
	}
	if g.sample[0].Name == "" {
		g.sample[0].Name = "/memory/classes/heap/objects:bytes"
	}
	metrics.Read(g.sample[:])
	g.used = 0
	if g.sample[0].Value.Kind() == metrics.KindUint64 {
		g.used = int64(g.sample[0].Value.Uint64())
	}
	g.usedAt = s.now
	return g.used
}

// maxmemoryGated reports whether the gate is active: a limit is set, the policy is
// noeviction, and this server is not a replica (replica-ignore-maxmemory yes, Redis's
// default: a replica is its master's exact copy).
func (s *Server) maxmemoryGated() bool {
	return s.cfg.MaxMemory != 0 && s.cfg.MaxMemoryPolicy == "noeviction" && s.repl.masterHost == ""
}

// overMaxmemory reports whether used memory exceeds maxmemory; when it does, garbage may
// be part of the excess, so a collection is started.
func (s *Server) overMaxmemory() bool {
	if uint64(s.usedMemory()) <= s.cfg.MaxMemory {
		return false
	}
	s.mem.collectSoon()
	return true
}

// collectSoon starts a garbage collection in the background unless one runs or ran too
// recently.
func (g *memGate) collectSoon() {
	if time.Duration(g.gcNext.Load()) > monoNow() || !g.gcRunning.CompareAndSwap(false, true) {
		return
	}
	go func() {
		start := monoNow()
		runtime.GC()
		end := monoNow()
		g.gcNext.Store(int64(end + max(oomGCInterval, oomGCShare*(end-start))))
		g.gcRunning.Store(false)
	}()
}

// oomDenied is the gatekeeper's memory check (Redis's processCommand with maxmemory set):
// a denyoom command, or any command but EXEC, DISCARD, QUIT and RESET inside MULTI, is
// refused while memory is over the limit. It also records the state scripts consult.
func (s *Server) oomDenied(c *Client, cmd *Command) bool {
	s.mem.oomAtStart = false
	if !s.maxmemoryGated() || c.flags&flagMaster != 0 {
		return false
	}
	reject := s.commandFlags(c, cmd)&commands.FlagDenyOOM != 0
	if cmd.FullName == "exec" {
		for _, q := range c.multiQ {
			if s.flagsFor(q.cmd, q.argv)&commands.FlagDenyOOM != 0 {
				reject = true
				break
			}
		}
	}
	if c.flags&flagMulti != 0 {
		switch cmd.FullName {
		case "exec", "discard", "quit", "reset":
		default:
			reject = true
		}
	}
	if !reject && !s.isScriptCommand(cmd) && cmd.FullName != "exec" {
		return false // nothing reads the state: skip the reading
	}
	s.mem.oomAtStart = s.overMaxmemory()
	if s.mem.oomAtStart && reject {
		s.rejectCommand(c, cmd, errOOM)
		return true
	}
	return false
}

// staleReplica reports whether this is a replica whose master link is down while
// replica-serve-stale-data is no: only commands flagged stale may run.
func (s *Server) staleReplica() bool {
	return s.repl.masterHost != "" && !s.repl.linkUp && !s.cfgBool("replica-serve-stale-data")
}

// staleDenied is the gatekeeper's MASTERDOWN check.
func (s *Server) staleDenied(c *Client, cmd *Command) bool {
	if !s.staleReplica() {
		return false
	}
	deny := s.commandFlags(c, cmd)&commands.FlagStale == 0
	if !deny && cmd.FullName == "exec" {
		for _, q := range c.multiQ {
			if s.flagsFor(q.cmd, q.argv)&commands.FlagStale == 0 {
				deny = true
				break
			}
		}
	}
	if deny {
		s.rejectCommand(c, cmd, errMasterDown)
	}
	return deny
}
