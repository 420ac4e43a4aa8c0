package luaapi

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// The .. operator. gopher-lua's VM turns numbers into strings with Go's shortest
// representation (1/3 .. "" is "0.3333333333333333"); C Lua uses "%.14g"
// ("0.33333333333333"), and so do Redis scripts. The VM offers no hook for that, so
// scripts are compiled with every chain of .. rewritten as a call of a Go function that
// concatenates as C Lua's VM does: right to left, runs of strings and numbers joined at
// once, anything else through __concat. Its global name, "(concat)", cannot be written
// in Lua source, so no script can shadow it or call it by name.

const concatName = "(concat)"

// compileChunk parses and compiles source with the .. rewrite. Errors are gopher-lua's
// syntax or compile errors.
func (s *State) compileChunk(source, name string) (*lua.LFunction, error) {
	chunk, err := parse.Parse(strings.NewReader(source), name)
	if err != nil {
		return nil, err
	}
	var r concatRewriter
	r.stmts(chunk)
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		return nil, err
	}
	fn := s.L.NewFunctionFromProto(proto)
	fn.Env = s.proxy
	return fn, nil
}

// concat is what a chain a .. b .. c compiles to: (concat)(a, b, c).
func (s *State) concat(L *lua.LState) int {
	top := L.GetTop()
	for top > 1 {
		a, b := L.Get(top-1), L.Get(top)
		if !isStringOrNumber(a) || !isStringOrNumber(b) {
			mm := L.GetMetaField(a, "__concat")
			if mm == lua.LNil {
				mm = L.GetMetaField(b, "__concat")
			}
			if mm == lua.LNil {
				bad := a
				s.badOperand = top - 1
				if isStringOrNumber(a) {
					bad = b
					s.badOperand = top
				}
				L.RaiseError("attempt to concatenate a %s value", bad.Type().String())
			}
			L.Push(mm)
			L.Push(a)
			L.Push(b)
			L.Call(2, 1)
			L.Replace(top-1, L.Get(-1))
			L.Pop(1)
			top--
			continue
		}
		first := top - 1
		for first > 1 && isStringOrNumber(L.Get(first-1)) {
			first--
		}
		size := 0
		for i := first; i <= top; i++ {
			if str, ok := L.Get(i).(lua.LString); ok {
				size += len(str)
			} else {
				size += 24
			}
		}
		if size > MaxString {
			L.RaiseError("not enough memory")
		}
		buf := make([]byte, 0, size)
		for i := first; i <= top; i++ {
			switch x := L.Get(i).(type) {
			case lua.LString:
				buf = append(buf, x...)
			case lua.LNumber:
				buf = append(buf, FormatNumber(float64(x))...)
			}
		}
		L.Replace(first, lua.LString(buf))
		top = first
	}
	L.Push(L.Get(1))
	return 1
}

func isStringOrNumber(v lua.LValue) bool {
	t := v.Type()
	return t == lua.LTString || t == lua.LTNumber
}

// concatRewriter replaces every StringConcatOpExpr of a chunk by a call of (concat).
type concatRewriter struct{}

func (r concatRewriter) stmts(list []ast.Stmt) {
	for _, st := range list {
		r.stmt(st)
	}
}

func (r concatRewriter) stmt(st ast.Stmt) {
	switch x := st.(type) {
	case *ast.AssignStmt:
		r.exprs(x.Lhs)
		r.exprs(x.Rhs)
	case *ast.LocalAssignStmt:
		r.exprs(x.Exprs)
	case *ast.FuncCallStmt:
		x.Expr = r.expr(x.Expr)
	case *ast.DoBlockStmt:
		r.stmts(x.Stmts)
	case *ast.WhileStmt:
		x.Condition = r.expr(x.Condition)
		r.stmts(x.Stmts)
	case *ast.RepeatStmt:
		x.Condition = r.expr(x.Condition)
		r.stmts(x.Stmts)
	case *ast.IfStmt:
		x.Condition = r.expr(x.Condition)
		r.stmts(x.Then)
		r.stmts(x.Else)
	case *ast.NumberForStmt:
		x.Init = r.expr(x.Init)
		x.Limit = r.expr(x.Limit)
		if x.Step != nil {
			x.Step = r.expr(x.Step)
		}
		rewriteFor(x)
		r.stmts(x.Stmts)
	case *ast.GenericForStmt:
		r.exprs(x.Exprs)
		r.stmts(x.Stmts)
	case *ast.FuncDefStmt:
		if x.Name != nil {
			x.Name.Func = r.expr(x.Name.Func)
			x.Name.Receiver = r.expr(x.Name.Receiver)
		}
		if x.Func != nil {
			r.stmts(x.Func.Stmts)
		}
	case *ast.ReturnStmt:
		r.exprs(x.Exprs)
	}
}

func (r concatRewriter) exprs(list []ast.Expr) {
	for i := range list {
		list[i] = r.expr(list[i])
	}
}

func (r concatRewriter) expr(e ast.Expr) ast.Expr {
	switch x := e.(type) {
	case *ast.AttrGetExpr:
		x.Object = r.expr(x.Object)
		x.Key = r.expr(x.Key)
	case *ast.TableExpr:
		for _, f := range x.Fields {
			f.Key = r.expr(f.Key)
			f.Value = r.expr(f.Value)
		}
	case *ast.FuncCallExpr:
		x.Func = r.expr(x.Func)
		x.Receiver = r.expr(x.Receiver)
		r.exprs(x.Args)
	case *ast.LogicalOpExpr:
		x.Lhs = r.expr(x.Lhs)
		x.Rhs = r.expr(x.Rhs)
	case *ast.RelationalOpExpr:
		x.Lhs = r.expr(x.Lhs)
		x.Rhs = r.expr(x.Rhs)
	case *ast.ArithmeticOpExpr:
		x.Lhs = r.expr(x.Lhs)
		x.Rhs = r.expr(x.Rhs)
	case *ast.UnaryMinusOpExpr:
		x.Expr = r.expr(x.Expr)
	case *ast.UnaryNotOpExpr:
		x.Expr = r.expr(x.Expr)
	case *ast.UnaryLenOpExpr:
		x.Expr = r.expr(x.Expr)
	case *ast.FunctionExpr:
		r.stmts(x.Stmts)
	case *ast.StringConcatOpExpr:
		// a .. b .. c is a .. (b .. c), one CONCAT instruction in C Lua: one call here
		var args []ast.Expr
		cur := x
		for {
			args = append(args, r.expr(cur.Lhs))
			next, ok := cur.Rhs.(*ast.StringConcatOpExpr)
			if !ok {
				args = append(args, r.expr(cur.Rhs))
				break
			}
			cur = next
		}
		fn := &ast.IdentExpr{Value: concatName}
		fn.SetLine(x.Line())
		fn.SetLastLine(x.LastLine())
		// AdjustRet: one result, and never a tail call, so errors keep the caller's line
		call := &ast.FuncCallExpr{Func: fn, Args: args, AdjustRet: true}
		call.SetLine(x.Line())
		call.SetLastLine(x.LastLine())
		return call
	}
	return e
}
