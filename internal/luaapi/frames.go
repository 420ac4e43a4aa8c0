package luaapi

import (
	"reflect"
	"strconv"
	"strings"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// C Lua's error messages depend on the stack at the moment of the error: a library
// function called with fewer arguments says "got no value" (gopher-lua says "got nil"), a
// method call counts its arguments without self ("calling 'f' on bad self"), a function
// called from pcall has no position and is named '?', and the VM names the variable
// involved ("attempt to index local 't' (a nil value)"), found by reading the bytecode
// before the failing instruction (C Lua's getobjname). Scripts' errors pass through a
// message handler while the failing frames still exist (Call's errorHandler, pcall's and
// xpcall's), which rewrites the message from them (refine).
//
// gopher-lua's Debug record keeps its call frame unexported. frameOf reads it through a
// copy of its layout, checked field by field against the library's type when the
// package starts: should gopher-lua change it, the check fails and messages keep the
// plain wording (no names), never read the wrong memory.

// callFrame mirrors gopher-lua's callFrame.
type callFrame struct {
	Idx        int
	Fn         *lua.LFunction
	Parent     *callFrame
	Pc         int
	Base       int
	LocalBase  int
	ReturnBase int
	NArgs      int
	NRet       int
	TailCall   int
}

var frameLayoutOK = func() bool {
	dt := reflect.TypeOf(lua.Debug{})
	if dt.NumField() == 0 {
		return false
	}
	f := dt.Field(0)
	if f.Name != "frame" || f.Offset != 0 || f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() != reflect.Struct {
		return false
	}
	real, mine := f.Type.Elem(), reflect.TypeOf(callFrame{})
	if real.NumField() != mine.NumField() || real.Size() != mine.Size() {
		return false
	}
	for i := 0; i < real.NumField(); i++ {
		a, b := real.Field(i), mine.Field(i)
		if a.Name != b.Name || a.Offset != b.Offset || a.Type.Size() != b.Type.Size() || a.Type.Kind() != b.Type.Kind() {
			return false
		}
	}
	return real.Field(1).Type == mine.Field(1).Type && real.Field(2).Type == f.Type
}()

// frameAt is the call frame at level (0 = the running function), or nil.
func frameAt(L *lua.LState, level int) *callFrame {
	if !frameLayoutOK {
		return nil
	}
	dbg, ok := L.GetStack(level)
	if !ok || dbg == nil {
		return nil
	}
	return *(**callFrame)(unsafe.Pointer(dbg))
}

// Instruction fields (gopher-lua uses Lua 5.1's layout: op 6 bits, A 8, C 9, B 9).
func opOf(i uint32) int   { return int(i >> 26) }
func argA(i uint32) int   { return int(i>>18) & 0xff }
func argB(i uint32) int   { return int(i & 0x1ff) }
func argC(i uint32) int   { return int(i>>9) & 0x1ff }
func argBx(i uint32) int  { return int(i & 0x3ffff) }
func argSBx(i uint32) int { return argBx(i) - (1<<17 - 1) }

const rkBit = 0x100

// setsA reports the opcodes whose A register is the one they write.
func setsA(op int) bool {
	switch op {
	case lua.OP_MOVE, lua.OP_MOVEN, lua.OP_LOADK, lua.OP_LOADBOOL, lua.OP_GETUPVAL, lua.OP_GETGLOBAL,
		lua.OP_GETTABLE, lua.OP_GETTABLEKS, lua.OP_NEWTABLE, lua.OP_SELF, lua.OP_ADD, lua.OP_SUB,
		lua.OP_MUL, lua.OP_DIV, lua.OP_MOD, lua.OP_POW, lua.OP_UNM, lua.OP_NOT, lua.OP_LEN,
		lua.OP_CONCAT, lua.OP_TESTSET, lua.OP_FORLOOP, lua.OP_FORPREP, lua.OP_CLOSURE:
		return true
	}
	return false
}

// lastSetter is C Lua's symbolic execution reduced to what getobjname needs: the last
// instruction before lastpc that wrote reg, following forward jumps that stay before
// lastpc; -1 if none.
func lastSetter(p *lua.FunctionProto, lastpc, reg int) int {
	last := -1
	for pc := 0; pc < lastpc && pc < len(p.Code); pc++ {
		i := p.Code[pc]
		op, a := opOf(i), argA(i)
		switch op {
		case lua.OP_LOADNIL:
			if a <= reg && reg <= argB(i) {
				last = pc
			}
		case lua.OP_CALL, lua.OP_TAILCALL:
			if reg >= a {
				last = pc
			}
		case lua.OP_TFORLOOP:
			if reg >= a+3 {
				last = pc
			}
		case lua.OP_SELF:
			if reg == a || reg == a+1 {
				last = pc
			}
		case lua.OP_VARARG:
			if reg >= a {
				last = pc
			}
		case lua.OP_MOVEN:
			// R(A) := R(B), then C more MOVEs packed in the next instructions
			if reg == a {
				last = pc
			}
		case lua.OP_JMP:
			dest := pc + 1 + argSBx(i)
			if pc < dest && dest <= lastpc {
				pc += argSBx(i)
			}
		default:
			if setsA(op) && a == reg {
				last = pc
			}
		}
	}
	return last
}

// objName is C Lua's getobjname: how the value in register reg at instruction pc came
// there, as "local 'x'", "global 'x'", "field 'x'", "upvalue 'x'" or "method 'x'"; "" when
// it cannot be told.
func objName(p *lua.FunctionProto, pc, reg int, depth int) string {
	if depth > 20 {
		return ""
	}
	if name, ok := localName(p, reg+1, pc); ok && !strings.HasPrefix(name, "(") {
		return "local '" + name + "'"
	}
	set := lastSetter(p, pc, reg)
	if set < 0 {
		return ""
	}
	i := p.Code[set]
	switch opOf(i) {
	case lua.OP_GETGLOBAL:
		if k, ok := p.Constants[argBx(i)].(lua.LString); ok {
			return "global '" + string(k) + "'"
		}
	case lua.OP_MOVE:
		if b := argB(i); b < argA(i) {
			return objName(p, set, b, depth+1)
		}
	case lua.OP_GETTABLE, lua.OP_GETTABLEKS:
		if k := constName(p, argC(i)); k != "" {
			return "field '" + k + "'"
		}
	case lua.OP_GETUPVAL:
		if b := argB(i); b < len(p.DbgUpvalues) {
			return "upvalue '" + p.DbgUpvalues[b] + "'"
		}
	case lua.OP_SELF:
		if reg == argA(i) {
			if k := constName(p, argC(i)); k != "" {
				return "method '" + k + "'"
			}
		}
	}
	return ""
}

// localName is the name of the n-th active local at pc (C Lua's luaF_getlocalname).
func localName(p *lua.FunctionProto, n, pc int) (string, bool) {
	for _, l := range p.DbgLocals {
		if l.StartPc > pc {
			break
		}
		if pc < l.EndPc {
			n--
			if n == 0 {
				return l.Name, true
			}
		}
	}
	return "", false
}

func constName(p *lua.FunctionProto, rk int) string {
	if rk&rkBit == 0 {
		return ""
	}
	if k, ok := p.Constants[rk&^rkBit].(lua.LString); ok {
		return string(k)
	}
	return ""
}

// luaCaller is the frame of the Lua function whose instruction called or triggered fr,
// with that instruction's index, or nil if fr was called from Go.
func luaCaller(fr *callFrame) (*callFrame, int) {
	p := fr.Parent
	if p == nil || p.Fn == nil || p.Fn.IsG || p.Fn.Proto == nil || p.Pc < 1 || p.Pc > len(p.Fn.Proto.Code) {
		return nil, 0
	}
	return p, p.Pc - 1
}

// refine turns an error message raised at the top of L's stack (below the handler at
// level 0) into C Lua's (cMessage), then rewrites it from the frames still on the stack.
func (s *State) refine(L *lua.LState, raw string) string {
	msg := cMessage(raw)
	bad := s.badOperand
	s.badOperand = 0
	fr := frameAt(L, 1)
	if fr == nil || fr.Fn == nil {
		return msg
	}
	pos, body := splitPosition(msg)
	if fr.Fn.IsG {
		if strings.HasPrefix(body, "bad argument #") || strings.HasPrefix(body, "wrong number of arguments") {
			return s.refineArgError(fr, pos, body)
		}
		caller, pc := luaCaller(fr)
		if caller == nil {
			// a Go function called from Go (pcall(f), table.sort's comparator): C Lua
			// has no line to give
			return body
		}
		if !strings.HasPrefix(body, "attempt to ") || bad == 0 {
			return msg
		}
		// raised by a type metamethod (or concat) on behalf of the instruction that
		// triggered it, which recorded the operand at fault
		return pos + nameOperand(caller.Fn.Proto, pc, body, bad)
	}
	if fr.Fn.Proto == nil || fr.Pc < 1 || fr.Pc > len(fr.Fn.Proto.Code) || !strings.HasPrefix(body, "attempt to ") {
		return msg
	}
	// an error of the VM itself: "cannot perform add operation between table and number"
	// names the first operand that is no number
	bad = 1
	if _, rawBody := splitPosition(raw); strings.HasPrefix(rawBody, "cannot perform ") {
		if _, ops, ok := strings.Cut(rawBody, " operation between "); ok && strings.HasPrefix(ops, "number and ") {
			bad = 2
		}
	}
	return pos + nameOperand(fr.Fn.Proto, fr.Pc-1, body, bad)
}

// refineArgError fixes a library function's argument error: "no value" for a missing
// argument, method calls counted without self, no position and '?' when called from Go.
func (s *State) refineArgError(fr *callFrame, pos, body string) string {
	caller, pc := luaCaller(fr)
	if caller == nil {
		pos = ""
	}
	rest, ok := strings.CutPrefix(body, "bad argument #")
	if !ok {
		return pos + body
	}
	num, rest, ok := strings.Cut(rest, " to '")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		return pos + body
	}
	name, detail, ok := strings.Cut(rest, "' (")
	if !ok {
		return pos + body
	}
	if strings.HasSuffix(detail, " expected, got nil)") && n > fr.NArgs {
		detail = strings.TrimSuffix(detail, "nil)") + "no value)"
	}
	if caller == nil {
		name = "?"
	} else if i := caller.Fn.Proto.Code[pc]; opOf(i) == lua.OP_CALL || opOf(i) == lua.OP_TAILCALL {
		if strings.HasPrefix(objName(caller.Fn.Proto, pc, argA(i), 0), "method '") {
			n--
			if n == 0 {
				return pos + "calling '" + name + "' on bad self (" + detail
			}
		}
	}
	return pos + "bad argument #" + strconv.Itoa(n) + " to '" + name + "' (" + detail
}

