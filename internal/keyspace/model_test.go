package keyspace

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// Model-based test: random operation sequences run against a DB and a plain
// map; after every step the two must agree and the DB's invariants must hold.
// An open SCAN runs through the sequence and must return every key that was
// present for its whole duration.

type mval struct {
	isObj    bool
	str      string
	obj      int
	typ, enc uint8
	ttl      int64
}

type scanState struct {
	cursor   uint64
	required map[string]bool // present at the start and not removed since
	seen     map[string]bool
}

type machine struct {
	db      *DB
	m       map[string]*mval
	nextObj int
	bulk    int
	scan    *scanState
	scans   int // completed scans, for the report
}

func slotOf(k string) uint16 { return uint16(crc32.ChecksumIEEE([]byte(k)) % 8) }

func (mc *machine) removed(k string) {
	delete(mc.m, k)
	if mc.scan != nil {
		delete(mc.scan.required, k)
	}
}

func drawKey(t *rapid.T, label string) string {
	i := rapid.IntRange(0, 60).Draw(t, label)
	if i == 0 {
		// Longer than a test page: gets a dedicated page.
		return strings.Repeat("L", 300) + fmt.Sprint(rapid.IntRange(0, 2).Draw(t, label+"L"))
	}
	return fmt.Sprintf("k%d", i)
}

func drawVal(t *rapid.T, label string) []byte {
	n := rapid.IntRange(0, 130).Draw(t, label+"len")
	b := rapid.Byte().Draw(t, label+"byte")
	v := make([]byte, n)
	for i := range v {
		v[i] = b + byte(i)
	}
	return v
}

