package server

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sard-kv/sard/internal/commands"
)

// Command is an implemented command: its metadata from the declarative table plus the handler
// and the statistics INFO commandstats reports.
type Command struct {
	Spec     *commands.Spec
	FullName string // "get", "config|get"
	Proc     func(c *Client)
	Subs     map[string]*Command
	Parent   *Command

	calls, usec, rejected, failed int64
	lat                           *latencyHistogram // INFO latencystats, nil until first call
}

// handlers maps command names ("get", "config|get") to their procedures. Each family file
// registers its commands from an init function; the metadata comes from internal/commands.
var handlers = map[string]func(c *Client){}

func register(table map[string]func(c *Client)) {
	for name, proc := range table {
		if _, dup := handlers[name]; dup {
			panic("command registered twice: " + name)
		}
		handlers[name] = proc
	}
}

// buildCommandTable joins the handlers with their metadata. A handler without metadata is a
// programming error caught by the tests at start-up.
func buildCommandTable() map[string]*Command {
	table := make(map[string]*Command)
	names := make([]string, 0, len(handlers))
	for n := range handlers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		parent, sub, isSub := strings.Cut(name, "|")
		top := table[parent]
		if top == nil {
			spec := commands.Lookup(parent)
			if spec == nil {
				panic("no metadata for command " + parent)
			}
			top = &Command{Spec: spec, FullName: parent}
			table[parent] = top
		}
		if !isSub {
			top.Proc = handlers[name]
			continue
		}
		spec := top.Spec.Sub(sub)
		if spec == nil {
			panic("no metadata for subcommand " + name)
		}
		if top.Subs == nil {
			top.Subs = make(map[string]*Command)
		}
		top.Subs[sub] = &Command{Spec: spec, FullName: name, Proc: handlers[name], Parent: top}
	}
	return table
}

// lookupCommand finds the command for argv without allocating: top-level names through the
// case-folding index, subcommand names through a lower-cased copy on the stack.
func (s *Server) lookupCommand(argv [][]byte) (cmd *Command, unknownSub bool) {
	cmd = s.io.index.find(argv[0])
	if cmd == nil || cmd.Subs == nil || len(argv) < 2 {
		return cmd, false
	}
	var tmp [32]byte
	sub := cmd.Subs[string(lower(tmp[:0], argv[1]))]
	if sub == nil {
		return cmd, true
	}
	return sub, false
}

