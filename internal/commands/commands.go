// Package commands is the declarative table of every Redis 7.0 command (name, arity, flags,
// ACL categories, tips, key specs, docs) that COMMAND, key extraction, ACL and cluster routing read.
package commands

import (
	"strings"
)

// Flag is a command flag as COMMAND INFO reports it (plus a few Redis keeps hidden).
type Flag uint64

// Command flags, declared in the order COMMAND INFO lists them.
const (
	FlagWrite Flag = 1 << iota
	FlagReadOnly
	FlagDenyOOM
	FlagModule
	FlagAdmin
	FlagPubSub
	FlagNoScript
	FlagBlocking
	FlagLoading
	FlagStale
	FlagSkipMonitor
	FlagSkipSlowlog
	FlagAsking
	FlagFast
	FlagNoAuth
	FlagMayReplicate // hidden by Redis in COMMAND INFO
	FlagNoMandatoryKeys
	FlagProtected // hidden by Redis in COMMAND INFO
	FlagNoAsyncLoading
	FlagNoMulti
	FlagMovableKeys // derived from the key specs, never written in the table
	FlagAllowBusy
	flagEnd
)

var flagNames = [...]string{
	"write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking",
	"loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth",
	"may_replicate", "no_mandatory_keys", "protected", "no_async_loading", "no_multi",
	"movablekeys", "allow_busy",
}

// hiddenFlags are real flags that Redis leaves out of COMMAND INFO.
const hiddenFlags = FlagMayReplicate | FlagProtected

// Names returns the flag names in COMMAND INFO order, hidden ones included.
func (f Flag) Names() []string {
	var out []string
	for i := 0; Flag(1)<<i < flagEnd; i++ {
		if f&(1<<i) != 0 {
			out = append(out, flagNames[i])
		}
	}
	return out
}

// FlagByName returns the flag with that COMMAND INFO name (lower case), or 0.
func FlagByName(name string) Flag {
	for i, n := range flagNames {
		if n == name {
			return 1 << i
		}
	}
	return 0
}

// ACLCat is a set of ACL categories.
type ACLCat uint64

// ACL categories, in the order Redis lists them (ACL CAT, COMMAND INFO).
const (
	CatKeyspace ACLCat = 1 << iota
	CatRead
	CatWrite
	CatSet
	CatSortedSet
	CatList
	CatHash
	CatString
	CatBitmap
	CatHyperLogLog
	CatGeo
	CatStream
	CatPubSub
	CatAdmin
	CatFast
	CatSlow
	CatBlocking
	CatDangerous
	CatConnection
	CatTransaction
	CatScripting
	catEnd
)

var catNames = [...]string{
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
	"hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
	"connection", "transaction", "scripting",
}

// CategoryNames lists every ACL category name in Redis's order, as ACL CAT prints them.
func CategoryNames() []string { return append([]string(nil), catNames[:]...) }

// Names returns the category names (without '@') in Redis's order.
func (c ACLCat) Names() []string {
	var out []string
	for i := 0; ACLCat(1)<<i < catEnd; i++ {
		if c&(1<<i) != 0 {
			out = append(out, catNames[i])
		}
	}
	return out
}

// CategoryByName returns the category with that name (no '@', any case), or 0.
func CategoryByName(name string) ACLCat {
	for i, n := range catNames {
		if strings.EqualFold(n, name) {
			return 1 << i
		}
	}
	return 0
}

// KeyFlag describes how a command uses the keys one key spec finds.
type KeyFlag uint32

// Key spec flags, in the order COMMAND INFO lists them.
const (
	KeyRO KeyFlag = 1 << iota
	KeyRW
	KeyOW
	KeyRM
	KeyAccess
	KeyUpdate
	KeyInsert
	KeyDelete
	KeyNotKey
	KeyIncomplete
	KeyVariableFlags
	keyFlagEnd
)

var keyFlagNames = [...]string{
	"RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key", "incomplete",
	"variable_flags",
}

// Names returns the key flag names in COMMAND INFO order.
func (f KeyFlag) Names() []string {
	var out []string
	for i := 0; KeyFlag(1)<<i < keyFlagEnd; i++ {
		if f&(1<<i) != 0 {
			out = append(out, keyFlagNames[i])
		}
	}
	return out
}

// SearchKind says how a key spec finds where its keys begin.
type SearchKind uint8

