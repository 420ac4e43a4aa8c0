package server

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sard-kv/sard/internal/commands"
	"github.com/sard-kv/sard/internal/config"
	"github.com/sard-kv/sard/internal/num"
)

// The CLIENT command family, client pauses (CLIENT PAUSE, also used by shutdown and
// failover) and the client-output-buffer-limit classes.

// Client types, as CLIENT LIST TYPE and CLIENT KILL TYPE name them.
const (
	clientNormal = iota
	clientReplica
	clientPubSub
	clientMaster
)

// clientType classifies c the way Redis does for listing, killing and output limits: a
// MONITOR client counts as normal.
func clientType(c *Client) int {
	switch {
	case c.flags&flagMaster != 0:
		return clientMaster
	case c.flags&flagReplica != 0 && c.flags&flagMonitor == 0:
		return clientReplica
	case c.flags&flagPubSub != 0:
		return clientPubSub
	}
	return clientNormal
}

func clientTypeByName(name []byte) int {
	switch strings.ToLower(string(name)) {
	case "normal":
		return clientNormal
	case "slave", "replica":
		return clientReplica
	case "pubsub":
		return clientPubSub
	case "master":
		return clientMaster
	}
	return -1
}

// --- output buffer limits ----------------------------------------------------------------

// replyStaticBuf is the part of a client's pending output that Redis keeps in its fixed
// per-client buffer, which the output buffer limits do not count.
const replyStaticBuf = 16 * 1024

// overOutputLimit reports whether c, with n bytes of output pending, passed its class's
// client-output-buffer-limit: the hard limit at once, the soft limit once it has been held
// for longer than its seconds. Called with s.mu held.
func (s *Server) overOutputLimit(c *Client, n int) bool {
	class := config.ClassNormal
	switch clientType(c) {
	case clientMaster:
		return false
	case clientReplica:
		class = config.ClassReplica
	case clientPubSub:
		class = config.ClassPubSub
	}
	lim := s.cfg.Values.ClientOutputBufferLimit[class]
	used := uint64(max(n-replyStaticBuf, 0))
	hard := lim.HardBytes != 0 && used >= lim.HardBytes
	soft := lim.SoftBytes != 0 && used >= lim.SoftBytes
	if !soft {
		c.obufSoftSince = 0
		return hard
	}
	now := time.Now().Unix()
	if c.obufSoftSince == 0 {
		c.obufSoftSince = now
		return hard
	}
	return hard || now-c.obufSoftSince > int64(lim.SoftSeconds)
}

// closeOverLimit drops a client whose replies passed its output buffer limit; what it had
// not received yet is lost, as in Redis.
func (s *Server) closeOverLimit(c *Client) {
	s.log.Warningf("Client %s scheduled to be closed ASAP for overcoming of output buffer limits.", strings.TrimSuffix(s.clientInfo(c, false), "\n"))
	c.close()
}

// --- pauses ------------------------------------------------------------------------------

// Pause kinds, weakest first: a stronger request wins over a weaker one.
const (
	pauseOff = iota
	pauseWrite
	pauseAll
)

// Who asked for a pause: each purpose holds its own end time, and the pause in force is the
// strongest and longest of them (Redis 7.0's per-purpose pauses).
const (
	pauseByClient = iota // CLIENT PAUSE
	pauseByShutdown
	pauseByFailover
	numPausePurposes
)

type pauseRequest struct {
	kind int
	end  int64 // unix ms
}

type pauseState struct {
	req   [numPausePurposes]pauseRequest
	cond  *sync.Cond // on Server.mu; paused clients wait on it
	timer *time.Timer
}

// pauseClients starts or extends a pause for purpose until end (unix ms).
func (s *Server) pauseClients(purpose int, end int64, kind int) {
	p := &s.pause
	r := &p.req[purpose]
	if r.kind == pauseOff || r.end <= time.Now().UnixMilli() {
		*r = pauseRequest{kind, end}
	} else {
		r.kind, r.end = max(r.kind, kind), max(r.end, end)
	}
	s.armPauseTimer()
}

// unpauseClients ends the pause of one purpose and wakes the clients it held.
func (s *Server) unpauseClients(purpose int) {
	s.pause.req[purpose] = pauseRequest{}
	if s.pause.cond != nil {
		s.pause.cond.Broadcast()
	}
}

