package server

import (
	"bytes"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/sard-kv/sard/internal/commands"
	"github.com/sard-kv/sard/internal/config"
	"github.com/sard-kv/sard/internal/luaapi"
	"github.com/sard-kv/sard/internal/num"
	"github.com/sard-kv/sard/internal/resp"
	"github.com/sard-kv/sard/internal/slot"
)

// Lua scripting: EVAL, EVALSHA, their _RO forms and SCRIPT. Scripts run with the server
// lock held like any command. Commands they call go through the ordinary handlers on a
// fake client whose reply is converted back to Lua. A script that runs past
// busy-reply-threshold lends the lock out between instructions so that other clients get
// -BUSY, and SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE can reach it.

// Script flags from the shebang line (#!lua flags=...).
const (
	scriptFlagNoWrites = 1 << iota
	scriptFlagAllowOOM
	scriptFlagAllowStale
	scriptFlagNoCluster
	scriptFlagAllowCrossSlot
	scriptFlagEvalCompat // an EVAL body without a shebang: Redis 6 rules
)

var scriptFlagNames = []struct {
	name string
	flag int
}{
	{"no-writes", scriptFlagNoWrites},
	{"allow-oom", scriptFlagAllowOOM},
	{"allow-stale", scriptFlagAllowStale},
	{"no-cluster", scriptFlagNoCluster},
	{"allow-cross-slot-keys", scriptFlagAllowCrossSlot},
}

const (
	errNoScript       = "NOSCRIPT No matching script. Please use EVAL."
	errBusyEval       = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
	errBusyFunction   = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
	errUnkillable     = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
	errScriptKilled   = "ERR Script killed by user with SCRIPT KILL..."
	errWriteFlagRO    = "ERR Can not execute a script with write flag using *_ro command."
	errROScriptWrite  = "ERR Write commands are not allowed from read-only scripts."
	errNegativeKeys   = "ERR Number of keys can't be negative"
	errTooManyKeys    = "ERR Number of keys can't be greater than number of args"
	errScriptNoScript = "ERR This Redis command is not allowed from script"

	// Refusals before a script runs, judged by its declared flags (Redis's scriptPrepareForRun).
	errScriptNoCluster  = "ERR Can not run script on cluster, 'no-cluster' flag is set."
	errScriptStale      = "MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script."
	errScriptReadonly   = "READONLY Can not run script with write flag on readonly replica"
	errScriptMisconf    = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts."
	errScriptMisconfAOF = "MISCONF Redis is configured to persist data to AOF, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts. AOF error: "
	errAOFDiskPrefix    = "MISCONF Errors writing to the AOF file: "
	errScriptOOM        = "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'"
	errCrossSlot        = "CROSSSLOT Keys in request don't hash to the same slot"
	errCallStale        = "ERR Can not execute the command on a stale replica"
	errCallNonLocalKey  = "ERR Script attempted to access a non local key in a cluster node"
	errCallCrossSlotKey = "ERR Script attempted to access keys that do not hash to the same slot"
)

// scriptState is the server's scripting engine: the EVAL interpreter and its cache, the
// function libraries, and the script running now.
type scriptState struct {
	eval  *luaapi.State
	cache map[string]*evalScript
	lib   *functionLib
	run   *scriptRun
	// runSlot holds the running script's context; run points to it while one runs
	runSlot scriptRun
	busy    bool // the running script passed busy-reply-threshold
	// idle (on Server.mu) wakes the master link held while a slow script ran
	idle *sync.Cond
	fake *Client
	// minReplicas is min-replicas-to-write, read by every write a script makes
	minReplicas config.IntRef
	// declaredSlot is the slot of the keys the starting script declares, -1 for none
	declaredSlot int
	// maxRun, when set, kills scripts running longer (tests and fuzzing: no script may hang them)
	maxRun time.Duration
}

type evalScript struct {
	sha   string
	body  string
	fn    *lua.LFunction
	flags int
}