// Begin-search kinds.
const (
	SearchUnknown SearchKind = iota
	SearchIndex              // at a fixed argument index
	SearchKeyword            // after a keyword, searched from StartFrom (negative: from the end, backwards)
)

// BeginSearch is the first half of a key spec.
type BeginSearch struct {
	Kind      SearchKind
	Pos       int    // SearchIndex
	Keyword   string // SearchKeyword
	StartFrom int    // SearchKeyword
}

// FindKind says how a key spec finds its keys once it knows where they begin.
type FindKind uint8

// Find-keys kinds.
const (
	FindUnknown FindKind = iota
	FindRange            // LastKey (relative, negative counts from the end), KeyStep, Limit
	FindKeyNum           // the key count is at KeyNumIdx; keys start at FirstKey
)

// FindKeys is the second half of a key spec.
type FindKeys struct {
	Kind      FindKind
	LastKey   int // FindRange
	KeyStep   int // both kinds
	Limit     int // FindRange
	KeyNumIdx int // FindKeyNum
	FirstKey  int // FindKeyNum
}

// KeySpec locates one group of key arguments in a command's arguments.
type KeySpec struct {
	Notes string
	Flags KeyFlag
	BS    BeginSearch
	FK    FindKeys
}

// Index is a begin-search at a fixed argument position.
func Index(pos int) BeginSearch { return BeginSearch{Kind: SearchIndex, Pos: pos} }

// Keyword is a begin-search after a keyword.
func Keyword(kw string, startFrom int) BeginSearch {
	return BeginSearch{Kind: SearchKeyword, Keyword: kw, StartFrom: startFrom}
}

// Range finds keys from the begin-search position to lastKey, every step.
func Range(lastKey, step, limit int) FindKeys {
	return FindKeys{Kind: FindRange, LastKey: lastKey, KeyStep: step, Limit: limit}
}

// KeyNum finds a key count at keyNumIdx and that many keys from firstKey.
func KeyNum(keyNumIdx, firstKey, step int) FindKeys {
	return FindKeys{Kind: FindKeyNum, KeyNumIdx: keyNumIdx, FirstKey: firstKey, KeyStep: step}
}

// DocFlag is a COMMAND DOCS doc flag.
type DocFlag uint8

// Doc flags, in COMMAND DOCS order.
const (
	DocDeprecated DocFlag = 1 << iota
	DocSyscmd
)

// Spec is everything known about one command or subcommand.
type Spec struct {
	Name       string // lower case; a subcommand's is "container|sub", as COMMAND INFO shows it
	Arity      int
	Flags      Flag
	ACL        ACLCat // the categories Redis reports, fast/slow and implied ones included
	Tips       []string
	KeySpecs   []KeySpec
	Group      string // COMMAND DOCS group: "string", "generic", "sorted-set", ...
	Since      string
	Complexity string
	Summary    string // our own one-line summary

	DocFlags        DocFlag
	DeprecatedSince string
	ReplacedBy      string

	Subcommands []*Spec
	Parent      *Spec // the container, for a subcommand

	subName           string // "get" for "config|get"
	subs              map[string]*Spec
	first, last, step int
}

// IsContainer reports whether the command only exists through its subcommands.
func (s *Spec) IsContainer() bool { return len(s.Subcommands) > 0 }

// SubName returns the name after the '|' for a subcommand, the name otherwise.
func (s *Spec) SubName() string {
	if s.Parent != nil {
		return s.subName
	}
	return s.Name
}

// FirstKey returns the first key position of the legacy (first, last, step) triple.
func (s *Spec) FirstKey() int { return s.first }

// LastKey returns the last key position of the legacy triple (negative: from the end).
func (s *Spec) LastKey() int { return s.last }

// Step returns the step of the legacy triple.
func (s *Spec) Step() int { return s.step }

// Sub returns the subcommand with that name (any case), or nil.
func (s *Spec) Sub(name string) *Spec {
	if s.subs == nil {
		return nil
	}
	if sp, ok := s.subs[name]; ok {
		return sp
	}
	var buf [64]byte
	if len(name) > len(buf) {
		return nil
	}
	return s.subs[string(lowerInto(buf[:0], name))]
}

// SubBytes is Sub for a raw argument.
func (s *Spec) SubBytes(name []byte) *Spec {
	if s.subs == nil {
		return nil
	}
	var buf [64]byte
	if len(name) > len(buf) {
		return nil
	}
	return s.subs[string(lowerBytesInto(buf[:0], name))]
}

