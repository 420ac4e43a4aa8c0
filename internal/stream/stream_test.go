package stream

import (
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

type modelEntry struct {
	id ID
	fv []string
}

func collect(s *Stream, start, end ID, rev bool) []modelEntry {
	var out []modelEntry
	s.Range(start, end, rev, func(id ID, fv [][]byte) bool {
		e := modelEntry{id: id}
		for _, f := range fv {
			e.fv = append(e.fv, string(f))
		}
		out = append(out, e)
		return true
	})
	return out
}

// TestStreamModel drives appends, deletions and exact trims against a plain slice.
func TestStreamModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := New()
		var model []modelEntry
		maxEntries := rapid.Int64Range(0, 5).Draw(t, "maxEntries")
		maxBytes := rapid.Int64Range(0, 200).Draw(t, "maxBytes")
		next := uint64(1)
		for step := range rapid.IntRange(1, 80).Draw(t, "steps") {
			switch rapid.IntRange(0, 5).Draw(t, "op") {
			case 0, 1, 2:
				next += rapid.Uint64Range(0, 3).Draw(t, "gap")
				id := ID{next / 2, next % 2}
				next++
				n := rapid.IntRange(1, 3).Draw(t, "nf")
				var fv [][]byte
				var sv []string
				for i := range n {
					f := rapid.SampledFrom([]string{"a", "b", "12", "-7", fmt.Sprint("f", i)}).Draw(t, "f")
					v := rapid.SampledFrom([]string{"x", "", "100", "99999999999999999999", fmt.Sprint(step)}).Draw(t, "v")
					fv = append(fv, []byte(f), []byte(v))
					sv = append(sv, f, v)
				}
				s.Append(id, fv, maxBytes, maxEntries)
				model = append(model, modelEntry{id, sv})
			case 3:
				if len(model) == 0 {
					continue
				}
				i := rapid.IntRange(0, len(model)-1).Draw(t, "del")
				if !s.Delete(model[i].id) {
					t.Fatalf("delete %v failed", model[i].id)
				}
				if s.Delete(model[i].id) {
					t.Fatalf("second delete %v succeeded", model[i].id)
				}
				model = slices.Delete(model, i, i+1)
				s.UpdateFirstID()
			case 4:
				maxLen := rapid.Int64Range(0, int64(len(model))+1).Draw(t, "maxlen")
				approx := rapid.Bool().Draw(t, "approx")
				n := s.Trim(TrimArgs{Strategy: TrimMaxLen, MaxLen: maxLen, Approx: approx})
				if !approx && int64(len(model)) > maxLen {
					if n != int64(len(model))-maxLen {
						t.Fatalf("trimmed %d, want %d", n, int64(len(model))-maxLen)
					}
				}
				model = model[n:]
				if int64(len(model)) < maxLen && n > 0 {
					t.Fatalf("trimmed below maxlen")
				}
			case 5:
				if len(model) == 0 {
					continue
				}
				min := model[rapid.IntRange(0, len(model)-1).Draw(t, "minidx")].id
				n := s.Trim(TrimArgs{Strategy: TrimMinID, MinID: min})
				k := 0
				for k < len(model) && model[k].id.Less(min) {
					k++
				}
				if n != int64(k) {
					t.Fatalf("minid trimmed %d, want %d", n, k)
				}
				model = model[k:]
			}
			if s.Length != uint64(len(model)) {
				t.Fatalf("length %d, model %d", s.Length, len(model))
			}
			got := collect(s, ID{}, MaxID, false)
			if len(got) != len(model) {
				t.Fatalf("range returned %d entries, model %d", len(got), len(model))
			}
			for i := range got {
				if got[i].id != model[i].id || !slices.Equal(got[i].fv, model[i].fv) {
					t.Fatalf("entry %d: %v %v, model %v %v", i, got[i].id, got[i].fv, model[i].id, model[i].fv)
				}
			}
			rev := collect(s, ID{}, MaxID, true)
			slices.Reverse(rev)
			if len(rev) != len(got) {
				t.Fatalf("reverse range returned %d entries, forward %d", len(rev), len(got))
			}
			if len(model) > 0 {
				if s.FirstID != model[0].id {
					t.Fatalf("first id %v, model %v", s.FirstID, model[0].id)
				}
				lo := rapid.IntRange(0, len(model)-1).Draw(t, "lo")
				hi := rapid.IntRange(lo, len(model)-1).Draw(t, "hi")
				sub := collect(s, model[lo].id, model[hi].id, false)
				if len(sub) != hi-lo+1 {
					t.Fatalf("sub-range %d..%d returned %d", lo, hi, len(sub))
				}
			}
		}
	})
}

