package luaapi

import (
	lua "github.com/yuin/gopher-lua"
)

// Read-only tables. Redis 7.0 marks every table of the sandbox read-only (the globals, the
// libraries, the string metatable): an assignment fails with "Attempt to modify a readonly
// table" (with the script's position), rawset, setmetatable and table.insert with the same
// words and no position. gopher-lua has no such mark, and its VM writes a key that already
// exists straight into the table, without looking at __newindex. So a protected table is
// an empty proxy: every key is missing from it, reads fall through its metatable's
// __index to the backing table that holds the contents, and every write reaches
// __newindex, which refuses it. Script code never holds a backing table: the functions
// that would see the difference (next, pairs, ipairs, rawget, unpack, table.*,
// getmetatable, setmetatable, rawset, cjson and cmsgpack) look through the proxy. Tables a
// script creates have no metatable and pay nothing; a read of a library field costs one
// more table lookup.

// freeze makes a read-only proxy of t; t itself stays writable and must not be handed to
// scripts.
func (s *State) freeze(t *lua.LTable) *lua.LTable {
	if s.roNewindex == nil {
		s.roNewindex = s.L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("Attempt to modify a readonly table")
			return 0
		})
	}
	p := s.L.CreateTable(0, 0)
	mt := s.L.CreateTable(0, 2)
	mt.RawSetString("__index", t)
	mt.RawSetString("__newindex", s.roNewindex)
	p.Metatable = mt
	s.frozen[p] = t
	s.proxyOf[t] = p
	return p
}

// freezeDeep freezes t and every table reachable from it; a table met twice (or
// containing itself) gets one proxy.
func (s *State) freezeDeep(t *lua.LTable) *lua.LTable {
	if p := s.proxyOf[t]; p != nil {
		return p
	}
	if _, ok := s.frozen[t]; ok {
		return t
	}
	p := s.freeze(t)
	var keys []lua.LValue
	t.ForEach(func(k, v lua.LValue) {
		if _, ok := v.(*lua.LTable); ok {
			keys = append(keys, k)
		}
	})
	for _, k := range keys {
		t.RawSet(k, s.freezeDeep(t.RawGet(k).(*lua.LTable)))
	}
	return p
}

// backing is the table behind a read-only proxy, or t itself.
func (s *State) backing(t *lua.LTable) *lua.LTable {
	if t.Metatable == lua.LNil {
		return t // what scripts make: no map lookup
	}
	if b := s.frozen[t]; b != nil {
		return b
	}
	return t
}

// readOnly reports whether t is a read-only proxy.
func (s *State) readOnly(t *lua.LTable) bool {
	if t.Metatable == lua.LNil {
		return false
	}
	_, ok := s.frozen[t]
	return ok
}

// freezeLibraries puts every table among the globals (and the string metatable) behind a
// read-only proxy. KEYS and ARGV, made later, stay writable, as in Redis.
func (s *State) freezeLibraries() {
	L := s.L
	g := L.G.Global
	var names []string
	g.ForEach(func(k, v lua.LValue) {
		if t, ok := v.(*lua.LTable); ok && t != g { // _G is protected on its own
			if ks, ok := k.(lua.LString); ok {
				names = append(names, string(ks))
			}
		}
	})
	for _, name := range names {
		g.RawSetString(name, s.freezeDeep(g.RawGetString(name).(*lua.LTable)))
	}
	// The VM keeps using the string metatable it has (its __index is the string library's
	// backing table, so method calls cost nothing more); scripts see Redis's: a read-only
	// table whose __index is the string library.
	view := L.CreateTable(0, 1)
	view.RawSetString("__index", g.RawGetString("string"))
	s.stringMeta = s.freeze(view)
	// the table functions see through proxies, and refuse to write into them
	if tab, ok := s.frozen[g.RawGetString("table").(*lua.LTable)]; ok {
		for _, name := range []string{"concat", "getn", "maxn"} {
			if fn, ok := tab.RawGetString(name).(*lua.LFunction); ok && fn.GFunction != nil {
				tab.RawSetString(name, L.NewFunction(s.seeThrough(fn.GFunction)))
			}
		}
		for _, name := range []string{"insert", "remove", "sort"} {
			if fn, ok := tab.RawGetString(name).(*lua.LFunction); ok && fn.GFunction != nil {
				tab.RawSetString(name, L.NewFunction(s.refuseWrite(name, fn.GFunction)))
			}
		}
	}
	if fn, ok := g.RawGetString("unpack").(*lua.LFunction); ok && fn.GFunction != nil {
		g.RawSetString("unpack", L.NewFunction(s.seeThrough(fn.GFunction)))
	}
	g.RawSetString("rawget", L.NewFunction(s.rawget))
	g.RawSetString("next", L.NewFunction(s.next))
	nextFn := g.RawGetString("next")
	g.RawSetString("pairs", L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		L.Push(nextFn)
		L.Push(s.backing(t))
		L.Push(lua.LNil)
		return 3
	}))
	ipairsAux := L.NewFunction(ipairsAux)
	g.RawSetString("ipairs", L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		L.Push(ipairsAux)
		L.Push(s.backing(t))
		L.Push(lua.LNumber(0))
		return 3
	}))
}

// seeThrough runs fn with its first argument replaced by the table behind it.
func (s *State) seeThrough(fn lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		if t, ok := L.Get(1).(*lua.LTable); ok && t.Metatable != lua.LNil {
			L.Replace(1, s.backing(t))
		}
		return fn(L)
	}
}

// refuseWrite wraps table.insert, remove and sort: on a read-only table they fail where C
// Lua would store the first element, which remove and sort never do on an empty table.
func (s *State) refuseWrite(name string, fn lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		t, ok := L.Get(1).(*lua.LTable)
		if !ok || !s.readOnly(t) {
			return fn(L)
		}
		n := s.backing(t).Len()
		switch {
		case name == "remove" && n == 0:
			return 0
		case name == "sort" && n < 2:
			return 0
		}
		return readonlyError(L)
	}
}

func (s *State) rawget(L *lua.LState) int {
	t := L.CheckTable(1)
	L.Push(s.backing(t).RawGet(L.CheckAny(2)))
	return 1
}

func (s *State) next(L *lua.LState) int {
	t := s.backing(L.CheckTable(1))
	k, v := t.Next(L.Get(2))
	if k == lua.LNil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(k)
	L.Push(v)
	return 2
}

func ipairsAux(L *lua.LState) int {
	t := L.CheckTable(1)
	i := L.CheckInt(2) + 1
	v := t.RawGetInt(i)
	if v == lua.LNil {
		return 0
	}
	L.Push(lua.LNumber(i))
	L.Push(v)
	return 2
}

// RestrictGlobals makes the globals, until restore is called, a read-only table holding
// only names (reads of anything else fail as a missing global does): Redis 7.0 runs a
// library's load code with nothing but its own redis table.
func (s *State) RestrictGlobals(names map[string]lua.LValue) (restore func()) {
	L := s.L
	t := L.CreateTable(0, len(names))
	for k, v := range names {
		t.RawSetString(k, v)
	}
	t.Metatable = s.real.Metatable // the missing-global error
	mt := s.proxy.Metatable.(*lua.LTable)
	prev := mt.RawGetString("__index")
	mt.RawSetString("__index", t)
	s.frozen[s.proxy] = t
	return func() {
		mt.RawSetString("__index", prev)
		s.frozen[s.proxy] = s.real
	}
}

// Protect returns a read-only proxy of t, the table scripts must be given instead of t.
func (s *State) Protect(t *lua.LTable) *lua.LTable { return s.freeze(t) }