func (mc *machine) existing(t *rapid.T, label string, strOnly bool) (string, bool) {
	var ks []string
	for k, v := range mc.m {
		if !strOnly || !v.isObj {
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 {
		return "", false
	}
	slices.Sort(ks)
	return rapid.SampledFrom(ks).Draw(t, label), true
}

func (mc *machine) lookup(t *rapid.T, k string) Ref {
	r, ok := mc.db.Lookup([]byte(k))
	if !ok {
		t.Fatalf("key %q missing", k)
	}
	return r
}

func (mc *machine) actions() map[string]func(*rapid.T) {
	db := mc.db
	return map[string]func(*rapid.T){
		"set": func(t *rapid.T) {
			k, v := drawKey(t, "key"), drawVal(t, "val")
			keep := rapid.Bool().Draw(t, "keepTTL")
			enc := uint8(rapid.IntRange(0, 15).Draw(t, "enc"))
			_, existed := db.SetString([]byte(k), slotOf(k), v, enc, keep)
			old, had := mc.m[k]
			if existed != had {
				t.Fatalf("SetString(%q) existed=%v, model %v", k, existed, had)
			}
			ttl := NoExpire
			if had && keep {
				ttl = old.ttl
			}
			mc.m[k] = &mval{str: string(v), typ: TypeString, enc: enc, ttl: ttl}
		},
		"setObj": func(t *rapid.T) {
			k := drawKey(t, "key")
			typ := uint8(rapid.IntRange(1, 5).Draw(t, "typ"))
			keep := rapid.Bool().Draw(t, "keepTTL")
			mc.nextObj++
			_, existed := db.SetObj([]byte(k), slotOf(k), typ, 1, mc.nextObj, keep)
			old, had := mc.m[k]
			if existed != had {
				t.Fatalf("SetObj(%q) existed=%v, model %v", k, existed, had)
			}
			ttl := NoExpire
			if had && keep {
				ttl = old.ttl
			}
			mc.m[k] = &mval{isObj: true, obj: mc.nextObj, typ: typ, enc: 1, ttl: ttl}
		},
		"setStr": func(t *rapid.T) {
			k, ok := mc.existing(t, "key", true)
			if !ok {
				return
			}
			r := mc.lookup(t, k)
			var v []byte
			if rapid.Bool().Draw(t, "alias") {
				cur := db.Str(r)
				v = cur[rapid.IntRange(0, len(cur)).Draw(t, "from"):]
			} else {
				v = drawVal(t, "val")
			}
			want := string(v)
			db.SetStr(r, v, 2)
			mc.m[k].str, mc.m[k].enc = want, 2
		},
		"strForUpdate": func(t *rapid.T) {
			k, ok := mc.existing(t, "key", true)
			if !ok {
				return
			}
			n := rapid.IntRange(0, 150).Draw(t, "n")
			b := db.StrForUpdate(mc.lookup(t, k), n)
			old := mc.m[k].str
			want := make([]byte, n)
			copy(want, old)
			if !bytes.Equal(b, want) {
				t.Fatalf("StrForUpdate(%q,%d) = %q want %q", k, n, b, want)
			}
			if n > 0 {
				b[n-1] = 'Z'
				want[n-1] = 'Z'
			}
			mc.m[k].str = string(want)
		},
		"delete": func(t *rapid.T) {
			k := drawKey(t, "key")
			_, had := mc.m[k]
			if got := db.Delete([]byte(k)); got != had {
				t.Fatalf("Delete(%q) = %v, model %v", k, got, had)
			}
			mc.removed(k)
		},
		"deleteRef": func(t *rapid.T) {
			k, ok := mc.existing(t, "key", false)
			if !ok {
				return
			}
			db.DeleteRef(mc.lookup(t, k))
			mc.removed(k)
		},
		"rename": func(t *rapid.T) {
			src, ok := mc.existing(t, "src", false)
			if !ok {
				return
			}
			dst := drawKey(t, "dst")
			db.Rename(mc.lookup(t, src), []byte(dst), slotOf(dst))
			if src == dst {
				return
			}
			v := mc.m[src]
			mc.removed(src)
			mc.m[dst] = v // dst stays present for SCAN's purposes
		},
		"expire": func(t *rapid.T) {
			k, ok := mc.existing(t, "key", false)
			if !ok {
				return
			}
			ms := int64(rapid.IntRange(-1, 1000).Draw(t, "ms"))
			db.SetExpireAt(mc.lookup(t, k), ms)
			mc.m[k].ttl = ms
		},
		"clear": func(t *rapid.T) {
			if rapid.IntRange(0, 20).Draw(t, "rare") != 0 {
				return
			}
			db.Clear()
			for k := range mc.m {
				mc.removed(k)
			}
		},
		"bulkAdd": func(t *rapid.T) {
			n := rapid.IntRange(1, 150).Draw(t, "n")
			for i := 0; i < n; i++ {
				mc.bulk++
				k := fmt.Sprintf("b%d", mc.bulk)
				db.SetString([]byte(k), slotOf(k), []byte(k), 0, false)
				mc.m[k] = &mval{str: k, ttl: NoExpire}
			}
		},
		"bulkDel": func(t *rapid.T) {
			keep := rapid.IntRange(0, 9).Draw(t, "keepOneIn")
			i := 0
			for _, k := range slices.Sorted(func(yield func(string) bool) {
				for k := range mc.m {
					if !yield(k) {
						return
					}
				}
			}) {
				if i++; keep == 0 || i%(keep+1) != 0 {
					db.Delete([]byte(k))
					mc.removed(k)
				}
			}
		},
		"scanStep": func(t *rapid.T) {
			if mc.scan == nil {
				mc.scan = &scanState{required: map[string]bool{}, seen: map[string]bool{}}
				for k := range mc.m {
					mc.scan.required[k] = true
				}
			}
			for n := rapid.IntRange(1, 4).Draw(t, "steps"); n > 0; n-- {
				mc.scan.cursor = db.Scan(mc.scan.cursor, func(r Ref) { mc.scan.seen[keyOf(db, r)] = true })
				if mc.scan.cursor == 0 {
					for k := range mc.scan.required {
						if !mc.scan.seen[k] {
							t.Fatalf("SCAN missed %q, present throughout", k)
						}
					}
					mc.scan = nil
					mc.scans++
					return
				}
			}
		},
		"rehash": func(t *rapid.T) {
			db.RehashStep(rapid.IntRange(1, 5).Draw(t, "n"))
		},
		"compact": func(t *rapid.T) {
			db.Compact(rapid.IntRange(1, 3).Draw(t, "n"))
		},
		"randomKey": func(t *rapid.T) {
			r, ok := db.RandomKey(func(n int) int { return rapid.IntRange(0, n-1).Draw(t, "rnd") })
			if ok != (len(mc.m) > 0) {
				t.Fatalf("RandomKey ok=%v with %d keys", ok, len(mc.m))
			}
			if ok && mc.m[keyOf(db, r)] == nil {
				t.Fatalf("RandomKey returned unknown key %q", keyOf(db, r))
			}
		},
	}
}

func (mc *machine) check(t *rapid.T) {
	db := mc.db
	if err := db.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	if db.Len() != len(mc.m) {
		t.Fatalf("Len %d, model %d", db.Len(), len(mc.m))
	}
	exp := 0
	var perSlot [8]int
	for k, v := range mc.m {
		r := mc.lookup(t, k)
		if db.Type(r) != v.typ || db.Enc(r) != v.enc || db.ExpireAt(r) != v.ttl || db.Slot(r) != slotOf(k) {
			t.Fatalf("%q: type %d/%d enc %d/%d ttl %d/%d slot %d/%d", k, db.Type(r), v.typ,
				db.Enc(r), v.enc, db.ExpireAt(r), v.ttl, db.Slot(r), slotOf(k))
		}
		if v.isObj {
			if db.Obj(r) != v.obj || db.Str(r) != nil {
				t.Fatalf("%q: obj %v want %v", k, db.Obj(r), v.obj)
			}
		} else if string(db.Str(r)) != v.str || db.Obj(r) != nil {
			t.Fatalf("%q: value %q want %q", k, db.Str(r), v.str)
		}
		if v.ttl != NoExpire {
			exp++
		}
		perSlot[slotOf(k)]++
	}
	if db.ExpiresLen() != exp {
		t.Fatalf("ExpiresLen %d, model %d", db.ExpiresLen(), exp)
	}
	for s, n := range perSlot {
		if db.SlotLen(uint16(s)) != n {
			t.Fatalf("SlotLen(%d) = %d, model %d", s, db.SlotLen(uint16(s)), n)
		}
	}
	n := 0
	db.ForEach(func(r Ref) bool {
		if mc.m[keyOf(db, r)] == nil {
			t.Fatalf("ForEach visited unknown key %q", db.Key(r))
		}
		n++
		return true
	})
	if n != len(mc.m) {
		t.Fatalf("ForEach visited %d keys, model %d", n, len(mc.m))
	}
}

func TestModel(t *testing.T) {
	scans := 0
	rapid.Check(t, func(t *rapid.T) {
		mc := &machine{db: newSmall(Options{SlotIndex: true}), m: map[string]*mval{}}
		acts := mc.actions()
		names := slices.Sorted(func(yield func(string) bool) {
			for k := range acts {
				if !yield(k) {
					return
				}
			}
		})
		steps := rapid.IntRange(1, 300).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			acts[rapid.SampledFrom(names).Draw(t, "op")](t)
			mc.check(t)
		}
		// Finish any open scan so every run checks the guarantee.
		for mc.scan != nil {
			acts["scanStep"](t)
		}
		scans += mc.scans
	})
	if scans == 0 {
		t.Fatal("no SCAN ran to completion")
	}
	t.Logf("%d complete scans checked", scans)
}
