package config

import (
	"fmt"
	"strconv"
	"strings"
)

type kind uint8

const (
	kindBool kind = iota
	kindNum
	kindString
	kindEnum
	kindFlags   // an enum whose values combine as bit flags (shutdown-on-*)
	kindSpecial // own parse/format/rewrite functions
)

type dflag uint16

const (
	fImmutable   dflag = 1 << iota // CONFIG SET refuses it
	fProtected                     // CONFIG SET needs enable-protected-configs
	fHidden                        // only an exact CONFIG GET name finds it
	fMulti                         // a single value is split on spaces
	fSensitive                     // redact from logs and MONITOR
	fDenyLoading                   // CONFIG SET refused while loading data
)

type numFmt uint8

const (
	numPlain numFmt = iota
	numMemory
	numMemoryPercent
	numOctal
)

type enumName struct {
	name string
	val  int64
}

// directive describes one Redis config directive: its names, type, bounds,
// default and the slot holding its current value in state.
type directive struct {
	name    string
	alias   string
	kind    kind
	flags   dflag
	pending bool

	// kindNum: lo/hi are inclusive bounds; when unsigned they are compared
	// (and printed) as uint64, as Redis does for unsigned C types.
	num      numFmt
	unsigned bool
	lo, hi   int64
	def      int64

	defStr    string
	emptyNull bool // "" means unset: CONFIG REWRITE writes no line

	enum []enumName

	validStr func(c *Config, s string) string
	validNum func(v int64) string

	sp *special

	slot int
}

// special holds the functions of a directive with its own syntax.
type special struct {
	set       func(c *Config, args []string) string
	get       func(c *Config) string
	rewrite   func(c *Config, d *directive, rw *rewriter)
	isDefault func(c *Config) bool
}

func (d *directive) has(f dflag) bool { return d.flags&f != 0 }

// apply parses args and stores the value; it returns a Redis reason text on
// failure and leaves the value untouched.
func (c *Config) apply(d *directive, args []string) string {
	if d.has(fMulti) && len(args) == 1 {
		// Redis splits a lone argument of a multi-argument directive on
		// spaces, so `save "900 1 300 10"` works in files and CONFIG SET.
		args = splitSpaces(args[0])
	}
	if d.kind == kindSpecial {
		return d.sp.set(c, args)
	}
	if d.kind == kindFlags {
		return c.applyFlags(d, args)
	}
	if len(args) != 1 {
		return errWrongArgs
	}
	v := args[0]
	switch d.kind {
	case kindBool:
		switch strings.ToLower(v) {
		case "yes":
			c.st.nums[d.slot] = 1
		case "no":
			c.st.nums[d.slot] = 0
		default:
			return errYesNo
		}
	case kindNum:
		n, reason := d.parseNum(v)
		if reason != "" {
			return reason
		}
		if reason := d.checkBounds(n); reason != "" {
			return reason
		}
		if d.validNum != nil {
			if reason := d.validNum(n); reason != "" {
				return reason
			}
		}
		c.st.nums[d.slot] = n
	case kindString:
		if d.validStr != nil {
			if reason := d.validStr(c, v); reason != "" {
				return reason
			}
		}
		c.st.strs[d.slot] = v
	case kindEnum:
		for _, e := range d.enum {
			if strings.EqualFold(e.name, v) {
				c.st.nums[d.slot] = e.val
				return ""
			}
		}
		return d.enumError()
	}
	return ""
}

func (d *directive) enumError() string {
	names := make([]string, len(d.enum))
	for i, e := range d.enum {
		names[i] = e.name
	}
	return "argument(s) must be one of the following: " + strings.Join(names, ", ")
}