// scriptRun is the context of the running script.
type scriptRun struct {
	caller   *Client
	name     string // sha for EVAL, function name for FCALL
	isEval   bool
	flags    int
	readOnly bool // *_RO command or no-writes flag
	allowOOM bool // allow-oom declared
	// slot is the hash slot the script's keys so far hash to, -1 before the first
	// (cluster mode); crossSlot: allow-cross-slot-keys declared, or an EVAL without shebang
	slot      int
	crossSlot bool
	start     time.Time
	now       int64
	wrote     bool
	killed    bool
	st        *luaapi.State
	db        *DB
	propMark  int
	lastLend  time.Time
}

// scriptHost connects a Lua state to the server.
type scriptHost struct{ s *Server }

func (s *Server) scriptEngine() *scriptState {
	sc := &s.scripts
	if sc.cache == nil {
		sc.cache = make(map[string]*evalScript)
		sc.fake = &Client{srv: s, authed: true, user: "default", name: ""}
		sc.fake.w.Proto = 2
		sc.minReplicas = s.cfg.IntRef("min-replicas-to-write")
	}
	if sc.eval == nil {
		sc.eval = luaapi.New("user_script", scriptHost{s})
	}
	return sc
}

// parseShebang splits "#!lua flags=a,b" from a script body. The shebang line is blanked,
// not removed, so error line numbers match the body as written.
func parseShebang(body string) (flags int, code string, err string) {
	if !strings.HasPrefix(body, "#!") {
		return scriptFlagEvalCompat, body, ""
	}
	line, _, found := strings.Cut(body, "\n")
	if !found {
		return 0, "", "ERR Invalid script shebang"
	}
	flags, err = parseShebangLine([]byte(line))
	if err != "" {
		return 0, "", err
	}
	return flags, body[len(line):], ""
}

// parseShebangLine reads the flags of a "#!lua ..." line, split as Redis splits it
// (sdssplitargs: quotes allowed).
func parseShebangLine(line []byte) (flags int, err string) {
	var tmp [8][]byte
	parts, ok := resp.SplitArgs(line, tmp[:0])
	if !ok || len(parts) == 0 {
		return 0, "ERR Invalid engine in script shebang"
	}
	if string(parts[0]) != "#!lua" {
		return 0, "ERR Unexpected engine in script shebang: " + string(cString(parts[0]))
	}
	for _, p := range parts[1:] {
		list, ok := bytes.CutPrefix(p, []byte("flags="))
		if !ok {
			return 0, "ERR Unknown lua shebang option: " + string(cString(p))
		}
		if len(list) == 0 {
			continue
		}
		for _, f := range bytes.Split(list, []byte(",")) {
			flag := scriptFlagByName(f)
			if flag == 0 {
				return 0, "ERR Unexpected flag in script shebang: " + string(cString(f))
			}
			flags |= flag
		}
	}
	return flags, ""
}

func scriptFlagByName(name []byte) int {
	for _, fn := range scriptFlagNames {
		if fn.name == string(name) {
			return fn.flag
		}
	}
	return 0
}

// isScriptCommand reports whether cmd runs a script: EVAL, EVALSHA, FCALL, their _RO forms.
func (s *Server) isScriptCommand(cmd *Command) bool {
	switch cmd.FullName {
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
		return true
	}
	return false
}

// commandFlags is Redis's getCommandFlags: a script command that declares flags (a
// shebang, or a function's flags) is judged by them, not by the command's own flags.
func (s *Server) commandFlags(c *Client, cmd *Command) commands.Flag {
	return s.flagsFor(cmd, c.argv)
}

// flagsFor is commandFlags for a command line; small enough to inline, since every
// command passes through it.
func (s *Server) flagsFor(cmd *Command, argv [][]byte) commands.Flag {
	if cmd.Spec.Flags&commands.FlagNoScript == 0 || len(argv) < 2 {
		return cmd.Spec.Flags
	}
	return s.scriptCommandFlags(cmd, argv)
}

