package commands

import (
	"github.com/sard-kv/sard/internal/resp"
)

// Filter says whether a command exists on this server, by full name ("get", "config|get").
// A nil Filter lets everything through.
type Filter func(name string) bool

func (f Filter) ok(s *Spec) bool { return f == nil || f(s.Name) }

// WriteInfo writes one command's COMMAND INFO entry as Redis 7.0 does.
func WriteInfo(w *resp.Writer, s *Spec) { WriteInfoFiltered(w, s, nil) }

// WriteInfoFiltered is WriteInfo listing only the subcommands the filter lets through.
func WriteInfoFiltered(w *resp.Writer, s *Spec, f Filter) {
	w.Array(10)
	w.BulkString(s.Name)
	w.Int(int64(s.Arity))
	visible := s.Flags &^ hiddenFlags
	w.Set(popcount(uint64(visible)))
	for _, n := range visible.Names() {
		w.Status(n)
	}
	w.Int(int64(s.first))
	w.Int(int64(s.last))
	w.Int(int64(s.step))
	w.Set(popcount(uint64(s.ACL)))
	for _, n := range s.ACL.Names() {
		w.Status("@" + n)
	}
	w.Set(len(s.Tips))
	for _, t := range s.Tips {
		w.BulkString(t)
	}
	w.Set(len(s.KeySpecs))
	for i := range s.KeySpecs {
		writeKeySpec(w, &s.KeySpecs[i])
	}
	subs := visibleSubs(s, f)
	// Redis replies an empty set, not an empty array, for a command without subcommands.
	if subs == nil {
		w.Set(0)
		return
	}
	w.Array(len(subs))
	for _, sub := range subs {
		WriteInfoFiltered(w, sub, f)
	}
}

func visibleSubs(s *Spec, f Filter) []*Spec {
	if len(s.Subcommands) == 0 {
		return nil
	}
	if f == nil {
		return s.Subcommands
	}
	out := make([]*Spec, 0, len(s.Subcommands))
	for _, sub := range s.Subcommands {
		if f(sub.Name) {
			out = append(out, sub)
		}
	}
	return out
}

func writeKeySpec(w *resp.Writer, ks *KeySpec) {
	n := 3
	if ks.Notes != "" {
		n++
		w.Map(n)
		w.BulkString("notes")
		w.BulkString(ks.Notes)
	} else {
		w.Map(n)
	}
	w.BulkString("flags")
	names := ks.Flags.Names()
	w.Set(len(names))
	for _, fl := range names {
		w.Status(fl)
	}
	w.BulkString("begin_search")
	w.Map(2)
	w.BulkString("type")
	switch ks.BS.Kind {
	case SearchIndex:
		w.BulkString("index")
		w.BulkString("spec")
		w.Map(1)
		w.BulkString("index")
		w.Int(int64(ks.BS.Pos))
	case SearchKeyword:
		w.BulkString("keyword")
		w.BulkString("spec")
		w.Map(2)
		w.BulkString("keyword")
		w.BulkString(ks.BS.Keyword)
		w.BulkString("startfrom")
		w.Int(int64(ks.BS.StartFrom))
	default:
		w.BulkString("unknown")
		w.BulkString("spec")
		w.Map(0)
	}
	w.BulkString("find_keys")
	w.Map(2)
	w.BulkString("type")
	switch ks.FK.Kind {
	case FindRange:
		w.BulkString("range")
		w.BulkString("spec")
		w.Map(3)
		w.BulkString("lastkey")
		w.Int(int64(ks.FK.LastKey))
		w.BulkString("keystep")
		w.Int(int64(ks.FK.KeyStep))
		w.BulkString("limit")
		w.Int(int64(ks.FK.Limit))
	case FindKeyNum:
		w.BulkString("keynum")
		w.BulkString("spec")
		w.Map(3)
		w.BulkString("keynumidx")
		w.Int(int64(ks.FK.KeyNumIdx))
		w.BulkString("firstkey")
		w.Int(int64(ks.FK.FirstKey))
		w.BulkString("keystep")
		w.Int(int64(ks.FK.KeyStep))
	default:
		w.BulkString("unknown")
		w.BulkString("spec")
		w.Map(0)
	}
}

func popcount(x uint64) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// WriteCommand answers COMMAND with no arguments: the INFO entry of every command.
func WriteCommand(w *resp.Writer, f Filter) {
	d := w.Defer()
	n := 0
	for _, s := range all {
		if f.ok(s) {
			WriteInfoFiltered(w, s, f)
			n++
		}
	}
	w.FillArray(d, n)
}

