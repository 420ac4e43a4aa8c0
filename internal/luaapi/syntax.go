package luaapi

import (
	"sort"
	"strconv"
	"strings"
)

// Lua 5.1's syntax, checked before gopher-lua compiles a chunk. Redis compiles scripts with
// C Lua 5.1, whose lexer and parser word their errors their own way ("unexpected symbol
// near 'x'", "'end' expected (to close 'function' at line 1) near '<eof>'", "malformed
// number near '1e'") and accept a little that gopher-lua refuses (the main chunk's `...`,
// hexadecimal floats, goto as a name, \v and \f as blanks). This file is a lexer that
// reads numbers, strings and comments as C Lua's does and a recursive-descent checker of
// Lua 5.1's grammar that keeps the counts C Lua's parser limits (syntax levels, locals,
// upvalues, assignment targets). It builds no tree: a chunk it accepts is handed to
// gopher-lua, rewritten where gopher-lua would read the same bytes differently (see
// checkedSource).

// Token kinds past the single bytes.
const (
	tkAnd = 257 + iota
	tkBreak
	tkDo
	tkElse
	tkElseif
	tkEnd
	tkFalse
	tkFor
	tkFunction
	tkIf
	tkIn
	tkLocal
	tkNil
	tkNot
	tkOr
	tkRepeat
	tkReturn
	tkThen
	tkTrue
	tkUntil
	tkWhile
	tkConcat
	tkDots
	tkEq
	tkGe
	tkLe
	tkNe
	tkNumber
	tkName
	tkString
	tkEOS
)

var tokenNames = [...]string{
	"and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in",
	"local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
	"..", "...", "==", ">=", "<=", "~=", "<number>", "<name>", "<string>", "<eof>",
}

var reserved = func() map[string]int {
	m := map[string]int{}
	for i := tkAnd; i <= tkWhile; i++ {
		m[tokenNames[i-tkAnd]] = i
	}
	return m
}()

// C Lua's limits (luaconf.h as Redis builds it).
const (
	maxSyntaxLevels = 200 // LUAI_MAXCCALLS
	maxLocals       = 200 // LUAI_MAXVARS
	maxUpvalues     = 60  // LUAI_MAXUPVALUES
	luaIDSize       = 80  // LUA_IDSIZE in Redis's build
)

// syntaxError carries a finished message through the checker's recursion.
type syntaxError struct{ msg string }

type edit struct {
	start, end int
	repl       string
}

type token struct {
	kind  int
	text  string // what C Lua shows after "near" for names, numbers and strings
	start int    // byte offsets in the source
	end   int
}

type varDecl struct{ name string }

type blockScope struct {
	prev      *blockScope
	nactvar   int
	breakable bool
}

type funcScope struct {
	prev     *funcScope
	line     int // where the function was defined (0: the main chunk)
	vararg   bool
	actvar   []*varDecl // active locals, innermost last
	pending  int        // declared but not yet active
	upvals   map[*varDecl]bool
	block    *blockScope
	mainBody bool
}

type syntaxChecker struct {
	src      string
	chunk    string // the chunk id that starts messages ("user_script")
	p        int    // next byte to read
	line     int    // C Lua's linenumber: the line the lexer stands on
	lastline int    // the line of the last token consumed
	t        token
	ahead    token
	hasAhead bool
	buf      []byte // the current token's text as C Lua's lexer buffer holds it
	levels   int    // C Lua's nCcalls during parsing
	fs       *funcScope
	edits    []edit
	// mainVararg is set when the main chunk's own body uses `...`.
	mainVararg bool
}

func (c *syntaxChecker) cur() int {
	if c.p < len(c.src) {
		return int(c.src[c.p])
	}
	return -1
}

func (c *syntaxChecker) peekAt(i int) int {
	if c.p+i < len(c.src) {
		return int(c.src[c.p+i])
	}
	return -1
}