// scriptCommandFlags is flagsFor for the commands flagged noscript, among them the script
// commands.
func (s *Server) scriptCommandFlags(cmd *Command, argv [][]byte) commands.Flag {
	flags := cmd.Spec.Flags
	sf := scriptFlagEvalCompat
	switch cmd.FullName {
	case "eval", "eval_ro":
		body := argv[1]
		if bytes.HasPrefix(body, []byte("#!")) {
			line, _, found := bytes.Cut(body, []byte("\n"))
			var err string
			if sf, err = parseShebangLine(line); !found || err != "" {
				return flags
			}
		}
	case "evalsha", "evalsha_ro":
		var tmp [40]byte
		if len(argv[1]) == 40 && s.scripts.cache != nil {
			if es := s.scripts.cache[string(lower(tmp[:0], argv[1]))]; es != nil {
				sf = es.flags
			}
		}
	case "fcall", "fcall_ro":
		if fl := s.scripts.lib; fl != nil {
			if f := fl.funcs[string(argv[1])]; f != nil {
				sf = f.flags
			}
		}
	}
	if sf&scriptFlagEvalCompat != 0 {
		return flags
	}
	// The declared flags replace the command's write, denyoom and stale flags; no-writes
	// implies allow-oom.
	flags &^= commands.FlagStale | commands.FlagDenyOOM | commands.FlagWrite | commands.FlagMayReplicate
	if sf&(scriptFlagAllowOOM|scriptFlagNoWrites) == 0 {
		flags |= commands.FlagDenyOOM
	}
	if sf&scriptFlagNoWrites == 0 {
		flags |= commands.FlagWrite
	}
	if sf&scriptFlagAllowStale != 0 {
		flags |= commands.FlagStale
	}
	return flags
}

// loadScript compiles a body into the cache and returns its sha.
func (s *Server) loadScript(body []byte) (string, *evalScript, string) {
	sc := s.scriptEngine()
	sha := luaapi.SHA1Hex(body)
	if es := sc.cache[sha]; es != nil {
		return sha, es, ""
	}
	flags, code, errMsg := parseShebang(string(body))
	if errMsg != "" {
		return "", nil, errMsg
	}
	fn, err := sc.eval.CompileFunction(code)
	if err != nil {
		return "", nil, "ERR Error compiling script (new function): " + err.Error()
	}
	es := &evalScript{sha: sha, body: string(body), fn: fn, flags: flags}
	sc.cache[sha] = es
	return sha, es, ""
}

func (es *evalScript) nameOr() string {
	if es == nil {
		return ""
	}
	return es.sha
}

// parseNumKeys reads EVAL/FCALL's numkeys argument.
func parseNumKeys(c *Client) (int, bool) {
	n, ok := num.ParseInt64(c.argv[2])
	if !ok {
		c.w.Error(errNotInt)
		return 0, false
	}
	if n > int64(len(c.argv)-3) {
		c.w.Error(errTooManyKeys)
		return 0, false
	}
	if n < 0 {
		c.w.Error(errNegativeKeys)
		return 0, false
	}
	return int(n), true
}

func evalCommand(c *Client)      { evalGeneric(c, false, false) }
func evalROCommand(c *Client)    { evalGeneric(c, false, true) }
func evalShaCommand(c *Client)   { evalGeneric(c, true, false) }
func evalShaROCommand(c *Client) { evalGeneric(c, true, true) }

func evalGeneric(c *Client, bySha, ro bool) {
	s := c.srv
	numkeys, ok := parseNumKeys(c)
	if !ok {
		return
	}
	if !s.checkDeclaredSlot(c, c.argv[3:3+numkeys]) {
		return
	}
	var sha string
	var es *evalScript
	if bySha {
		sc := s.scriptEngine()
		var tmp [40]byte
		if len(c.argv[1]) == 40 {
			es = sc.cache[string(lower(tmp[:0], c.argv[1]))]
			sha = es.nameOr()
		}
		if es == nil {
			c.w.Error(errNoScript)
			return
		}
	} else {
		var errMsg string
		sha, es, errMsg = s.loadScript(c.argv[1])
		if errMsg != "" {
			c.w.Error(errMsg)
			return
		}
	}
	if errMsg := s.scriptPrepare(c, es.flags, ro); errMsg != "" {
		c.w.Error(errMsg)
		return
	}
	st := s.scripts.eval
	keys, args := c.argv[3:3+numkeys], c.argv[3+numkeys:]
	st.SetGlobalArgs(keys, args)
	s.runScript(c, st, es.fn, sha, true, es.flags, ro, nil)
}

