package luaapi

import (
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
)

// Numeric for loops. C Lua converts strings that hold numbers in a loop's initial value,
// limit and step (for i = 1, ARGV[1] works), and refuses anything else with
// "'for' initial value must be a number" (limit, step), checking the three in that order
// after evaluating all three. gopher-lua's VM refuses strings. So at compile time the
// bounds that may be strings are wrapped: the initial value and limit in (fornum), which
// converts a numeric string and passes anything else on for the VM to refuse (its message
// is reworded by cMessage); a step that may be a string in (forstep), which also sees the
// first two, already evaluated, through the loop's hidden locals, and checks all three in
// C Lua's order. Literals and arithmetic need nothing, so for i = 1, #t costs no call.
// The names cannot be written in Lua source.

const (
	forNumName  = "(fornum)"
	forStepName = "(forstep)"
)

func (s *State) openForLoop() {
	s.L.G.Global.RawSetString(forNumName, s.L.NewFunction(forNum))
	s.L.G.Global.RawSetString(forStepName, s.L.NewFunction(forStep))
}

func forNum(L *lua.LState) int {
	v := L.Get(1)
	if str, ok := v.(lua.LString); ok {
		if f, ok := str2number(string(str)); ok {
			v = lua.LNumber(f)
		}
	}
	L.Push(v)
	return 1
}

func forStep(L *lua.LState) int {
	if _, ok := L.Get(1).(lua.LNumber); !ok {
		L.RaiseError("'for' initial value must be a number")
	}
	if _, ok := L.Get(2).(lua.LNumber); !ok {
		L.RaiseError("'for' limit must be a number")
	}
	f, ok := toNumber(L.Get(3))
	if !ok || L.GetTop() < 3 {
		L.RaiseError("'for' step must be a number")
	}
	L.Push(lua.LNumber(f))
	return 1
}

// rewriteFor wraps the bounds of a numeric for that may be strings.
func rewriteFor(x *ast.NumberForStmt) {
	// C Lua reports the loop's errors at its "do", which follows the last bound; so does
	// gopher-lua's VM from the statement's line
	last := x.Limit
	if x.Step != nil {
		last = x.Step
	}
	line := max(last.Line(), last.LastLine(), x.Line())
	x.SetLine(line)
	call := func(name string, args ...ast.Expr) ast.Expr {
		fn := &ast.IdentExpr{Value: name}
		fn.SetLine(line)
		fn.SetLastLine(line)
		c := &ast.FuncCallExpr{Func: fn, Args: args, AdjustRet: true}
		c.SetLine(line)
		c.SetLastLine(line)
		return c
	}
	local := func(name string) ast.Expr {
		id := &ast.IdentExpr{Value: name}
		id.SetLine(line)
		id.SetLastLine(line)
		return id
	}
	if mayBeString(x.Init) {
		x.Init = call(forNumName, x.Init)
	}
	if mayBeString(x.Limit) {
		x.Limit = call(forNumName, x.Limit)
	}
	if x.Step != nil && mayBeString(x.Step) {
		// the compiler has registered the loop's hidden locals when it compiles the step
		x.Step = call(forStepName, local("(for index)"), local("(for limit)"), x.Step)
	}
}

// mayBeString reports whether e can evaluate to a string (or to a value whose error is
// not the VM's): anything but number literals, arithmetic and lengths.
func mayBeString(e ast.Expr) bool {
	switch e.(type) {
	case *ast.NumberExpr, *ast.ArithmeticOpExpr, *ast.UnaryMinusOpExpr, *ast.UnaryLenOpExpr:
		return false
	}
	return true
}