func (c *syntaxChecker) save(b int)    { c.buf = append(c.buf, byte(b)) }
func (c *syntaxChecker) saveNext()     { c.save(c.cur()); c.p++ }
func isNewline(b int) bool             { return b == '\n' || b == '\r' }
func isDigit(b int) bool               { return b >= '0' && b <= '9' }
func isAlpha(b int) bool               { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
func isAlnum(b int) bool               { return isAlpha(b) || isDigit(b) }
func isSpace(b int) bool               { return b == ' ' || b >= '\t' && b <= '\r' }
func (c *syntaxChecker) fail(m string) { panic(&syntaxError{m}) }

// incLine steps over one line end (\n, \r, \r\n or \n\r), as C Lua counts lines.
func (c *syntaxChecker) incLine() {
	old := c.cur()
	c.p++
	if isNewline(c.cur()) && c.cur() != old {
		c.p++
	}
	c.line++
}

// tokenText is how a token appears after "near" (luaX_token2str and txtToken).
func tokenText(t token) string {
	switch {
	case t.kind == tkName || t.kind == tkString || t.kind == tkNumber:
		return t.text
	case t.kind >= tkAnd:
		return tokenNames[t.kind-tkAnd]
	case t.kind < 32 || t.kind == 127:
		return "char(" + strconv.Itoa(t.kind) + ")"
	default:
		return string([]byte{byte(t.kind)})
	}
}

func kindText(kind int) string {
	if kind >= tkAnd {
		return tokenNames[kind-tkAnd]
	}
	return string([]byte{byte(kind)})
}

// lexError is luaX_lexerror: the message, and the token it is near unless near is empty.
func (c *syntaxChecker) lexError(msg string, near string, hasNear bool) {
	out := c.chunk + ":" + strconv.Itoa(c.line) + ": " + msg
	if hasNear {
		out += " near '" + near + "'"
	}
	c.fail(out)
}

func (c *syntaxChecker) lexErrorTok(msg string, kind int) {
	if kind == tkEOS {
		c.lexError(msg, "<eof>", true)
	}
	c.lexError(msg, string(c.buf), true)
}

// syntaxErr is luaX_syntaxerror, near the current token; a NUL byte is token 0, which C
// Lua takes for "no token" and names nothing.
func (c *syntaxChecker) syntaxErr(msg string) { c.lexError(msg, tokenText(c.t), c.t.kind != 0) }

// skipSep reads [=*[ or ]=*]: the level if it is one, else -(equals)-1.
func (c *syntaxChecker) skipSep() int {
	s := c.cur()
	c.saveNext()
	count := 0
	for c.cur() == '=' {
		c.saveNext()
		count++
	}
	if c.cur() == s {
		return count
	}
	return -count - 1
}

func (c *syntaxChecker) readLongString(isString bool, sep int) {
	c.saveNext() // the second [
	if isNewline(c.cur()) {
		c.incLine()
	}
	for {
		switch ch := c.cur(); {
		case ch < 0:
			if isString {
				c.lexErrorTok("unfinished long string", tkEOS)
			}
			c.lexErrorTok("unfinished long comment", tkEOS)
		case ch == ']':
			if c.skipSep() == sep {
				c.saveNext()
				return
			}
		case isNewline(ch):
			c.save('\n')
			c.incLine()
			if !isString {
				c.buf = c.buf[:0]
			}
		default:
			if isString {
				c.saveNext()
			} else {
				c.p++
			}
		}
	}
}

func (c *syntaxChecker) readString(del int) {
	c.saveNext()
	for c.cur() != del {
		switch ch := c.cur(); {
		case ch < 0:
			c.lexErrorTok("unfinished string", tkEOS)
		case isNewline(ch):
			c.lexErrorTok("unfinished string", tkString)
		case ch == '\\':
			c.p++
			e := c.cur()
			switch e {
			case 'a':
				e = '\a'
			case 'b':
				e = '\b'
			case 'f':
				e = '\f'
			case 'n':
				e = '\n'
			case 'r':
				e = '\r'
			case 't':
				e = '\t'
			case 'v':
				e = '\v'
			case '\n', '\r':
				c.save('\n')
				c.incLine()
				continue
			case -1:
				continue // the loop reports the unfinished string
			default:
				if !isDigit(e) {
					c.saveNext()
					continue
				}
				v := 0
				for i := 0; i < 3 && isDigit(c.cur()); i++ {
					v = v*10 + c.cur() - '0'
					c.p++
				}
				if v > 255 {
					c.lexErrorTok("escape sequence too large", tkString)
				}
				c.save(v)
				continue
			}
			c.save(e)
			c.p++
		default:
			c.saveNext()
		}
	}
	c.saveNext()
}

// readNumeral reads a number as C Lua 5.1's lexer does (digits and dots, an exponent
// sign, then any letters and digits) and converts it as strtod would.
func (c *syntaxChecker) readNumeral(start int) {
	for {
		c.saveNext()
		if !isDigit(c.cur()) && c.cur() != '.' {
			break
		}
	}
	if c.cur() == 'e' || c.cur() == 'E' {
		c.saveNext()
		if c.cur() == '+' || c.cur() == '-' {
			c.saveNext()
		}
	}
	for isAlnum(c.cur()) || c.cur() == '_' {
		c.saveNext()
	}
	text := string(c.buf)
	v, ok := numeralValue(text)
	if !ok {
		c.lexErrorTok("malformed number", tkNumber)
	}
	if !gopherReadsNumber(text) {
		repl := strconv.FormatFloat(v, 'g', -1, 64)
		if v > 1.7976931348623157e308 {
			repl = "(1/0)"
		}
		// blanks keep it apart from its neighbours ("return.0", "0x10..''")
		c.edits = append(c.edits, edit{start, c.p, " " + repl + " "})
	}
}

// numeralValue converts a numeral as luaO_str2d on glibc does: strtod (decimal or
// hexadecimal, with a binary exponent) must consume it all.
func numeralValue(s string) (float64, bool) {
	f, n := strtod(s)
	return f, n > 0 && n == len(s)
}

// gopherReadsNumber reports whether gopher-lua's lexer reads the numeral to the same
// value: a decimal integer of at most 15 digits without a leading zero, or such an
// integer part and a fraction. Anything else is rewritten to its value.
func gopherReadsNumber(s string) bool {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if len(intPart) == 0 || len(intPart) > 15 || len(intPart) > 1 && intPart[0] == '0' {
		return false
	}
	for i := 0; i < len(intPart); i++ {
		if !isDigit(int(intPart[i])) {
			return false
		}
	}
	if !hasDot {
		return true
	}
	if frac == "" {
		return false
	}
	for i := 0; i < len(frac); i++ {
		if !isDigit(int(frac[i])) {
			return false
		}
	}
	return true
}

// lex reads the next token.
func (c *syntaxChecker) lex() token {
	c.buf = c.buf[:0]
	for {
		start := c.p
		ch := c.cur()
		switch {
		case isNewline(ch):
			c.incLine()
			continue
		case ch == '-':
			if c.peekAt(1) != '-' {
				c.p++
				return token{kind: '-', start: start, end: c.p}
			}
			c.p += 2
			if c.cur() == '[' {
				sep := c.skipSep()
				c.buf = c.buf[:0]
				if sep >= 0 {
					c.readLongString(false, sep)
					c.buf = c.buf[:0]
					c.blank(start)
					continue
				}
			}
			for !isNewline(c.cur()) && c.cur() >= 0 {
				c.p++
			}
			c.blank(start)
			continue
		case ch == '[':
			sep := c.skipSep()
			if sep >= 0 {
				c.readLongString(true, sep)
				return token{kind: tkString, text: string(c.buf), start: start, end: c.p}
			}
			if sep != -1 {
				c.lexErrorTok("invalid long string delimiter", tkString)
			}
			return token{kind: '[', start: start, end: c.p}
		case ch == '=' || ch == '<' || ch == '>' || ch == '~':
			c.p++
			if c.cur() != '=' {
				return token{kind: ch, start: start, end: c.p}
			}
			c.p++
			k := tkEq
			switch ch {
			case '<':
				k = tkLe
			case '>':
				k = tkGe
			case '~':
				k = tkNe
			}
			return token{kind: k, start: start, end: c.p}
		case ch == '"' || ch == '\'':
			c.readString(ch)
			return token{kind: tkString, text: string(c.buf), start: start, end: c.p}
		case ch == '.':
			if c.peekAt(1) == '.' {
				c.p += 2
				if c.cur() == '.' {
					c.p++
					return token{kind: tkDots, start: start, end: c.p}
				}
				return token{kind: tkConcat, start: start, end: c.p}
			}
			if !isDigit(c.peekAt(1)) {
				c.p++
				return token{kind: '.', start: start, end: c.p}
			}
			c.readNumeral(start)
			return token{kind: tkNumber, text: string(c.buf), start: start, end: c.p}
		case ch < 0:
			return token{kind: tkEOS, start: start, end: start}
		case isSpace(ch):
			if ch == '\v' || ch == '\f' {
				// gopher-lua's lexer knows only ' ' and '\t' as blanks
				c.edits = append(c.edits, edit{start, start + 1, " "})
			}
			c.p++
			continue
		case isDigit(ch):
			c.readNumeral(start)
			return token{kind: tkNumber, text: string(c.buf), start: start, end: c.p}
		case isAlpha(ch) || ch == '_':
			for isAlnum(c.cur()) || c.cur() == '_' {
				c.p++
			}
			name := c.src[start:c.p]
			if k, ok := reserved[name]; ok {
				return token{kind: k, start: start, end: c.p}
			}
			return token{kind: tkName, text: name, start: start, end: c.p}
		default:
			c.p++
			return token{kind: ch, start: start, end: c.p}
		}
	}
}

// blank replaces a comment by its line ends for gopher-lua, which reads some comments
// C Lua accepts (--[=x) as broken long ones.
func (c *syntaxChecker) blank(start int) {
	var b strings.Builder
	b.WriteByte(' ')
	for i := start; i < c.p; i++ {
		if isNewline(int(c.src[i])) {
			b.WriteByte(c.src[i])
		}
	}
	c.edits = append(c.edits, edit{start, c.p, b.String()})
}

func (c *syntaxChecker) next() {
	c.lastline = c.line
	if c.hasAhead {
		c.t = c.ahead
		c.hasAhead = false
		return
	}
	c.t = c.lex()
}

func (c *syntaxChecker) lookahead() int {
	c.ahead = c.lex()
	c.hasAhead = true
	return c.ahead.kind
}

func (c *syntaxChecker) testNext(kind int) bool {
	if c.t.kind == kind {
		c.next()
		return true
	}
	return false
}

func (c *syntaxChecker) errorExpected(kind int) {
	c.syntaxErr("'" + kindText(kind) + "' expected")
}

func (c *syntaxChecker) check(kind int) {
	if c.t.kind != kind {
		c.errorExpected(kind)
	}
}

func (c *syntaxChecker) checkNext(kind int) {
	c.check(kind)
	c.next()
}

func (c *syntaxChecker) checkMatch(what, who, where int) {
	if c.testNext(what) {
		return
	}
	if where == c.line {
		c.errorExpected(what)
	}
	c.syntaxErr("'" + kindText(what) + "' expected (to close '" + kindText(who) +
		"' at line " + strconv.Itoa(where) + ")")
}

// checkName reads a <name>; goto is one in Lua 5.1 but a keyword to gopher-lua, which
// then reads it under another name (asVar) or as a string key (the caller's rewrite).
func (c *syntaxChecker) checkName() string {
	c.check(tkName)
	name := c.t.text
	c.next()
	return name
}

// gotoName is what a variable called goto is called in the source gopher-lua compiles.
const gotoName = "goto_lua51_"

func (c *syntaxChecker) renameGoto(t token, repl string) {
	if t.kind == tkName && t.text == "goto" {
		c.edits = append(c.edits, edit{t.start, t.end, repl})
	}
}

func (c *syntaxChecker) enterLevel() {
	c.levels++
	if c.levels > maxSyntaxLevels {
		c.lexError("chunk has too many syntax levels", "", false)
	}
}

// errorLimit is C Lua's errorlimit: no "near".
func (c *syntaxChecker) errorLimit(limit int, what string) {
	where := "main function"
	if c.fs.line != 0 {
		where = "function at line " + strconv.Itoa(c.fs.line)
	}
	c.lexError(where+" has more than "+strconv.Itoa(limit)+" "+what, "", false)
}

func (c *syntaxChecker) newLocal(name string) {
	fs := c.fs
	if len(fs.actvar)+1 > maxLocals { // actvar holds the pending ones too
		c.errorLimit(maxLocals, "local variables")
	}
	fs.pending++
	fs.actvar = append(fs.actvar, &varDecl{name: name})
}

// Pending locals sit at the end of actvar; lookups skip them.
func (c *syntaxChecker) activate(n int) { c.fs.pending -= n }

func (c *syntaxChecker) enterBlock(breakable bool) {
	c.fs.block = &blockScope{prev: c.fs.block, nactvar: c.active(c.fs), breakable: breakable}
}

func (c *syntaxChecker) leaveBlock() {
	fs := c.fs
	fs.actvar = fs.actvar[:fs.block.nactvar]
	fs.pending = 0
	fs.block = fs.block.prev
}

func (c *syntaxChecker) active(fs *funcScope) int { return len(fs.actvar) - fs.pending }

// resolve finds name as a local of fs or an enclosing function, counting the upvalues
// each function in between takes. It returns nil for a global.
func (c *syntaxChecker) resolve(fs *funcScope, name string) *varDecl {
	if fs == nil {
		return nil
	}
	for i := c.active(fs) - 1; i >= 0; i-- {
		if fs.actvar[i].name == name {
			return fs.actvar[i]
		}
	}
	v := c.resolve(fs.prev, name)
	if v == nil {
		return nil
	}
	if !fs.upvals[v] {
		if len(fs.upvals)+1 > maxUpvalues {
			saved := c.fs
			c.fs = fs
			c.errorLimit(maxUpvalues, "upvalues")
			c.fs = saved
		}
		fs.upvals[v] = true
	}
	return v
}

func (c *syntaxChecker) openFunc(line int) {
	c.fs = &funcScope{prev: c.fs, line: line, upvals: map[*varDecl]bool{}}
}

func (c *syntaxChecker) closeFunc() { c.fs = c.fs.prev }

// checkChunk checks source as a Lua 5.1 main chunk named chunkID; levels is C Lua's call
// depth when the parser starts (0 for EVAL, 1 for loadstring called from a script).
func checkChunk(source, chunkID string, levels int) (c *syntaxChecker, err *syntaxError) {
	c = &syntaxChecker{src: source, chunk: chunkID, line: 1, levels: levels}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*syntaxError)
			if !ok {
				panic(r)
			}
			err = se
		}
	}()
	c.openFunc(0)
	c.fs.vararg = true
	c.fs.mainBody = true
	c.next()
	c.chunkBody()
	c.check(tkEOS)
	return c, nil
}