// checkDeclaredSlot is, in cluster mode, the gatekeeper's CROSSSLOT check on the keys a
// script declares; it notes their slot for the checks of the script's own commands.
func (s *Server) checkDeclaredSlot(c *Client, keys [][]byte) bool {
	sc := &s.scripts
	sc.declaredSlot = -1
	if !s.cfg.ClusterEnabled {
		return true
	}
	for _, k := range keys {
		sl := int(slot.KeySlot(k))
		if sc.declaredSlot != -1 && sl != sc.declaredSlot {
			c.w.Error(errCrossSlot)
			return false
		}
		sc.declaredSlot = sl
	}
	return true
}

// scriptPrepare is Redis's scriptPrepareForRun: the server's state against the flags a
// script declares. A script without a shebang (Redis 6 rules) is only refused on a stale
// replica; its commands meet the checks one by one instead.
func (s *Server) scriptPrepare(c *Client, flags int, ro bool) string {
	stale := s.staleReplica()
	if flags&scriptFlagEvalCompat != 0 {
		if stale {
			return errMasterDown
		}
		return ""
	}
	if flags&scriptFlagNoCluster != 0 && s.cfg.ClusterEnabled {
		return errScriptNoCluster
	}
	if stale && flags&scriptFlagAllowStale == 0 {
		return errScriptStale
	}
	if flags&scriptFlagNoWrites == 0 {
		obey := c.flags&flagMaster != 0
		if s.repl.masterHost != "" && s.cfgBool("replica-read-only") && !obey {
			return errScriptReadonly
		}
		if msg := s.diskErrorText(); msg != "" && !obey {
			if msg == errMisconf {
				return errScriptMisconf
			}
			return errScriptMisconfAOF + strings.TrimPrefix(msg, errAOFDiskPrefix)
		}
		if ro {
			return errWriteFlagRO
		}
		if !s.enoughGoodReplicas() {
			return errNoReplicas
		}
	}
	// no-writes implies allow-oom
	if flags&(scriptFlagAllowOOM|scriptFlagNoWrites) == 0 && s.mem.oomAtStart && s.maxmemoryGated() {
		return errScriptOOM
	}
	return ""
}

// runScript runs a compiled script or function for c and writes its reply.
func (s *Server) runScript(c *Client, st *luaapi.State, fn *lua.LFunction, name string, isEval bool, flags int, ro bool, args []lua.LValue) {
	sc := &s.scripts
	// one script runs at a time: its context lives in the engine, not on the heap per call
	r := &sc.runSlot
	*r = scriptRun{caller: c, name: name, isEval: isEval, flags: flags, start: time.Now(), now: s.now, st: st, db: c.db,
		readOnly: ro || flags&scriptFlagNoWrites != 0, propMark: len(s.prop.buf),
		allowOOM:  flags&scriptFlagAllowOOM != 0,
		slot:      s.scripts.declaredSlot,
		crossSlot: flags&(scriptFlagEvalCompat|scriptFlagAllowCrossSlot) != 0}
	r.lastLend = r.start
	sc.run = r
	// the commands the script runs reach replicas and the AOF as one MULTI/EXEC block
	s.prop.beginBlock()
	st.Resp = 2
	st.Repl = luaapi.ReplAll
	st.ResetRandom()
	errMsg := st.Call(fn, name, &c.w, args...)
	sc.run = nil
	if sc.busy {
		sc.busy = false
		if sc.idle != nil {
			sc.idle.Broadcast()
		}
		s.log.Warningf("Slow script detected: script finished after %d milliseconds.", time.Since(r.start).Milliseconds())
	}
	s.now = r.now
	if errMsg != "" {
		if r.killed {
			s.log.Warningf("Lua script killed by user with SCRIPT KILL.")
		}
		c.w.Error(errMsg)
	}
	s.prop.endBlock()
}