// currentPause is the pause in force now, forgetting requests that ended.
func (s *Server) currentPause() int {
	active := false
	for i := range s.pause.req {
		active = active || s.pause.req[i].kind != pauseOff
	}
	if !active {
		return pauseOff // the common case costs no clock read
	}
	now := time.Now().UnixMilli()
	kind := pauseOff
	for i := range s.pause.req {
		r := &s.pause.req[i]
		if r.kind == pauseOff {
			continue
		}
		if r.end <= now {
			*r = pauseRequest{}
			continue
		}
		kind = max(kind, r.kind)
	}
	return kind
}

// writesPaused reports whether changes to the dataset are on hold: active expiry and
// eviction must not delete keys while clients are paused (a failover relies on it).
func (s *Server) writesPaused() bool { return s.currentPause() != pauseOff }

// armPauseTimer makes sure the paused clients are woken when the pause runs out. The timer
// checks under the lock, so a wake-up cannot slip between a client's check and its wait.
func (s *Server) armPauseTimer() {
	p := &s.pause
	if p.cond == nil {
		p.cond = sync.NewCond(&s.mu)
	}
	var end int64
	for _, r := range p.req {
		if r.kind != pauseOff {
			end = max(end, r.end)
		}
	}
	wait := time.Duration(end-time.Now().UnixMilli()+1) * time.Millisecond
	if p.timer != nil {
		p.timer.Stop()
	}
	p.timer = time.AfterFunc(max(wait, time.Millisecond), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.currentPause() != pauseOff {
			s.armPauseTimer()
		}
		p.cond.Broadcast()
	})
}

// mayReplicate reports whether cmd is held by a WRITE pause: writes, commands that may
// write or publish (EVAL, FCALL, PUBLISH...), and EXEC of a transaction holding one.
func mayReplicate(c *Client, cmd *Command) bool {
	const f = commands.FlagWrite | commands.FlagMayReplicate
	if cmd.Spec.Flags&f != 0 {
		return true
	}
	if cmd.FullName == "exec" {
		for _, q := range c.multiQ {
			if q.cmd.Spec.Flags&f != 0 {
				return true
			}
		}
	}
	return false
}

// waitIfPaused holds c's command while a pause covers it, releasing the server lock
// meanwhile so other clients keep running. Replicas and monitors are never paused.
func (s *Server) waitIfPaused(c *Client, cmd *Command) {
	if c.flags&(flagReplica|flagMaster|flagMonitor) != 0 {
		return
	}
	waited := false
	for !c.closed.Load() {
		kind := s.currentPause()
		if kind == pauseOff || (kind == pauseWrite && !mayReplicate(c, cmd)) {
			break
		}
		waited = true
		c.flags |= flagBlocked
		c.detach()
		s.pause.cond.Wait()
	}
	if waited {
		c.flags &^= flagBlocked
		s.now = time.Now().UnixMilli()
		s.restartClock()
	}
}

// replicaDenied rejects keyspace commands from replica and MONITOR connections, which
// Redis refuses so that they cannot use the pause exemption to write.
func (s *Server) replicaDenied(c *Client, cmd *Command) bool {
	if c.flags&(flagReplica|flagMonitor) == 0 {
		return false
	}
	if cmd.Spec.Flags&(commands.FlagWrite|commands.FlagReadOnly|commands.FlagMayReplicate) == 0 {
		return false
	}
	s.rejectCommand(c, cmd, "ERR Replica can't interact with the keyspace")
	return true
}

// --- CLIENT LIST / INFO -------------------------------------------------------------------

// connFD returns the socket's file descriptor, or -1 for a closed or fake connection.
func connFD(conn net.Conn) int {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return -1
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	if raw.Control(func(f uintptr) { fd = int(f) }) != nil {
		return -1
	}
	return fd
}

func clientFlagString(c *Client) string {
	var b []byte
	if c.flags&flagMonitor != 0 {
		b = append(b, 'O')
	} else if c.flags&flagReplica != 0 {
		b = append(b, 'S')
	}
	if c.flags&flagMaster != 0 {
		b = append(b, 'M')
	}
	if c.flags&flagPubSub != 0 {
		b = append(b, 'P')
	}
	if c.flags&flagMulti != 0 {
		b = append(b, 'x')
	}
	if c.flags&flagBlocked != 0 {
		b = append(b, 'b')
	}
	b = appendTrackingFlags(b, c)
	if c.flags&flagCloseAfterReply != 0 {
		b = append(b, 'c')
	}
	if c.flags&flagCloseASAP != 0 || c.closed.Load() {
		b = append(b, 'A')
	}
	if c.flags&flagUnixSocket != 0 {
		b = append(b, 'U')
	}
	if c.flags&flagNoEvict != 0 {
		b = append(b, 'e')
	}
	if len(b) == 0 {
		return "N"
	}
	return string(b)
}