// ---- the grammar (Lua 5.1 reference manual, section 8)

func blockFollow(kind int) bool {
	switch kind {
	case tkElse, tkElseif, tkEnd, tkUntil, tkEOS:
		return true
	}
	return false
}

func (c *syntaxChecker) chunkBody() {
	c.enterLevel()
	for !blockFollow(c.t.kind) {
		last := c.statement()
		c.testNext(';')
		if last {
			break
		}
	}
	c.levels--
}

func (c *syntaxChecker) block() {
	c.enterBlock(false)
	c.chunkBody()
	c.leaveBlock()
}

func (c *syntaxChecker) statement() bool {
	line := c.line
	switch c.t.kind {
	case tkIf:
		c.testThenBlock()
		for c.t.kind == tkElseif {
			c.testThenBlock()
		}
		if c.testNext(tkElse) {
			c.block()
		}
		c.checkMatch(tkEnd, tkIf, line)
	case tkWhile:
		c.next()
		c.expr()
		c.enterBlock(true)
		c.checkNext(tkDo)
		c.block()
		c.checkMatch(tkEnd, tkWhile, line)
		c.leaveBlock()
	case tkDo:
		c.next()
		c.block()
		c.checkMatch(tkEnd, tkDo, line)
	case tkFor:
		c.forStat(line)
	case tkRepeat:
		c.enterBlock(true)
		c.enterBlock(false)
		c.next()
		c.chunkBody()
		c.checkMatch(tkUntil, tkRepeat, line)
		c.expr()
		c.leaveBlock()
		c.leaveBlock()
	case tkFunction:
		c.next()
		method := c.funcName()
		c.body(method, line)
	case tkLocal:
		c.next()
		if c.testNext(tkFunction) {
			c.renameGoto(c.t, gotoName)
			c.newLocal(c.checkName())
			c.activate(1)
			c.body(false, c.line)
		} else {
			c.localStat()
		}
	case tkReturn:
		c.next()
		if !blockFollow(c.t.kind) && c.t.kind != ';' {
			c.exprList()
		}
		return true
	case tkBreak:
		c.next()
		bl := c.fs.block
		for bl != nil && !bl.breakable {
			bl = bl.prev
		}
		if bl == nil {
			c.syntaxErr("no loop to break")
		}
		return true
	default:
		c.exprStat()
	}
	return false
}