var (
	all    []*Spec
	byName map[string]*Spec
)

func init() {
	byName = make(map[string]*Spec, 256)
	for _, group := range table {
		for _, s := range group {
			all = append(all, s)
			byName[s.Name] = s
			finish(s, nil)
		}
	}
}

// finish links subcommands to their container and derives what Redis derives at start-up.
func finish(s, parent *Spec) {
	s.Parent = parent
	if parent != nil {
		s.subName = strings.TrimPrefix(s.Name, parent.Name+"|")
	}
	s.Flags &^= FlagMovableKeys
	s.first, s.last, s.step = 0, 0, 0
	deriveLegacyRange(s)
	if len(s.Subcommands) > 0 {
		s.subs = make(map[string]*Spec, len(s.Subcommands))
		for _, sub := range s.Subcommands {
			finish(sub, s)
			s.subs[sub.subName] = sub
		}
	}
}

// deriveLegacyRange computes (first, last, step) and the movablekeys flag from the key
// specs the way Redis 7.0 does: consecutive plain index/range specs merge into one range,
// anything else (keyword or keynum specs, steps other than 1, gaps, incomplete specs)
// makes the command's keys "movable".
func deriveLegacyRange(s *Spec) {
	if len(s.KeySpecs) == 0 {
		return
	}
	movable := false
	if len(s.KeySpecs) == 1 && s.KeySpecs[0].BS.Kind == SearchIndex && s.KeySpecs[0].FK.Kind == FindRange {
		ks := s.KeySpecs[0]
		s.first, s.step = ks.BS.Pos, ks.FK.KeyStep
		s.last = ks.FK.LastKey
		if s.last >= 0 {
			s.last += ks.BS.Pos
		}
		if ks.Flags&KeyIncomplete != 0 {
			s.Flags |= FlagMovableKeys
		}
		return
	}
	first, last, prevLast := int(^uint(0)>>1), 0, 0
	for _, ks := range s.KeySpecs {
		if ks.BS.Kind != SearchIndex || ks.FK.Kind != FindRange {
			movable = true
			continue
		}
		if ks.FK.KeyStep != 1 || (prevLast != 0 && prevLast != ks.BS.Pos-1) {
			movable = true
			continue
		}
		if ks.Flags&KeyIncomplete != 0 {
			movable = true
		}
		first = min(first, ks.BS.Pos)
		abs := ks.FK.LastKey
		if abs >= 0 {
			abs += ks.BS.Pos
		}
		// Redis compares as unsigned here, so a negative ("to the end") last key wins.
		if uint(abs) > uint(last) {
			last = abs
		}
		prevLast = last
	}
	if movable {
		s.Flags |= FlagMovableKeys
	}
	if first == int(^uint(0)>>1) {
		return
	}
	s.first, s.last, s.step = first, last, 1
}

// All returns every top-level command in table order (group by group, then by name).
func All() []*Spec { return all }

// Lookup returns the top-level command with that name (any case), or nil. It does not
// allocate.
func Lookup(name string) *Spec {
	if s, ok := byName[name]; ok {
		return s
	}
	var buf [64]byte
	if len(name) > len(buf) {
		return nil
	}
	return byName[string(lowerInto(buf[:0], name))]
}

// LookupBytes is Lookup for a raw argument.
func LookupBytes(name []byte) *Spec {
	var buf [64]byte
	if len(name) > len(buf) {
		return nil
	}
	return byName[string(lowerBytesInto(buf[:0], name))]
}

// Resolve finds the command an argument vector runs: the top-level command, or for a
// container given a second argument, that subcommand (nil if there is no such subcommand).
func Resolve(args [][]byte) *Spec {
	if len(args) == 0 {
		return nil
	}
	s := LookupBytes(args[0])
	if s == nil || len(args) == 1 || s.subs == nil {
		return s
	}
	return s.SubBytes(args[1])
}

// LookupFull finds a command by its full name, "get" or "config|get" (any case).
func LookupFull(name string) *Spec {
	if i := strings.IndexByte(name, '|'); i >= 0 {
		c := Lookup(name[:i])
		if c == nil {
			return nil
		}
		return c.Sub(name[i+1:])
	}
	return Lookup(name)
}

func lowerInto(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func lowerBytesInto(dst, s []byte) []byte {
	for _, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