func (c *Config) applyFlags(d *directive, args []string) string {
	if len(args) == 0 {
		return d.enumError()
	}
	var v int64
	for _, a := range args {
		found := false
		for _, e := range d.enum {
			if strings.EqualFold(e.name, a) {
				v |= e.val
				found = true
				break
			}
		}
		if !found {
			return d.enumError()
		}
	}
	if d.validNum != nil {
		if reason := d.validNum(v); reason != "" {
			return reason
		}
	}
	c.st.nums[d.slot] = v
	return ""
}

func (d *directive) parseNum(s string) (int64, string) {
	if d.num == numMemory || d.num == numMemoryPercent {
		if v, ok := parseMemory(s); ok {
			return int64(v), ""
		}
	}
	if d.num == numMemoryPercent && len(s) > 1 && s[len(s)-1] == '%' {
		// Percentages are stored negated, as Redis does.
		if v, ok := parseStrictInt(s[:len(s)-1]); ok && v >= 0 {
			return -v, ""
		}
	}
	switch d.num {
	case numOctal:
		if v, ok, over := parseCLong(s, 8); ok && !over {
			return v, ""
		}
		return 0, errNotOctal
	case numMemory:
		return 0, errNotMemory
	case numMemoryPercent:
		return 0, errNotMemoryPercent
	}
	if v, ok := parseStrictInt(s); ok {
		return v, ""
	}
	return 0, errNotInteger
}

func (d *directive) checkBounds(v int64) string {
	if d.unsigned {
		u, lo, hi := uint64(v), uint64(d.lo), uint64(d.hi)
		if u > hi || u < lo {
			if d.num == numOctal {
				return fmt.Sprintf("argument must be between %o and %o inclusive", lo, hi)
			}
			return fmt.Sprintf("argument must be between %d and %d inclusive", lo, hi)
		}
		return ""
	}
	if d.num == numMemoryPercent && v < 0 {
		if v < d.lo {
			return fmt.Sprintf("percentage argument must be less or equal to %d", -d.lo)
		}
		return ""
	}
	if v > d.hi || v < d.lo {
		return fmt.Sprintf("argument must be between %d and %d inclusive", d.lo, d.hi)
	}
	return ""
}

// format renders the current value exactly as CONFIG GET prints it.
func (c *Config) format(d *directive) string {
	switch d.kind {
	case kindBool:
		if c.st.nums[d.slot] != 0 {
			return "yes"
		}
		return "no"
	case kindNum:
		v := c.st.nums[d.slot]
		switch {
		case d.num == numMemoryPercent && v < 0:
			return strconv.FormatInt(-v, 10) + "%"
		case d.num == numMemory || d.num == numMemoryPercent:
			return strconv.FormatUint(uint64(v), 10)
		case d.num == numOctal:
			return strconv.FormatUint(uint64(v), 8)
		}
		return strconv.FormatInt(v, 10)
	case kindString:
		return c.st.strs[d.slot]
	case kindEnum:
		v := c.st.nums[d.slot]
		for _, e := range d.enum {
			if e.val == v {
				return e.name
			}
		}
		return "unknown"
	case kindFlags:
		v := c.st.nums[d.slot]
		var names []string
		for _, e := range d.enum {
			if e.val == 0 {
				if v == 0 {
					return e.name
				}
				continue
			}
			if v&e.val == e.val {
				names = append(names, e.name)
			}
		}
		return strings.Join(names, " ")
	}
	return d.sp.get(c)
}

// isDefault reports whether the value equals the built-in default, which
// decides whether CONFIG REWRITE must add a line for it.
func (c *Config) isDefault(d *directive) bool {
	switch d.kind {
	case kindString:
		return c.st.strs[d.slot] == d.defStr
	case kindSpecial:
		return d.sp.isDefault(c)
	}
	return c.st.nums[d.slot] == d.def
}

// reset puts the built-in default in place.
func (c *Config) resetDefault(d *directive) {
	switch d.kind {
	case kindString:
		c.st.strs[d.slot] = d.defStr
	case kindSpecial:
	default:
		c.st.nums[d.slot] = d.def
	}
}