func (c *syntaxChecker) testThenBlock() {
	c.next()
	c.expr()
	c.checkNext(tkThen)
	c.block()
}

func (c *syntaxChecker) forStat(line int) {
	c.enterBlock(true)
	c.next()
	c.renameGoto(c.t, gotoName)
	name := c.checkName()
	switch c.t.kind {
	case '=':
		c.newLocal("(for index)")
		c.newLocal("(for limit)")
		c.newLocal("(for step)")
		c.newLocal(name)
		c.next()
		c.expr()
		c.checkNext(',')
		c.expr()
		if c.testNext(',') {
			c.expr()
		}
		c.forBody(1)
	case ',', tkIn:
		c.newLocal("(for generator)")
		c.newLocal("(for state)")
		c.newLocal("(for control)")
		c.newLocal(name)
		n := 1
		for c.testNext(',') {
			c.renameGoto(c.t, gotoName)
			c.newLocal(c.checkName())
			n++
		}
		c.checkNext(tkIn)
		c.exprList()
		c.forBody(n)
	default:
		c.syntaxErr("'=' or 'in' expected")
	}
	c.checkMatch(tkEnd, tkFor, line)
	c.leaveBlock()
}

// forBody: the three control locals become active, then the loop's own variables in a
// block of their own.
func (c *syntaxChecker) forBody(nvars int) {
	c.activate(3)
	c.checkNext(tkDo)
	c.enterBlock(false)
	c.activate(nvars)
	c.block()
	c.leaveBlock()
}

