package commands

import (
	"errors"
	"strconv"
)

// Errors of COMMAND GETKEYS, with Redis's texts.
var (
	ErrInvalidCommand = errors.New("ERR Invalid command specified")
	ErrNoKeyArgs      = errors.New("ERR The command has no key arguments")
	ErrGetKeysArity   = errors.New("ERR Invalid number of arguments specified for command")
	ErrInvalidArgs    = errors.New("ERR Invalid arguments specified for command")
	// ErrGetKeysNoCommand is COMMAND GETKEYS's own arity error (no command given).
	ErrGetKeysNoCommand = errors.New("ERR wrong number of arguments for 'command|getkeys' command")
)

// KeyRef is one key argument found by the key specs: its position and how it is used.
type KeyRef struct {
	Pos   int
	Flags KeyFlag
}

// getKeysProcs are the commands whose keys Redis finds with code of its own when the key
// specs cannot (an unknown, incomplete or variable-flags spec, or a bad key count).
var getKeysProcs = map[string]func(args [][]byte) []KeyRef{
	"zunion":            func(a [][]byte) []KeyRef { return numKeysAt(a, 1, 2, -1) },
	"zinter":            func(a [][]byte) []KeyRef { return numKeysAt(a, 1, 2, -1) },
	"zdiff":             func(a [][]byte) []KeyRef { return numKeysAt(a, 1, 2, -1) },
	"zintercard":        func(a [][]byte) []KeyRef { return numKeysAt(a, 1, 2, -1) },
	"zunionstore":       func(a [][]byte) []KeyRef { return numKeysAt(a, 2, 3, 1) },
	"zinterstore":       func(a [][]byte) []KeyRef { return numKeysAt(a, 2, 3, 1) },
	"zdiffstore":        func(a [][]byte) []KeyRef { return numKeysAt(a, 2, 3, 1) },
	"sintercard":        func(a [][]byte) []KeyRef { return numKeysAt(a, 1, 2, -1) },
	"eval":              evalKeys,
	"evalsha":           evalKeys,
	"eval_ro":           evalKeys,
	"evalsha_ro":        evalKeys,
	"fcall":             evalKeys,
	"fcall_ro":          evalKeys,
	"sort":              sortKeys,
	"sort_ro":           func(a [][]byte) []KeyRef { return []KeyRef{{1, KeyRO | KeyAccess}} },
	"migrate":           migrateKeys,
	"georadius":         georadiusKeys,
	"georadiusbymember": georadiusKeys,
	"xread":             xreadKeys,
	"xreadgroup":        xreadKeys,
	"lmpop":             func(a [][]byte) []KeyRef { return mpopKeys(a, 1) },
	"zmpop":             func(a [][]byte) []KeyRef { return mpopKeys(a, 1) },
	"blmpop":            func(a [][]byte) []KeyRef { return mpopKeys(a, 2) },
	"bzmpop":            func(a [][]byte) []KeyRef { return mpopKeys(a, 2) },
	"set":               setKeys,
	"bitfield":          bitfieldKeys,
}

// HasKeys reports whether the command takes key arguments at all (COMMAND GETKEYS refuses
// the others).
func (s *Spec) HasKeys() bool {
	if getKeysProcs[s.Name] != nil {
		return true
	}
	for _, ks := range s.KeySpecs {
		if ks.Flags&KeyNotKey == 0 {
			return true
		}
	}
	return false
}

// CommandGetKeys answers COMMAND GETKEYS for args (the command and its arguments): the
// positions in args of the keys, or one of Redis's errors.
func CommandGetKeys(args [][]byte) ([]int, error) {
	refs, err := CommandGetKeysAndFlags(args)
	return positions(refs), err
}

// CommandGetKeysAndFlags answers COMMAND GETKEYSANDFLAGS.
func CommandGetKeysAndFlags(args [][]byte) ([]KeyRef, error) {
	if len(args) < 2 {
		return nil, ErrGetKeysNoCommand
	}
	s := Resolve(args)
	if s == nil {
		return nil, ErrInvalidCommand
	}
	return s.GetKeysAndFlags(args)
}

func positions(refs []KeyRef) []int {
	if refs == nil {
		return nil
	}
	out := make([]int, len(refs))
	for i, r := range refs {
		out[i] = r.Pos
	}
	return out
}

// GetKeys returns the positions in args (the whole argument vector, command name first)
// of the keys the command would touch, as COMMAND GETKEYS reports them; cluster routing
// and ACL key checks use the same positions.
func (s *Spec) GetKeys(args [][]byte) ([]int, error) {
	refs, err := s.GetKeysAndFlags(args)
	return positions(refs), err
}