// clientInfo is one CLIENT LIST line, with Redis 7.0's fields in its order. self is true for
// the client running the command: only its own read buffer may be looked at (the others'
// belong to their goroutines). Called with s.mu held.
func (s *Server) clientInfo(c *Client, self bool) string {
	now := time.Now()
	qbuf, qfree, rbs := 0, 0, readChunk
	if self {
		qbuf, qfree, rbs = c.rend-c.rstart, len(c.rbuf)-c.rend, len(c.rbuf)
	}
	argvMem := 0
	for _, a := range c.argv {
		argvMem += len(a)
	}
	multi, multiMem := -1, 0
	if c.flags&flagMulti != 0 {
		multi = len(c.multiQ)
		for _, q := range c.multiQ {
			multiMem += 16 * len(q.argv)
			for _, a := range q.argv {
				multiMem += len(a)
			}
		}
	}
	out := c.outputLen()
	obl := min(out, replyStaticBuf)
	omem := out - obl
	oll := (omem + replyStaticBuf - 1) / replyStaticBuf
	events := "r"
	if out > 0 {
		events = "rw"
	}
	// the command being run or last looked up, rejected or not, as Redis's lastcmd
	cmd := "NULL"
	if c.cmd != nil {
		cmd = c.cmd.FullName
	}
	db := 0
	if c.db != nil {
		db = c.db.id
	}
	// a client's fixed cost in Redis (struct, static reply buffer) is about 20 KB
	totMem := 4096 + replyStaticBuf + rbs + argvMem + multiMem + omem
	fd := -1
	if c.conn != nil {
		fd = connFD(c.conn)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d ssub=%d multi=%d qbuf=%d qbuf-free=%d argv-mem=%d multi-mem=%d rbs=%d rbp=%d obl=%d oll=%d omem=%d tot-mem=%d events=%s cmd=%s user=%s redir=%d resp=%d\n",
		c.id, c.addr, c.laddr, fd, c.name,
		int64(now.Sub(c.ctime).Seconds()), (now.UnixMilli()-c.lastInteraction.Load())/1000,
		clientFlagString(c), db, 0, 0, 0, multi, qbuf, qfree, argvMem, multiMem, rbs, rbs,
		obl, oll, omem, totMem, events, cmd, c.user, trackingRedirect(c), c.w.Proto)
	return b.String()
}

// sortedClients lists the clients in connection order, as Redis's client list keeps them.
// Clients already closed but not yet unlinked by their goroutine are left out: Redis frees
// killed clients before it serves the next command.
func (s *Server) sortedClients() []*Client {
	list := make([]*Client, 0, len(s.clients))
	for _, o := range s.clients {
		if !o.closed.Load() {
			list = append(list, o)
		}
	}
	slices.SortFunc(list, func(a, b *Client) int { return int(a.id - b.id) })
	return list
}

func clientListCommand(c *Client) {
	s := c.srv
	typ := -1
	var ids []int64
	switch {
	case len(c.argv) == 2:
	case len(c.argv) == 4 && bytes.EqualFold(c.argv[2], []byte("type")):
		if typ = clientTypeByName(c.argv[3]); typ < 0 {
			c.w.Error("ERR Unknown client type '" + string(c.argv[3]) + "'")
			return
		}
	case len(c.argv) >= 4 && bytes.EqualFold(c.argv[2], []byte("id")):
		for _, a := range c.argv[3:] {
			// Redis 7.0 refuses only non-numbers here: 0 and negative IDs just match nobody
			id, ok := num.ParseInt64(a)
			if !ok {
				c.w.Error("ERR Invalid client ID")
				return
			}
			ids = append(ids, id)
		}
	default:
		c.w.Error(errSyntax)
		return
	}
	var b strings.Builder
	if ids != nil {
		// Redis answers in the order the IDs were given
		for _, id := range ids {
			if o := s.clients[id]; o != nil && !o.closed.Load() {
				b.WriteString(s.clientInfo(o, o == c))
			}
		}
	} else {
		for _, o := range s.sortedClients() {
			if typ < 0 || clientType(o) == typ {
				b.WriteString(s.clientInfo(o, o == c))
			}
		}
	}
	c.w.Verbatim("txt", b.String())
}