func (c *syntaxChecker) funcName() bool {
	c.singleVar()
	for c.t.kind == '.' {
		c.field()
	}
	if c.t.kind == ':' {
		c.field()
		return true
	}
	return false
}

// field reads .name or :name; a field called goto becomes ["goto"] for gopher-lua.
func (c *syntaxChecker) field() {
	dot := c.t
	c.next()
	if c.t.kind == tkName && c.t.text == "goto" && dot.kind == '.' {
		c.edits = append(c.edits, edit{dot.start, c.t.end, `["goto"]`})
	}
	c.checkName()
}

func (c *syntaxChecker) body(method bool, line int) {
	c.openFunc(line)
	c.checkNext('(')
	if method {
		c.newLocal("self")
		c.activate(1)
	}
	if c.t.kind != ')' {
		for {
			switch c.t.kind {
			case tkName:
				c.renameGoto(c.t, gotoName)
				c.newLocal(c.checkName())
			case tkDots:
				c.next()
				// Lua 5.1's compatibility local "arg" of vararg functions
				c.newLocal("arg")
				c.fs.vararg = true
			default:
				c.syntaxErr("<name> or '...' expected")
			}
			if c.fs.vararg || !c.testNext(',') {
				break
			}
		}
	}
	c.activate(c.fs.pending)
	c.checkNext(')')
	c.chunkBody()
	c.checkMatch(tkEnd, tkFunction, line)
	c.closeFunc()
}