// Call runs one redis.call from the running script, after Redis's script checks.
func (h scriptHost) Call(argv [][]byte, proto int) ([]byte, string) {
	s := h.s
	r := s.scripts.run
	if r == nil {
		return nil, "ERR redis.call is not available outside a script"
	}
	cmd, unknownSub := s.lookupCommand(argv)
	if cmd == nil || unknownSub || (cmd.Proc == nil && cmd.Subs == nil) {
		return nil, "ERR Unknown Redis command called from script"
	}
	if cmd.Proc == nil {
		return nil, "ERR Wrong number of args calling Redis command from script"
	}
	if a := cmd.Spec.Arity; (a > 0 && len(argv) != a) || len(argv) < -a {
		return nil, "ERR Wrong number of args calling Redis command from script"
	}
	flags := cmd.Spec.Flags
	if flags&commands.FlagNoScript != 0 {
		return nil, errScriptNoScript
	}
	if errMsg := s.scriptCallCheck(r, cmd, argv); errMsg != "" {
		return nil, errMsg
	}
	f := s.scripts.fake
	f.argv = argv
	f.cmd = cmd
	f.db = r.db
	f.w.Proto = proto
	f.w.Buf = f.w.Buf[:0]
	f.flags = 0
	// redis.set_repl: the command's effects reach only the targets the script chose
	s.prop.exclude = targetAll &^ replTargets(r.st.Repl)
	func() {
		defer func() {
			if p := recover(); p != nil {
				s.log.Warningf("command %q panicked inside a script: %v", argv[0], p)
				f.w.Buf = f.w.Buf[:0]
				f.w.Error("ERR internal error running command from script")
			}
		}()
		s.call(f, cmd)
	}()
	s.prop.exclude = 0
	r.db = f.db
	f.argv = nil
	return f.w.Buf, ""
}

// KnownCommand tells redis.acl_check_cmd whether argv names a command; sard has no ACL
// users, so every command it knows is allowed.
func (h scriptHost) KnownCommand(argv [][]byte) bool {
	cmd, unknownSub := h.s.lookupCommand(argv)
	return cmd != nil && !unknownSub
}

// replTargets maps redis.set_repl's flags to stream targets.
func replTargets(repl int) int {
	t := 0
	if repl&luaapi.ReplAOF != 0 {
		t |= targetAOF
	}
	if repl&luaapi.ReplSlave != 0 {
		t |= targetRepl
	}
	return t
}

// scriptCallCheck is Redis's scriptCall checks on one command of a script, after its
// arity: a stale replica, writes from read-only scripts, the server's state against the
// first write, memory, and in cluster mode the slots of the keys.
func (s *Server) scriptCallCheck(r *scriptRun, cmd *Command, argv [][]byte) string {
	flags := cmd.Spec.Flags
	if s.repl.masterHost != "" && flags&commands.FlagStale == 0 && s.staleReplica() {
		return errCallStale
	}
	// may-replicate commands (PUBLISH...) count as writes for read-only scripts
	if r.readOnly && flags&(commands.FlagWrite|commands.FlagMayReplicate) != 0 {
		return errROScriptWrite
	}
	obey := r.caller.flags&flagMaster != 0
	if flags&commands.FlagWrite != 0 && !r.wrote {
		// once a script has written, refusing a later write would leave it half done
		if s.repl.masterHost != "" && !obey && s.cfgBool("replica-read-only") {
			return errReadOnlyReplica
		}
		if msg := s.diskErrorText(); msg != "" {
			return msg
		}
		if !s.enoughGoodReplicas() {
			return errNoReplicas
		}
	}
	if !r.allowOOM && !r.wrote && !obey && flags&commands.FlagDenyOOM != 0 && s.mem.oomAtStart && s.maxmemoryGated() {
		return errOOM
	}
	if flags&commands.FlagWrite != 0 {
		r.wrote = true
	}
	if s.cfg.ClusterEnabled && !obey {
		return r.checkCallSlot(cmd, argv)
	}
	return ""
}

// enoughGoodReplicas is Redis's checkGoodReplicasStatus: false when min-replicas-to-write
// asks for more replicas with a recent ACK than this master has.
func (s *Server) enoughGoodReplicas() bool {
	if s.repl.masterHost != "" {
		return true
	}
	n := s.scripts.minReplicas.Get()
	return n == 0 || s.cfgInt("min-replicas-max-lag") == 0 || int64(s.goodReplicaCount()) >= n
}

