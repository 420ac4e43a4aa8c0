package luaapi

import (
	lua "github.com/yuin/gopher-lua"
)

// Per-call savings for EVAL scripts. A script reads its globals (redis, KEYS, ARGV,
// string...) through the read-only proxy: three table lookups each. Scripts cannot assign
// globals, so a global that exists when a script is compiled keeps its value for the
// script's life, and its reads can be compiled as constants: the GETGLOBAL instructions
// of the script's functions become LOADK of the value. KEYS and ARGV change with every
// call, so they are two permanent tables refilled in place (their contents and any field
// a script added are reset before each call); if a script leaves hash fields in one, it
// is replaced, and the constants that name it are updated.

// argTables are the KEYS and ARGV tables and the constants that refer to them.
type argTables struct {
	tabs  [2]*lua.LTable // KEYS, ARGV
	sites []foldSite
}

type foldSite struct {
	proto *lua.FunctionProto
	idx   int
	which int // index into tabs
}

var argNames = [2]string{"KEYS", "ARGV"}

// initArgTables creates KEYS and ARGV, in the state of EVAL scripts only (functions have
// no such globals); CompileFunction calls it before the first script is compiled.
func (s *State) initArgTables() {
	for i, name := range argNames {
		t := s.L.CreateTable(8, 0)
		s.args.tabs[i] = t
		s.real.RawSetString(name, t)
	}
}

// SetGlobalArgs sets KEYS and ARGV the way EVAL passes them.
func (s *State) SetGlobalArgs(keys, args [][]byte) {
	s.refill(0, keys)
	s.refill(1, args)
}

// refill puts items into KEYS (which 0) or ARGV (1) as Lua strings, reusing the strings
// already there when the bytes are the same.
func (s *State) refill(which int, items [][]byte) {
	t := s.args.tabs[which]
	top := t.MaxN()
	var last lua.LValue = lua.LNil // Next(0) would skip the first hash key
	if top > 0 {
		last = lua.LNumber(top)
	}
	if k, _ := t.Next(last); k != lua.LNil || t.Metatable != lua.LNil {
		// the last script added fields: a fresh table, named by every folded constant
		t = s.L.CreateTable(len(items), 0)
		s.args.tabs[which] = t
		s.real.RawSetString(argNames[which], t)
		for _, site := range s.args.sites {
			if site.which == which {
				site.proto.Constants[site.idx] = t
			}
		}
		top = 0
	}
	for i, b := range items {
		if old, ok := t.RawGetInt(i + 1).(lua.LString); !ok || string(old) != string(b) {
			t.RawSetInt(i+1, lua.LString(b))
		}
	}
	for i := top; i > len(items); i-- {
		t.RawSetInt(i, lua.LNil)
	}
}

// foldGlobals rewrites the global reads of p and its nested functions as constants, for
// every global that exists now.
func (s *State) foldGlobals(p *lua.FunctionProto) {
	var targets map[int]bool // jump targets, computed when first needed
	for pc, inst := range p.Code {
		if int(inst>>26) != lua.OP_GETGLOBAL {
			continue
		}
		name, ok := p.Constants[inst&0x3ffff].(lua.LString)
		if !ok {
			continue
		}
		v := s.real.RawGetString(string(name))
		if v == lua.LNil {
			continue // a missing global raises its error at run time
		}
		idx := len(p.Constants)
		if idx > 0x3ffff {
			return
		}
		p.Constants = append(p.Constants, v)
		for i, t := range s.args.tabs {
			if v == t {
				s.args.sites = append(s.args.sites, foldSite{p, idx, i})
			}
		}
		a := (inst >> 18) & 0xff
		p.Code[pc] = uint32(lua.OP_LOADK)<<26 | a<<18 | uint32(idx)
		// A read-only library never changes either, so redis.call, string.format... are
		// constants too: the field read that follows in the same register becomes a LOADK
		// of the field, unless a jump lands on it (the register may then hold another table).
		back, ok := v.(*lua.LTable)
		if !ok || !s.readOnly(back) || pc+1 >= len(p.Code) || len(p.Constants) > 0x3fffe {
			continue
		}
		next := p.Code[pc+1]
		kc := int(next>>9) & 0x1ff
		if int(next>>26) != lua.OP_GETTABLEKS || (next>>18)&0xff != a || next&0x1ff != a || kc&0x100 == 0 {
			continue
		}
		key, ok := p.Constants[kc&0xff].(lua.LString)
		if !ok {
			continue
		}
		field := s.backing(back).RawGetString(string(key))
		if field == lua.LNil {
			continue
		}
		if targets == nil {
			targets = jumpTargets(p.Code)
		}
		if targets[pc+1] {
			continue
		}
		p.Constants = append(p.Constants, field)
		p.Code[pc+1] = uint32(lua.OP_LOADK)<<26 | a<<18 | uint32(len(p.Constants)-1)
	}
	for _, child := range p.FunctionPrototypes {
		s.foldGlobals(child)
	}
}

// okStatus is the string of the status reply scripts see most: redis.call('set', ...).
const okStatus = lua.LString("OK")

// statusTable is the {ok=...} table a status reply becomes. The one for +OK is shared
// between calls as long as nothing changed it: building a table with a string key costs
// gopher-lua four allocations, more than the command it answers. Scripts see a
// difference only by comparing two such replies with rawequal or ==.
func (s *State) statusTable(line []byte) *lua.LTable {
	if string(line) != string(okStatus) {
		t := s.L.CreateTable(0, 1)
		t.RawSetString("ok", lua.LString(line))
		return t
	}
	if t := s.okTable; t != nil && t.Metatable == lua.LNil && t.MaxN() == 0 && t.RawGetString("ok") == okStatus {
		if k, _ := t.Next(lua.LString("ok")); k == lua.LNil {
			return t
		}
	}
	t := s.L.CreateTable(0, 1)
	t.RawSetString("ok", okStatus)
	s.okTable = t
	return t
}

// jumpTargets is the set of instructions of code that something other than the
// instruction before them can pass control to.
func jumpTargets(code []uint32) map[int]bool {
	const maxSbx = 1<<17 - 1
	t := map[int]bool{}
	for pc, inst := range code {
		switch int(inst >> 26) {
		case lua.OP_JMP, lua.OP_FORPREP, lua.OP_FORLOOP:
			t[pc+1+int(inst&0x3ffff)-maxSbx] = true
		case lua.OP_EQ, lua.OP_LT, lua.OP_LE, lua.OP_TEST, lua.OP_TESTSET, lua.OP_TFORLOOP, lua.OP_LOADBOOL:
			t[pc+2] = true
		}
	}
	return t
}