func clientInfoCommand(c *Client) { c.w.Verbatim("txt", c.srv.clientInfo(c, true)) }

func clientIDCommand(c *Client) { c.w.Int(c.id) }

func clientGetnameCommand(c *Client) {
	if c.name == "" {
		c.w.Null()
		return
	}
	c.w.BulkString(c.name)
}

func clientSetnameCommand(c *Client) {
	if msg := validClientName(c.argv[2]); msg != "" {
		c.w.Error(msg)
		return
	}
	c.name = string(c.argv[2])
	c.w.OK()
}

// --- CLIENT KILL --------------------------------------------------------------------------

type killFilter struct {
	id     int64
	typ    int
	addr   string
	laddr  string
	user   string
	skipMe bool
	hasID  bool
}

func (f *killFilter) matches(o *Client) bool {
	return (!f.hasID || o.id == f.id) &&
		(f.typ < 0 || clientType(o) == f.typ) &&
		(f.addr == "" || o.addr == f.addr) &&
		(f.laddr == "" || o.laddr == f.laddr) &&
		(f.user == "" || o.user == f.user)
}

func clientKillCommand(c *Client) {
	s := c.srv
	if len(c.argv) == 3 {
		// the old form, CLIENT KILL addr:port
		f := killFilter{typ: -1, addr: string(c.argv[2])}
		if f.addr == "" || s.killClients(c, &f) == 0 {
			c.w.Error("ERR No such client")
			return
		}
		c.w.OK()
		return
	}
	f := killFilter{typ: -1, skipMe: true}
	for i := 2; i < len(c.argv); i += 2 {
		if i+1 >= len(c.argv) {
			c.w.Error(errSyntax)
			return
		}
		val := c.argv[i+1]
		switch strings.ToLower(string(c.argv[i])) {
		case "id":
			id, ok := num.ParseInt64(val)
			if !ok || id <= 0 {
				c.w.Error("ERR client-id should be greater than 0")
				return
			}
			f.id, f.hasID = id, true
		case "type":
			if f.typ = clientTypeByName(val); f.typ < 0 {
				c.w.Error("ERR Unknown client type '" + string(val) + "'")
				return
			}
		case "addr":
			f.addr = string(val)
		case "laddr":
			f.laddr = string(val)
		case "user":
			if !s.userExists(string(val)) {
				c.w.Error("ERR No such user '" + string(val) + "'")
				return
			}
			f.user = string(val)
		case "skipme":
			switch strings.ToLower(string(val)) {
			case "yes":
				f.skipMe = true
			case "no":
				f.skipMe = false
			default:
				c.w.Error(errSyntax)
				return
			}
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	c.w.Int(int64(s.killClients(c, &f)))
}

// userExists answers CLIENT KILL USER until ACL users exist: only "default" is known.
func (s *Server) userExists(name string) bool { return name == "default" }

// killClients closes every client f matches and returns how many. The calling client is
// closed after its reply, the others at once.
func (s *Server) killClients(c *Client, f *killFilter) int {
	n := 0
	for _, o := range s.sortedClients() {
		if !f.matches(o) || (o == c && f.skipMe) {
			continue
		}
		if o == c {
			c.flags |= flagCloseAfterReply
		} else {
			o.close()
		}
		n++
	}
	if n > 0 && s.pause.cond != nil {
		s.pause.cond.Broadcast() // a killed client may be waiting out a pause
	}
	return n
}

// --- other subcommands ----------------------------------------------------------------------

func clientPauseCommand(c *Client) {
	if len(c.argv) > 4 {
		c.subcommandSyntaxError()
		return
	}
	ms, ok := num.ParseInt64(c.argv[2])
	if !ok {
		c.w.Error(errPositiveTimeout)
		return
	}
	if ms < 0 {
		c.w.Error("ERR timeout is negative")
		return
	}
	kind := pauseAll
	if len(c.argv) == 4 {
		switch strings.ToLower(string(c.argv[3])) {
		case "write":
			kind = pauseWrite
		case "all":
		default:
			c.w.Error("ERR CLIENT PAUSE mode must be WRITE or ALL")
			return
		}
	}
	// a timeout so large that the end time wraps around ends in the past, as in Redis 7.0
	c.srv.pauseClients(pauseByClient, time.Now().UnixMilli()+ms, kind)
	c.w.OK()
}

func clientUnpauseCommand(c *Client) {
	c.srv.unpauseClients(pauseByClient)
	c.w.OK()
}

func clientReplyCommand(c *Client) {
	switch strings.ToLower(string(c.argv[2])) {
	case "on":
		c.flags &^= flagReplyOff | flagReplySkip | flagReplySkipNext
		c.w.OK()
	case "off":
		c.flags |= flagReplyOff
	case "skip":
		if c.flags&flagReplyOff == 0 {
			c.flags |= flagReplySkipNext
		}
	default:
		c.w.Error(errSyntax)
	}
}

func clientNoEvictCommand(c *Client) {
	switch strings.ToLower(string(c.argv[2])) {
	case "on":
		c.flags |= flagNoEvict
	case "off":
		c.flags &^= flagNoEvict
	default:
		c.w.Error(errSyntax)
		return
	}
	c.w.OK()
}

func clientUnblockCommand(c *Client) {
	if len(c.argv) > 4 {
		c.subcommandSyntaxError()
		return
	}
	id, ok := num.ParseInt64(c.argv[2])
	if !ok {
		c.w.Error(errNotInt)
		return
	}
	withError := false
	if len(c.argv) == 4 {
		switch strings.ToLower(string(c.argv[3])) {
		case "timeout":
		case "error":
			withError = true
		default:
			c.w.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
			return
		}
	}
	if o := c.srv.clients[id]; o != nil && c.srv.unblockClient(o, withError) {
		c.w.Int(1)
		return
	}
	c.w.Int(0)
}

func clientHelpCommand(c *Client) {
	replyHelp(c, []string{
		"CACHING (YES|NO)",
		"    In OPTIN or OPTOUT tracking mode, track (or not) the keys the next command reads.",
		"GETREDIR",
		"    Show the id of the client receiving this connection's tracking invalidations.",
		"GETNAME",
		"    Show this connection's name.",
		"ID",
		"    Show this connection's id.",
		"INFO",
		"    Describe this connection, in the format of CLIENT LIST.",
		"KILL <ip:port>",
		"    Close the connection coming from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]",
		"    Close every connection matching all the filters:",
		"    * ID <client-id>",
		"      the connection with this id.",
		"    * ADDR (<ip:port>|<unixsocket>:0)",
		"      connections from this address.",
		"    * LADDR (<ip:port>|<unixsocket>:0)",
		"      connections to this local address.",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      connections of this type.",
		"    * USER <username>",
		"      connections authenticated as <username>.",
		"    * SKIPME (YES|NO)",
		"      whether to spare this connection (YES by default).",
		"LIST [options ...]",
		"    Describe the connections, one per line. Options:",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      only connections of this type.",
		"    * ID <client-id> [<client-id> ...]",
		"      only these connections.",
		"UNPAUSE",
		"    End a pause started with CLIENT PAUSE.",
		"PAUSE <timeout> [WRITE|ALL]",
		"    Hold the commands of every client (or only the writes) for <timeout> milliseconds.",
		"REPLY (ON|OFF|SKIP)",
		"    Turn this connection's replies on or off, or drop the next command's reply.",
		"SETNAME <name>",
		"    Name this connection.",
		"UNBLOCK <clientid> [TIMEOUT|ERROR]",
		"    Release a client blocked in a blocking command, as if it timed out or with an error.",
		"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
		"         [OPTIN] [OPTOUT] [NOLOOP]",
		"    Turn server-assisted client side caching on or off.",
		"TRACKINGINFO",
		"    Show this connection's tracking settings.",
		"NO-EVICT (ON|OFF)",
		"    Spare (or not) this connection when maxmemory-clients evicts clients.",
		"HELP",
		"    Print this help.",
	})
}

func init() {
	register(map[string]func(*Client){
		"client|list":     clientListCommand,
		"client|info":     clientInfoCommand,
		"client|id":       clientIDCommand,
		"client|getname":  clientGetnameCommand,
		"client|setname":  clientSetnameCommand,
		"client|kill":     clientKillCommand,
		"client|pause":    clientPauseCommand,
		"client|unpause":  clientUnpauseCommand,
		"client|reply":    clientReplyCommand,
		"client|no-evict": clientNoEvictCommand,
		"client|unblock":  clientUnblockCommand,
		"client|help":     clientHelpCommand,
	})
}