func (c *syntaxChecker) localStat() {
	n := 0
	for {
		c.renameGoto(c.t, gotoName)
		c.newLocal(c.checkName())
		n++
		if !c.testNext(',') {
			break
		}
	}
	if c.testNext('=') {
		c.exprList()
	}
	c.activate(n)
}

// expression kinds that matter to the grammar
const (
	expOther  = iota
	expVar    // a name or an indexed field: assignable
	expCall   // a call: a statement by itself
	expClosed // a parenthesized expression
)

func (c *syntaxChecker) exprStat() {
	k := c.primaryExp()
	if k == expCall {
		return
	}
	c.assignment(k, 1)
}

func (c *syntaxChecker) assignment(k, nvars int) {
	if k != expVar {
		c.syntaxErr("syntax error")
	}
	if c.testNext(',') {
		nk := c.primaryExp()
		if limit := maxSyntaxLevels - c.levels; nvars > limit {
			c.errorLimit(limit, "variables in assignment")
		}
		c.assignment(nk, nvars+1)
		return
	}
	c.checkNext('=')
	c.exprList()
}

func (c *syntaxChecker) singleVar() {
	c.renameGoto(c.t, gotoName)
	name := c.checkName()
	c.resolve(c.fs, name)
}

func (c *syntaxChecker) prefixExp() int {
	switch c.t.kind {
	case '(':
		line := c.line
		c.next()
		c.expr()
		c.checkMatch(')', '(', line)
		return expClosed
	case tkName:
		c.singleVar()
		return expVar
	default:
		c.syntaxErr("unexpected symbol")
		return expOther
	}
}

func (c *syntaxChecker) primaryExp() int {
	k := c.prefixExp()
	for {
		switch c.t.kind {
		case '.':
			c.field()
			k = expVar
		case '[':
			c.next()
			c.expr()
			c.checkNext(']')
			k = expVar
		case ':':
			c.next()
			c.checkName()
			c.funcArgs()
			k = expCall
		case '(', tkString, '{':
			c.funcArgs()
			k = expCall
		default:
			return k
		}
	}
}