func lower(dst, b []byte) []byte {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// mustExecuteAlone reports whether a request must run before the rest of the pipeline is
// parsed: until a client authenticates, parsing limits depend on the outcome of AUTH/HELLO.
func (s *Server) mustExecuteAlone() bool {
	return s.requirePassSet()
}

// executeBatch runs every request parsed from one read, under one acquisition of the lock.
func (s *Server) executeBatch(c *Client) {
	s.lockBatch() // s.mu, announced to a background walk (snapshot_gate.go)
	t := time.Now()
	s.now = t.UnixMilli()
	s.io.chain, s.io.clock = true, t.Sub(processStart)
	if len(c.batch) > 1 {
		c.prefetchBatch()
	}
	start := 0
	for _, end := range c.batch {
		c.argv = c.argPool[start:end]
		start = end
		mark := len(c.w.Buf)
		s.processCommand(c)
		waited := c.bstate != nil || len(s.blk.ready) > 0
		if c.bstate != nil {
			c.detach() // the wait for the keys must not hold up the event loop
		}
		if !s.afterCommand(c) {
			break // the connection ended while blocked
		}
		if waited {
			s.restartClock()
		}
		if c.flags&(flagReplyOff|flagReplySkip) != 0 {
			s.dropReply(c, mark) // CLIENT REPLY OFF/SKIP: the reply is dropped, pushes stay
		}
		// As Redis's resetClient: SKIP covers one command, the one after CLIENT REPLY SKIP.
		c.flags &^= flagReplySkip
		if c.flags&flagReplySkipNext != 0 {
			c.flags = c.flags&^flagReplySkipNext | flagReplySkip
		}
		s.trackingAfterRequest(c)
		if c.flags&(flagCloseAfterReply|flagCloseASAP) != 0 {
			break
		}
	}
	s.io.chain = false
	c.argv = nil
	c.emit()
	s.afterCommands()
	s.aofSyncPoint(c)
	s.mu.Unlock()
}

// processCommand is the gatekeeper: every check that applies to all commands happens here,
// in Redis's order, before the command runs.
func (s *Server) processCommand(c *Client) {
	argv := c.argv
	cmd, unknownSub := s.lookupCommand(argv)
	if cmd == nil || (cmd.Proc == nil && !unknownSub && cmd.Subs == nil) {
		s.rejectCommand(c, nil, unknownCommandError(argv))
		return
	}
	if unknownSub || (cmd.Proc == nil && cmd.Subs != nil) {
		if len(argv) < 2 && cmd.Proc == nil {
			s.rejectCommand(c, nil, fmt.Sprintf(errWrongArgs, cmd.FullName))
			return
		}
		s.rejectCommand(c, nil, fmt.Sprintf(errUnknownSubcmd, truncateArg(argv[1]), strings.ToUpper(cmd.FullName)))
		return
	}
	c.cmd = cmd
	if a := cmd.Spec.Arity; (a > 0 && len(argv) != a) || len(argv) < -a {
		s.rejectCommand(c, cmd, fmt.Sprintf(errWrongArgs, cmd.FullName))
		return
	}
	flags := cmd.Spec.Flags
	if !c.authed && flags&commands.FlagNoAuth == 0 {
		s.rejectCommand(c, cmd, errNoAuth)
		return
	}
	if c.flags&flagMulti != 0 && flags&commands.FlagNoMulti != 0 {
		s.rejectCommand(c, cmd, errNotInMulti)
		return
	}
	// Redis skips the memory check while a script is busy: the client gets -BUSY, and the
	// state the running script started with (pre_command_oom_state) stays as it was.
	if s.cfg.MaxMemory != 0 && !s.scripts.busy && s.oomDenied(c, cmd) {
		return
	}
	// Redis refuses PING too, so monitoring notices the failed save.
	if isWriteCommand(c, cmd) || cmd.FullName == "ping" {
		if msg := s.diskErrorText(); msg != "" {
			s.rejectCommand(c, cmd, msg)
			return
		}
	}
	if s.readonlyReplicaDenied(c, cmd) {
		return
	}
	if c.flags&flagPubSub != 0 && c.w.Proto == 2 && !allowedInSubscribedContext(cmd) {
		s.rejectCommand(c, cmd, fmt.Sprintf("ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context", cmd.FullName))
		return
	}
	if s.repl.masterHost != "" && s.staleDenied(c, cmd) {
		return
	}
	if s.replicaDenied(c, cmd) {
		return
	}
	if s.persist.load.active && (flags&commands.FlagLoading == 0 || s.queuedLack(c, cmd, commands.FlagLoading)) ||
		s.persist.load.async && flags&commands.FlagNoAsyncLoading != 0 {
		s.rejectCommand(c, cmd, errLoading)
		return
	}
	// As Redis, -BUSY comes before a pause would hold the command; a script may also have
	// got slow while this client waited out a pause, so it is checked again after.
	if s.scripts.busy && s.scriptBusyReject(c, cmd) {
		return
	}
	if s.waitIfPaused(c, cmd); c.closed.Load() {
		return // killed while paused: the command never runs
	}
	if s.scripts.busy && s.scriptBusyReject(c, cmd) {
		return
	}
	if c.flags&flagMulti != 0 && !runsInsideMulti(cmd) {
		s.queueMulti(c, cmd)
		return
	}
	s.call(c, cmd)
}

func allowedInSubscribedContext(cmd *Command) bool {
	switch cmd.FullName {
	case "ping", "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "quit", "reset":
		return true
	}
	return false
}

func runsInsideMulti(cmd *Command) bool {
	switch cmd.FullName {
	case "exec", "discard", "multi", "watch", "quit", "reset":
		return true
	}
	return false
}

// queuedLack reports whether cmd is the EXEC of a transaction holding a command without
// flag (Redis's cmd_inv_flags): EXEC runs during a load only if all it queued may.
func (s *Server) queuedLack(c *Client, cmd *Command, flag commands.Flag) bool {
	if cmd.FullName != "exec" || c.flags&flagMulti == 0 {
		return false
	}
	for _, q := range c.multiQ {
		if s.flagsFor(q.cmd, q.argv)&flag == 0 {
			return true
		}
	}
	return false
}

// rejectCommand replies an error from the gatekeeper. Inside MULTI it also dooms the
// transaction, and a refused EXEC ends it, as Redis does (execCommandAbort).
func (s *Server) rejectCommand(c *Client, cmd *Command, msg string) {
	if cmd != nil {
		cmd.rejected++
	}
	if c.flags&flagMulti != 0 {
		c.multiErr = true
		if cmd != nil && cmd.FullName == "exec" {
			s.discardTransaction(c)
			msg = "EXECABORT Transaction discarded because of: " + msg
		}
	}
	c.w.Error(msg)
	s.countError(msg)
}

func unknownCommandError(argv [][]byte) string {
	// Redis quotes arguments until the list reaches 128 bytes, each cut to what is left.
	var b []byte
	for _, a := range argv[1:] {
		if len(b) >= 128 {
			break
		}
		a = cString(a[:min(len(a), 128-len(b))])
		b = append(b, '\'')
		b = append(b, a...)
		b = append(b, "' "...)
	}
	return fmt.Sprintf(errUnknownCommand, truncateArg(argv[0]), b)
}

// truncateArg limits an echoed argument to 128 bytes, as Redis's "%.128s" does.
func truncateArg(b []byte) string {
	if len(b) > 128 {
		b = b[:128]
	}
	return string(cString(b))
}

// cString cuts b at its first NUL byte: Redis formats these messages with C's "%s".
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// call runs a command and does the bookkeeping that follows every execution: statistics,
// the slow log, latency, MONITOR and propagation of its effects.
func (s *Server) call(c *Client, cmd *Command) {
	dirty := s.dirty
	replyStart := len(c.w.Buf)
	prevClient := s.curClient
	top := prevClient == nil
	start := s.commandStart(top)
	s.curClient = c
	s.trackingEnter(c, top)
	if s.persist.bgsave != nil && cmd.Spec.Flags&commands.FlagWrite != 0 {
		s.snapshotBeforeWrite(c, cmd)
	}
	cmd.Proc(c)
	s.curClient = prevClient
	dur := s.commandEnd(top) - start
	us := dur.Microseconds()
	cmd.calls++
	cmd.usec += us
	s.recordLatency(cmd, dur)
	s.stats.numCommands++
	if len(c.w.Buf) > replyStart && c.w.Buf[replyStart] == '-' {
		cmd.failed++
		s.countErrorReply(c.w.Buf[replyStart:])
	}
	if cmd.Spec.Flags&commands.FlagSkipSlowlog == 0 {
		s.slowlog.maybeAdd(s, c, us)
	}
	if cmd.Spec.Flags&commands.FlagFast != 0 {
		s.latency.sample(s, "fast-command", dur)
	} else {
		s.latency.sample(s, "command", dur)
	}
	// Redis 7.0 feeds MONITOR after the command ran: SELECT shows the new database
	if len(s.monitors) > 0 && cmd.Spec.Flags&(commands.FlagSkipMonitor|commands.FlagAdmin) == 0 {
		s.feedMonitors(c, c.argv)
	}
	if s.dirty != dirty && cmd.Spec.Flags&commands.FlagWrite != 0 {
		s.prop.command(c.db.id, c.argv, c.propArgv)
	}
	if s.dirty != dirty && s.blk.clients > 0 {
		s.signalWrites(c, cmd) // may wake clients blocked on the keys written
	}
	c.propArgv = nil
	c.lastCmd = cmd
	s.trackingExit(c, cmd, top)
}

// countErrorReply records an error reply in errorstats by its code (the first word).
func (s *Server) countErrorReply(reply []byte) {
	end := len(reply)
	for i := 1; i < len(reply); i++ {
		if reply[i] == ' ' || reply[i] == '\r' {
			end = i
			break
		}
	}
	s.errorStats[string(reply[1:end])]++
	s.stats.totalErrorReplies++
}

// countError records an error produced outside call() (the gatekeeper).
func (s *Server) countError(msg string) {
	code, _, _ := strings.Cut(msg, " ")
	s.errorStats[code]++
	s.stats.totalErrorReplies++
}

// afterCommands runs once per batch with the lock held: the effects of the batch leave
// through the propagation stream in one piece.
func (s *Server) afterCommands() {
	s.prop.flush()
	s.trackingBeforeSleep()
}

// prefetchBatch overlaps the cache misses of a pipeline's key lookups before it runs (see
// keyspace.Prefetch). The first argument of most commands is a key; for the others the
// loads are merely wasted.
func (c *Client) prefetchBatch() {
	keys := c.prefetch[:0]
	start := 0
	for _, end := range c.batch {
		if end-start >= 2 {
			keys = append(keys, c.argPool[start+1])
		}
		start = end
	}
	c.prefetch = keys
	c.srv.prefetchSink += c.db.ks.Prefetch(keys)
}