// TestPELModel checks the chunked ordered map against a Go map.
func TestPELModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var p PEL
		model := map[ID]*NACK{}
		for range rapid.IntRange(1, 600).Draw(t, "steps") {
			id := ID{rapid.Uint64Range(0, 300).Draw(t, "ms"), 0}
			if rapid.IntRange(0, 2).Draw(t, "op") < 2 {
				n := &NACK{DeliveryCount: int64(id.Ms)}
				_, existed := model[id]
				if p.Set(id, n) == existed {
					t.Fatalf("Set(%v) new=%v, existed=%v", id, !existed, existed)
				}
				model[id] = n
			} else {
				_, existed := model[id]
				if p.Delete(id) != existed {
					t.Fatalf("Delete(%v) mismatch", id)
				}
				delete(model, id)
			}
			if p.Len() != len(model) {
				t.Fatalf("len %d, model %d", p.Len(), len(model))
			}
		}
		var keys []ID
		for k := range model {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, ID.Compare)
		var got []ID
		p.Ascend(ID{}, func(id ID, n *NACK) bool { got = append(got, id); return true })
		if !slices.Equal(got, keys) {
			t.Fatalf("ascend %v, want %v", got, keys)
		}
		// deleting while iterating visits every entry once
		var seen []ID
		p.Ascend(ID{}, func(id ID, _ *NACK) bool { seen = append(seen, id); p.Delete(id); return true })
		if !slices.Equal(seen, keys) || p.Len() != 0 {
			t.Fatalf("delete-while-ascending saw %v, want %v (left %d)", seen, keys, p.Len())
		}
	})
}

func TestParseID(t *testing.T) {
	cases := []struct {
		in       string
		mode     ParseMode
		want     ID
		seqGiven bool
		ok       bool
	}{
		{"1-2", 0, ID{1, 2}, true, true},
		{"5", 0, ID{5, 0}, true, true},
		{"-", 0, ID{}, true, true},
		{"+", 0, MaxID, true, true},
		{"-", Strict, ID{}, false, false},
		{"3-*", Strict | SeqStar, ID{3, 0}, false, true},
		{"3-*", Strict, ID{}, false, false},
		{"18446744073709551615-18446744073709551615", 0, MaxID, true, true},
		{"18446744073709551616", 0, ID{}, false, false},
		{"-1", 0, ID{}, false, false},
		{" 5", 0, ID{5, 0}, true, true}, // strtoull skips blanks
		{"+5", 0, ID{5, 0}, true, true},
		{"01-1", 0, ID{1, 1}, true, true},
		{"1-x", 0, ID{}, false, false},
		{"", 0, ID{}, false, false},
	}
	for _, c := range cases {
		id, sg, ok := ParseID([]byte(c.in), 0, c.mode)
		if ok != c.ok || (ok && (id != c.want || sg != c.seqGiven)) {
			t.Errorf("ParseID(%q) = %v %v %v, want %v %v %v", c.in, id, sg, ok, c.want, c.seqGiven, c.ok)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	s := New()
	fv := [][]byte{[]byte("field"), []byte("value")}
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		i++
		s.Append(ID{i, 0}, fv, 4096, 100)
	}
}