// checkCallSlot is the cluster check on the keys of one command of a script: they must
// hash to one slot, and unless the script allows cross-slot keys, to the slot of its
// earlier keys.
func (r *scriptRun) checkCallSlot(cmd *Command, argv [][]byte) string {
	pos, err := cmd.Spec.GetKeys(argv)
	if err != nil || len(pos) == 0 {
		return ""
	}
	sl := int(slot.KeySlot(argv[pos[0]]))
	for _, p := range pos[1:] {
		if int(slot.KeySlot(argv[p])) != sl {
			return errCallNonLocalKey
		}
	}
	if r.crossSlot {
		return ""
	}
	if r.slot == -1 {
		r.slot = sl
	} else if r.slot != sl {
		return errCallCrossSlotKey
	}
	return ""
}

// Log is redis.log.
func (h scriptHost) Log(level int, msg string) {
	switch level {
	case luaapi.LogDebug:
		h.s.log.Debugf("%s", msg)
	case luaapi.LogVerbose:
		h.s.log.Verbosef("%s", msg)
	case luaapi.LogNotice:
		h.s.log.Noticef("%s", msg)
	default:
		h.s.log.Warningf("%s", msg)
	}
}

// Check runs every few thousand instructions: it detects a slow script, lends the lock so
// other clients are answered -BUSY, and stops a killed script.
func (h scriptHost) Check() string {
	s := h.s
	r := s.scripts.run
	if r == nil {
		return ""
	}
	if r.killed {
		return errScriptKilled
	}
	now := time.Now()
	if s.scripts.maxRun > 0 && now.Sub(r.start) > s.scripts.maxRun {
		r.killed = true
		return errScriptKilled
	}
	if !s.scripts.busy {
		limit := s.cfgInt("busy-reply-threshold")
		if limit <= 0 || now.Sub(r.start) < time.Duration(limit)*time.Millisecond {
			return ""
		}
		s.scripts.busy = true
		s.log.Warningf("Slow script detected: still in execution after %d milliseconds. You can try killing the script using the %s command. Script name is: %s.",
			now.Sub(r.start).Milliseconds(), map[bool]string{true: "SCRIPT KILL", false: "FUNCTION KILL"}[r.isEval], r.name)
	}
	if now.Sub(r.lastLend) >= 10*time.Millisecond {
		s.lendLock(r)
		r.lastLend = time.Now()
	}
	if r.killed {
		return errScriptKilled
	}
	return ""
}

// lendLock lets the clients waiting for the lock run while a slow script is paused between
// two instructions; the gatekeeper answers them -BUSY unless the command may run (allow-busy).
func (s *Server) lendLock(r *scriptRun) {
	// The script's effects so far stay out of the stream until it ends: another client's
	// batch flushes the propagation buffer.
	p := &s.prop
	stash := append([]byte(nil), p.buf[r.propMark:]...)
	var partial []partialRange
	for _, pr := range p.partial {
		if pr.start >= r.propMark {
			partial = append(partial, partialRange{pr.start - r.propMark, pr.end - r.propMark, pr.exclude})
		}
	}
	p.partial = slices.DeleteFunc(p.partial, func(pr partialRange) bool { return pr.start >= r.propMark })
	p.buf = p.buf[:r.propMark]
	r.caller.detach() // the other clients' event loop must not be this goroutine
	s.mu.Unlock()
	// Waiters have waited long enough for the mutex to be in starvation mode, so it is
	// handed to them directly; the sleep lets several of them through.
	runtime.Gosched()
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	if p.blockAt >= r.propMark {
		p.blockAt += len(p.buf) - r.propMark
	}
	r.propMark = len(p.buf)
	p.buf = append(p.buf, stash...)
	for _, pr := range partial {
		p.partial = append(p.partial, partialRange{pr.start + r.propMark, pr.end + r.propMark, pr.exclude})
	}
	s.now = r.now
}

// holdMasterWhileBusy parks our master link, lock released, while a slow script lends the
// lock: Redis never answers its master -BUSY but stops applying the stream during a busy
// script and resumes after it, so the writes the master makes meanwhile are not lost.
func (s *Server) holdMasterWhileBusy(c *Client) {
	sc := &s.scripts
	for sc.busy && sc.run != nil && sc.run.caller != c {
		if sc.idle == nil {
			sc.idle = sync.NewCond(&s.mu)
		}
		sc.idle.Wait()
	}
}