func (c *syntaxChecker) funcArgs() {
	line := c.line
	switch c.t.kind {
	case '(':
		if line != c.lastline {
			c.syntaxErr("ambiguous syntax (function call x new statement)")
		}
		c.next()
		if c.t.kind != ')' {
			c.exprList()
		}
		c.checkMatch(')', '(', line)
	case '{':
		c.constructor()
	case tkString:
		c.next()
	default:
		c.syntaxErr("function arguments expected")
	}
}

func (c *syntaxChecker) constructor() {
	line := c.line
	c.checkNext('{')
	for c.t.kind != '}' {
		switch c.t.kind {
		case tkName:
			if c.lookahead() == '=' {
				if c.t.text == "goto" {
					c.edits = append(c.edits, edit{c.t.start, c.t.end, `["goto"]`})
				}
				c.next()
				c.next()
				c.expr()
			} else {
				c.expr()
			}
		case '[':
			c.next()
			c.expr()
			c.checkNext(']')
			c.checkNext('=')
			c.expr()
		default:
			c.expr()
		}
		if !c.testNext(',') && !c.testNext(';') {
			break
		}
	}
	c.checkMatch('}', '{', line)
}

func (c *syntaxChecker) exprList() {
	c.expr()
	for c.testNext(',') {
		c.expr()
	}
}

func (c *syntaxChecker) expr() { c.subExpr(0) }

// binary operators' left and right priorities
func binaryPriority(kind int) (int, int) {
	switch kind {
	case '+', '-':
		return 6, 6
	case '*', '/', '%':
		return 7, 7
	case '^':
		return 10, 9
	case tkConcat:
		return 5, 4
	case tkEq, tkNe, '<', tkLe, '>', tkGe:
		return 3, 3
	case tkAnd:
		return 2, 2
	case tkOr:
		return 1, 1
	}
	return 0, 0
}

const unaryPriority = 8

func (c *syntaxChecker) subExpr(limit int) {
	c.enterLevel()
	switch c.t.kind {
	case tkNot, '-', '#':
		c.next()
		c.subExpr(unaryPriority)
	default:
		c.simpleExp()
	}
	for {
		left, right := binaryPriority(c.t.kind)
		if left == 0 || left <= limit {
			break
		}
		c.next()
		c.subExpr(right)
	}
	c.levels--
}

func (c *syntaxChecker) simpleExp() {
	switch c.t.kind {
	case tkNumber, tkString, tkNil, tkTrue, tkFalse:
		c.next()
	case tkDots:
		if !c.fs.vararg {
			c.syntaxErr("cannot use '...' outside a vararg function")
		}
		if c.fs.mainBody {
			c.mainVararg = true
		}
		c.next()
	case '{':
		c.constructor()
	case tkFunction:
		c.next()
		c.body(false, c.line)
	default:
		c.primaryExp()
	}
}

// rewritten is the source with the checker's edits applied: what gopher-lua compiles.
func (c *syntaxChecker) rewritten() string {
	if len(c.edits) == 0 {
		return c.src
	}
	sort.SliceStable(c.edits, func(i, j int) bool { return c.edits[i].start < c.edits[j].start })
	var b strings.Builder
	b.Grow(len(c.src))
	at := 0
	for _, e := range c.edits {
		if e.start < at {
			continue
		}
		b.WriteString(c.src[at:e.start])
		b.WriteString(e.repl)
		at = e.end
	}
	b.WriteString(c.src[at:])
	return b.String()
}

// chunkID is luaO_chunkid: "=name" and "@file" are shown as they are (a long file name
// keeps its end), any other name as [string "its first line"].
func chunkID(name string) string {
	switch {
	case strings.HasPrefix(name, "="):
		s := name[1:]
		if len(s) > luaIDSize-1 {
			s = s[:luaIDSize-1]
		}
		return s
	case strings.HasPrefix(name, "@"):
		s := name[1:]
		if room := luaIDSize - len(" '...' ") - 1; len(s) > room {
			s = "..." + s[len(s)-room:]
		}
		return s
	}
	n := strings.IndexAny(name, "\n\r")
	if n < 0 {
		n = len(name)
	}
	room := luaIDSize - len(` [string "..."] `) - 1
	if n > room {
		n = room
	}
	if n < len(name) {
		return `[string "` + name[:n] + `..."]`
	}
	return `[string "` + name + `"]`
}
