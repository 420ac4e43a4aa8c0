package server

import (
	"runtime"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/sard-kv/sard/internal/commands"
	"github.com/sard-kv/sard/internal/luaapi"
	"github.com/sard-kv/sard/internal/num"
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
)

// scriptState is the server's scripting engine: the EVAL interpreter and its cache, the
// function libraries, and the script running now.
type scriptState struct {
	eval  *luaapi.State
	cache map[string]*evalScript
	lib   *functionLib
	run   *scriptRun
	busy  bool // the running script passed busy-reply-threshold
	fake  *Client
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
	start    time.Time
	now      int64
	wrote    bool
	killed   bool
	st       *luaapi.State
	db       *DB
	propMark int
	lastLend time.Time
}

// scriptHost connects a Lua state to the server.
type scriptHost struct{ s *Server }

func (s *Server) scriptEngine() *scriptState {
	sc := &s.scripts
	if sc.cache == nil {
		sc.cache = make(map[string]*evalScript)
		sc.fake = &Client{srv: s, authed: true, user: "default", name: ""}
		sc.fake.w.Proto = 2
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
	parts := strings.Fields(line)
	if len(parts) == 0 || parts[0] != "#!lua" {
		eng := line
		if len(parts) > 0 {
			eng = parts[0]
		}
		return 0, "", "ERR Unexpected engine in script shebang: " + eng
	}
	for _, p := range parts[1:] {
		list, ok := strings.CutPrefix(p, "flags=")
		if !ok {
			return 0, "", "ERR Unknown lua shebang option: " + p
		}
		for _, f := range strings.Split(list, ",") {
			if f == "" {
				continue
			}
			found := false
			for _, fn := range scriptFlagNames {
				if fn.name == f {
					flags |= fn.flag
					found = true
				}
			}
			if !found {
				return 0, "", "ERR Unexpected flag in script shebang: " + f
			}
		}
	}
	return flags, body[len(line):], ""
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
	if ro && es.flags&(scriptFlagNoWrites|scriptFlagEvalCompat) == 0 {
		c.w.Error(errWriteFlagRO)
		return
	}
	st := s.scripts.eval
	keys, args := c.argv[3:3+numkeys], c.argv[3+numkeys:]
	st.SetGlobalArgs(keys, args)
	s.runScript(c, st, es.fn, sha, true, es.flags, ro, nil)
}

// runScript runs a compiled script or function for c and writes its reply.
func (s *Server) runScript(c *Client, st *luaapi.State, fn *lua.LFunction, name string, isEval bool, flags int, ro bool, args []lua.LValue) {
	sc := &s.scripts
	r := &scriptRun{caller: c, name: name, isEval: isEval, flags: flags, start: time.Now(), now: s.now, st: st, db: c.db,
		readOnly: ro || flags&scriptFlagNoWrites != 0, propMark: len(s.prop.buf)}
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
	if flags&commands.FlagWrite != 0 && r.readOnly {
		return nil, errROScriptWrite
	}
	f := s.scripts.fake
	f.argv = argv
	f.cmd = cmd
	f.db = r.db
	f.w.Proto = proto
	f.w.Buf = f.w.Buf[:0]
	f.flags = 0
	dirty := s.dirty
	propBefore, opsBefore, dbBefore := len(s.prop.buf), s.prop.blockOps, s.prop.db
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
	r.db = f.db
	if s.dirty != dirty {
		r.wrote = true
	}
	if len(s.prop.buf) > propBefore && r.st.Repl == luaapi.ReplNone {
		s.prop.buf = s.prop.buf[:propBefore]
		s.prop.blockOps, s.prop.db = opsBefore, dbBefore
	}
	f.argv = nil
	return f.w.Buf, ""
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
	stash := append([]byte(nil), s.prop.buf[r.propMark:]...)
	s.prop.buf = s.prop.buf[:r.propMark]
	s.mu.Unlock()
	// Waiters have waited long enough for the mutex to be in starvation mode, so it is
	// handed to them directly; the sleep lets several of them through.
	runtime.Gosched()
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	if s.prop.blockAt >= r.propMark {
		s.prop.blockAt += len(s.prop.buf) - r.propMark
	}
	r.propMark = len(s.prop.buf)
	s.prop.buf = append(s.prop.buf, stash...)
	s.now = r.now
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