// nameOperand adds C Lua's description of the variable at fault to "attempt to <op> a
// <type> value", from the instruction at pc; bad is the operand at fault (1 or 2 for
// arithmetic, the argument's position for the concat call).
func nameOperand(p *lua.FunctionProto, pc int, body string, bad int) string {
	rest, _ := strings.CutPrefix(body, "attempt to ")
	what, typ, ok := strings.Cut(rest, " a ")
	if !ok || strings.Count(typ, " ") != 1 || !strings.HasSuffix(typ, " value") {
		return body
	}
	i := p.Code[pc]
	reg := -1
	switch opOf(i) {
	case lua.OP_GETTABLE, lua.OP_GETTABLEKS, lua.OP_SELF:
		if what == "index" {
			reg = argB(i)
		}
	case lua.OP_SETTABLE, lua.OP_SETTABLEKS:
		if what == "index" {
			reg = argA(i)
		}
	case lua.OP_UNM:
		if what == "perform arithmetic on" {
			reg = argB(i)
		}
	case lua.OP_LEN:
		if what == "get length of" {
			reg = argB(i)
		}
	case lua.OP_ADD, lua.OP_SUB, lua.OP_MUL, lua.OP_DIV, lua.OP_MOD, lua.OP_POW:
		if what == "perform arithmetic on" {
			reg = argC(i)
			if bad == 1 {
				reg = argB(i)
			}
			if reg&rkBit != 0 {
				reg = -1 // a constant: C Lua names nothing
			}
		}
	case lua.OP_CALL, lua.OP_TAILCALL:
		switch what {
		case "call":
			reg = argA(i)
		case "concatenate":
			if bad > 0 {
				reg = argA(i) + bad
			}
		}
	}
	if reg < 0 {
		return body
	}
	desc := objName(p, pc, reg, 0)
	if desc == "" {
		return body
	}
	return "attempt to " + what + " " + desc + " (a " + typ + ")"
}