// scriptBusyReject is the gatekeeper's check while a slow script runs: only commands
// flagged allow-busy run, SHUTDOWN only with NOSAVE.
func (s *Server) scriptBusyReject(c *Client, cmd *Command) bool {
	if !s.scripts.busy || s.scripts.run == nil || c == s.scripts.run.caller {
		return false
	}
	msg := busyError(s.scripts.run)
	if cmd.Spec.Flags&commands.FlagAllowBusy != 0 {
		if cmd.FullName != "shutdown" {
			return false
		}
		for _, a := range c.argv[1:] {
			if strings.EqualFold(string(a), "nosave") {
				return false
			}
		}
	}
	s.rejectCommand(c, cmd, msg)
	return true
}

// killScript is SCRIPT KILL / FUNCTION KILL.
func killScript(c *Client, isEval bool) {
	r := c.srv.scripts.run
	switch {
	case r == nil:
		c.w.Error(errNotBusy)
	case r.wrote:
		c.w.Error(errUnkillable)
	case r.isEval != isEval:
		// the other kind of script is running: Redis answers with its busy error
		c.w.Error(busyError(r))
	default:
		r.killed = true
		c.w.OK()
	}
}

func busyError(r *scriptRun) string {
	if r.isEval {
		return errBusyEval
	}
	return errBusyFunction
}

func scriptLoadCommand(c *Client) {
	sha, _, errMsg := c.srv.loadScript(c.argv[2])
	if errMsg != "" {
		c.w.Error(errMsg)
		return
	}
	c.w.BulkString(sha)
}

func scriptExistsCommand(c *Client) {
	sc := c.srv.scriptEngine()
	c.w.Array(len(c.argv) - 2)
	for _, a := range c.argv[2:] {
		if sc.cache[strings.ToLower(string(a))] != nil {
			c.w.Int(1)
		} else {
			c.w.Int(0)
		}
	}
}

func scriptFlushCommand(c *Client) {
	if len(c.argv) > 3 || (len(c.argv) == 3 && !strings.EqualFold(string(c.argv[2]), "sync") && !strings.EqualFold(string(c.argv[2]), "async")) {
		c.w.Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
		return
	}
	sc := c.srv.scriptEngine()
	sc.cache = make(map[string]*evalScript)
	sc.eval.Close()
	sc.eval = nil
	c.w.OK()
}

func scriptKillCommand(c *Client) { killScript(c, true) }

func scriptHelpCommand(c *Client) {
	writeSubHelp(c, "SCRIPT", []string{
		"DEBUG (YES|SYNC|NO)",
		"    Set the debug mode for subsequent scripts executed.",
		"EXISTS <sha1> [<sha1> ...]",
		"    Return information about the existence of the scripts in the script cache.",
		"FLUSH [ASYNC|SYNC]",
		"    Flush the Lua scripts cache. Very dangerous on replicas.",
		"    When called without the optional mode argument, the behavior is determined by the",
		"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
		"    * ASYNC: Asynchronously flush the scripts cache.",
		"    * SYNC: Synchronously flush the scripts cache.",
		"KILL",
		"    Kill the currently executing Lua script.",
		"LOAD <script>",
		"    Load a script into the scripts cache without executing it.",
	})
}

// writeSubHelp writes a HELP reply in Redis's layout: a title line, the lines, then HELP.
func writeSubHelp(c *Client, name string, lines []string) {
	all := append([]string{name + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"}, lines...)
	writeHelp(c, append(all, "HELP", "    Prints this help."))
}

// usedMemoryLua is INFO's used_memory_lua estimate: the cached script bodies.
func (s *Server) usedMemoryLua() int64 {
	var n int64
	for _, es := range s.scripts.cache {
		n += int64(len(es.body))
	}
	return n
}

func init() {
	register(map[string]func(*Client){
		"eval":          evalCommand,
		"eval_ro":       evalROCommand,
		"evalsha":       evalShaCommand,
		"evalsha_ro":    evalShaROCommand,
		"script|load":   scriptLoadCommand,
		"script|exists": scriptExistsCommand,
		"script|flush":  scriptFlushCommand,
		"script|kill":   scriptKillCommand,
		"script|help":   scriptHelpCommand,
	})
}