// WriteCommandInfo answers COMMAND INFO name...: one entry per name, a null for an unknown
// one ("config|get" names a subcommand); with no names, every command.
func WriteCommandInfo(w *resp.Writer, names [][]byte, f Filter) {
	if len(names) == 0 {
		WriteCommand(w, f)
		return
	}
	w.Array(len(names))
	for _, name := range names {
		s := LookupFull(string(name))
		if s == nil || !f.ok(s) {
			w.Null()
			continue
		}
		WriteInfoFiltered(w, s, f)
	}
}

// Count answers COMMAND COUNT.
func Count(f Filter) int {
	n := 0
	for _, s := range all {
		if f.ok(s) {
			n++
		}
	}
	return n
}

// WriteDocs writes one command's COMMAND DOCS entry (the map that follows its name). It
// leaves out the history and arguments fields, which Redis fills from its own docs.
func WriteDocs(w *resp.Writer, s *Spec) { WriteDocsFiltered(w, s, nil) }

// WriteDocsFiltered is WriteDocs listing only the subcommands the filter lets through.
func WriteDocsFiltered(w *resp.Writer, s *Spec, f Filter) {
	n := 3 // summary, since, group
	if s.Complexity != "" {
		n++
	}
	if s.DocFlags != 0 {
		n++
	}
	if s.DeprecatedSince != "" {
		n++
	}
	if s.ReplacedBy != "" {
		n++
	}
	subs := visibleSubs(s, f)
	if subs != nil {
		n++
	}
	w.Map(n)
	w.BulkString("summary")
	w.BulkString(s.Summary)
	w.BulkString("since")
	w.BulkString(s.Since)
	w.BulkString("group")
	w.BulkString(s.Group)
	if s.Complexity != "" {
		w.BulkString("complexity")
		w.BulkString(s.Complexity)
	}
	if s.DocFlags != 0 {
		w.BulkString("doc_flags")
		w.Set(popcount(uint64(s.DocFlags)))
		if s.DocFlags&DocDeprecated != 0 {
			w.Status("deprecated")
		}
		if s.DocFlags&DocSyscmd != 0 {
			w.Status("syscmd")
		}
	}
	if s.DeprecatedSince != "" {
		w.BulkString("deprecated_since")
		w.BulkString(s.DeprecatedSince)
	}
	if s.ReplacedBy != "" {
		w.BulkString("replaced_by")
		w.BulkString(s.ReplacedBy)
	}
	if subs != nil {
		w.BulkString("subcommands")
		w.Map(len(subs))
		for _, sub := range subs {
			w.BulkString(sub.Name)
			WriteDocsFiltered(w, sub, f)
		}
	}
}

// WriteCommandDocs answers COMMAND DOCS [name...]: a map from name to docs, skipping
// unknown names; with no names, every command.
func WriteCommandDocs(w *resp.Writer, names [][]byte, f Filter) {
	d := w.Defer()
	n := 0
	one := func(s *Spec) {
		w.BulkString(s.Name)
		WriteDocsFiltered(w, s, f)
		n++
	}
	if len(names) == 0 {
		for _, s := range all {
			if f.ok(s) {
				one(s)
			}
		}
	} else {
		for _, name := range names {
			if s := LookupFull(string(name)); s != nil && f.ok(s) {
				one(s)
			}
		}
	}
	w.FillMap(d, n)
}

// ListFilter is the FILTERBY clause of COMMAND LIST.
type ListFilter struct {
	Kind  ListFilterKind
	Arg   string                          // module name, ACL category or pattern
	Match func(pattern, name string) bool // case-insensitive glob, for ListByPattern
}

// ListFilterKind selects a COMMAND LIST filter.
type ListFilterKind uint8

// COMMAND LIST filters.
const (
	ListAll ListFilterKind = iota
	ListByModule
	ListByACLCat
	ListByPattern
)

// WriteList answers COMMAND LIST [FILTERBY ...]: the full names of commands and their
// subcommands.
func WriteList(w *resp.Writer, f Filter, lf ListFilter) {
	d := w.Defer()
	n := 0
	var cat ACLCat
	if lf.Kind == ListByACLCat {
		cat = CategoryByName(lf.Arg)
	}
	keep := func(s *Spec) bool {
		switch lf.Kind {
		case ListByModule:
			return false // no module commands here
		case ListByACLCat:
			return cat != 0 && s.ACL&cat != 0
		case ListByPattern:
			return lf.Match != nil && lf.Match(lf.Arg, s.Name)
		}
		return true
	}
	var walk func(list []*Spec)
	walk = func(list []*Spec) {
		for _, s := range list {
			if !f.ok(s) {
				continue
			}
			if keep(s) {
				w.BulkString(s.Name)
				n++
			}
			walk(s.Subcommands)
		}
	}
	walk(all)
	w.FillArray(d, n)
}