// GetKeysAndFlags is GetKeys with the way each key is used, as COMMAND GETKEYSANDFLAGS
// reports it.
func (s *Spec) GetKeysAndFlags(args [][]byte) ([]KeyRef, error) {
	if !s.HasKeys() {
		return nil, ErrNoKeyArgs
	}
	n := len(args)
	if (s.Arity > 0 && s.Arity != n) || n < -s.Arity {
		return nil, ErrGetKeysArity
	}
	keys, ok := s.keysFromSpecs(args)
	if !ok {
		keys = nil
		if proc := getKeysProcs[s.Name]; proc != nil {
			keys = proc(args)
		}
	}
	if len(keys) == 0 {
		if s.Flags&FlagNoMandatoryKeys != 0 {
			return []KeyRef{}, nil
		}
		return nil, ErrInvalidArgs
	}
	return keys, nil
}

// keysFromSpecs walks the key specs; ok is false when a spec cannot be followed (unknown,
// incomplete, variable flags, out of range) and Redis falls back to its own code.
func (s *Spec) keysFromSpecs(args [][]byte) (keys []KeyRef, ok bool) {
	real := false
	for _, ks := range s.KeySpecs {
		if ks.Flags&KeyVariableFlags != 0 {
			return nil, false
		}
		if ks.Flags&KeyNotKey == 0 {
			real = true
		}
	}
	if !real {
		return nil, false
	}
	argc := len(args)
	for _, ks := range s.KeySpecs {
		if ks.Flags&KeyNotKey != 0 {
			continue
		}
		first := 0
		switch ks.BS.Kind {
		case SearchIndex:
			first = ks.BS.Pos
		case SearchKeyword:
			first = findKeyword(args, ks.BS.Keyword, ks.BS.StartFrom)
			if first == 0 {
				continue
			}
		default:
			return nil, false
		}
		var last, step int
		switch ks.FK.Kind {
		case FindRange:
			step = ks.FK.KeyStep
			switch {
			case ks.FK.LastKey >= 0:
				last = first + ks.FK.LastKey
			case ks.FK.Limit == 0:
				last = argc + ks.FK.LastKey
			default:
				last = first + ((argc-first)/ks.FK.Limit + ks.FK.LastKey)
			}
		case FindKeyNum:
			step = ks.FK.KeyStep
			idx := first + ks.FK.KeyNumIdx
			if ks.FK.KeyNumIdx < 0 || idx >= argc {
				return nil, false
			}
			num, err := strconv.ParseInt(string(args[idx]), 10, 64)
			if err != nil || num < 0 || !strictInt(args[idx]) {
				return nil, false
			}
			first += ks.FK.FirstKey
			// Redis narrows the count to a C int, so 4294967297 keys means 1.
			last = first + int(int32(num)) - 1
		default:
			return nil, false
		}
		if last >= argc || last < first || first >= argc {
			return nil, false
		}
		for i := first; i <= last; i += step {
			keys = append(keys, KeyRef{Pos: i, Flags: ks.Flags})
		}
		if ks.Flags&KeyIncomplete != 0 {
			return nil, false
		}
	}
	return keys, true
}

// findKeyword returns the position after kw searching from startFrom (negative: that far
// from the end, walking back), or 0 if absent.
func findKeyword(args [][]byte, kw string, startFrom int) int {
	argc := len(args)
	start, end := startFrom, argc-1
	if startFrom <= 0 {
		start, end = argc+startFrom, 1
	}
	for i := start; i != end; {
		if i >= argc || i < 1 {
			break
		}
		if equalFold(args[i], kw) {
			return i + 1
		}
		if start <= end {
			i++
		} else {
			i--
		}
	}
	return 0
}

// strictInt reports whether b is a canonical decimal integer, as Redis's string2ll demands
// (no '+', no leading zeros, no spaces).
func strictInt(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if b[0] == '-' {
		b = b[1:]
		if len(b) == 0 {
			return false
		}
	}
	if len(b) > 1 && b[0] == '0' {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// atoi parses the leading decimal digits the way C's atoi does: junk after them is
// ignored and no digits at all is 0.
func atoi(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	n := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int(b[i]-'0')
		if n > 1<<31 {
			n = 1 << 31
		}
	}
	if neg {
		return -n
	}
	return n
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// numKeysAt reads a key count at numIdx with atoi, keys following from firstKey; dest >= 0
// is a destination key listed after them. Redis's own code here gives the keys no flags.
func numKeysAt(args [][]byte, numIdx, firstKey, dest int) []KeyRef {
	if numIdx >= len(args) {
		return nil
	}
	num := atoi(args[numIdx])
	if num < 1 || num > len(args)-firstKey {
		return nil
	}
	var keys []KeyRef
	for i := 0; i < num; i++ {
		keys = append(keys, KeyRef{Pos: firstKey + i})
	}
	if dest >= 0 {
		keys = append(keys, KeyRef{Pos: dest})
	}
	return keys
}

func evalKeys(args [][]byte) []KeyRef {
	if len(args) < 3 {
		return nil
	}
	num := atoi(args[2])
	if num <= 0 || num > len(args)-3 {
		return nil
	}
	keys := make([]KeyRef, num)
	for i := range keys {
		keys[i] = KeyRef{Pos: 3 + i}
	}
	return keys
}

func mpopKeys(args [][]byte, numIdx int) []KeyRef {
	if numIdx >= len(args) {
		return nil
	}
	num := atoi(args[numIdx])
	if num <= 0 || num > len(args)-numIdx-1 {
		return nil
	}
	keys := make([]KeyRef, num)
	for i := range keys {
		keys[i] = KeyRef{Pos: numIdx + 1 + i}
	}
	return keys
}

// sortKeys reproduces SORT's rule: the sorted key, then the destination of the last STORE,
// skipping the arguments of LIMIT, GET and BY.
func sortKeys(args [][]byte) []KeyRef {
	keys := []KeyRef{{Pos: 1, Flags: KeyRO | KeyAccess}}
	store := -1
	for i := 2; i < len(args); i++ {
		switch {
		case equalFold(args[i], "limit"):
			i += 2
		case equalFold(args[i], "get"), equalFold(args[i], "by"):
			i++
		case equalFold(args[i], "store") && i+1 < len(args):
			store = i + 1
		}
	}
	if store >= 0 {
		keys = append(keys, KeyRef{Pos: store, Flags: KeyOW | KeyUpdate})
	}
	return keys
}

// migrateKeys: the key at 3, or with an empty key there, everything after KEYS (the
// arguments of AUTH and AUTH2 are skipped; KEYS with a key at 3 is an error).
func migrateKeys(args [][]byte) []KeyRef {
	first, num := 3, 1
	for i := 6; i < len(args); i++ {
		switch {
		case equalFold(args[i], "auth"):
			i++
		case equalFold(args[i], "auth2"):
			i += 2
		case equalFold(args[i], "keys"):
			if len(args[3]) != 0 {
				return nil
			}
			first, num = i+1, len(args)-i-1
			i = len(args)
		}
	}
	keys := make([]KeyRef, 0, num)
	for i := 0; i < num; i++ {
		keys = append(keys, KeyRef{Pos: first + i, Flags: KeyRW | KeyAccess | KeyDelete})
	}
	return keys
}

// georadiusKeys: the key, and the destination of the last STORE or STOREDIST.
func georadiusKeys(args [][]byte) []KeyRef {
	keys := []KeyRef{{Pos: 1, Flags: KeyRO | KeyAccess}}
	stored := -1
	for i := 5; i < len(args); i++ {
		if (equalFold(args[i], "store") || equalFold(args[i], "storedist")) && i+1 < len(args) {
			stored = i + 1
			i++
		}
	}
	if stored >= 0 {
		keys = append(keys, KeyRef{Pos: stored, Flags: KeyOW | KeyUpdate})
	}
	return keys
}

// xreadKeys: the first half of what follows STREAMS; an odd count is an error.
func xreadKeys(args [][]byte) []KeyRef {
	streams := 0
	for i := 1; i < len(args); i++ {
		if equalFold(args[i], "streams") {
			streams = i
			break
		}
	}
	if streams == 0 {
		return nil
	}
	n := len(args) - streams - 1
	if n == 0 || n%2 != 0 {
		return nil
	}
	fl := KeyRO | KeyAccess
	if equalFold(args[0], "xreadgroup") {
		fl = KeyRW | KeyAccess | KeyUpdate
	}
	keys := make([]KeyRef, 0, n/2)
	for i := streams + 1; i < streams+1+n/2; i++ {
		keys = append(keys, KeyRef{Pos: i, Flags: fl})
	}
	return keys
}

// setKeys: SET overwrites its key, unless GET also reads the old value.
func setKeys(args [][]byte) []KeyRef {
	for _, a := range args[3:] {
		if equalFold(a, "get") {
			return []KeyRef{{Pos: 1, Flags: KeyRW | KeyAccess | KeyUpdate}}
		}
	}
	return []KeyRef{{Pos: 1, Flags: KeyOW | KeyUpdate}}
}

// bitfieldKeys: BITFIELD only reads its key when every operation is a well-formed GET
// (OVERFLOW aside); anything else, syntax errors included, counts as a write.
func bitfieldKeys(args [][]byte) []KeyRef {
	rw := []KeyRef{{Pos: 1, Flags: KeyRW | KeyAccess | KeyUpdate}}
	for i := 2; i < len(args); i++ {
		rest := len(args) - i - 1
		switch {
		case equalFold(args[i], "get") && rest >= 2:
			i += 2
		case equalFold(args[i], "overflow") && rest >= 1:
			i++
		default:
			return rw
		}
	}
	return []KeyRef{{Pos: 1, Flags: KeyRO | KeyAccess}}
}
