// Package pqsort is Redis's partial quicksort: Bentley and McIlroy's quicksort (as in the
// BSD C libraries) that only descends into partitions overlapping a range of positions.
// Redis uses it for SORT ... BY ... LIMIT and GEOSEARCH ... COUNT; doing the same
// comparisons and swaps in the same order leaves elements that compare equal in Redis's
// order.
package pqsort

// Sort reorders v with cmp so that positions lo..hi hold the elements a full sort would
// put there, in that order; the rest is only partitioned around them. lo and hi need not
// be within v (an empty or out-of-range window sorts what its partitions touch, as in
// Redis).
func Sort[T any](v []T, cmp func(a, b *T) int, lo, hi int) {
	s := sorter[T]{v: v, cmp: cmp, lo: lo, hi: hi}
	s.sort(0, len(v))
}

type sorter[T any] struct {
	v      []T
	cmp    func(a, b *T) int
	lo, hi int
}

func (s *sorter[T]) c(i, j int) int { return s.cmp(&s.v[i], &s.v[j]) }

func (s *sorter[T]) swap(i, j int) { s.v[i], s.v[j] = s.v[j], s.v[i] }

// swapBlocks exchanges v[i:i+n] and v[j:j+n] (disjoint).
func (s *sorter[T]) swapBlocks(i, j, n int) {
	for k := 0; k < n; k++ {
		s.swap(i+k, j+k)
	}
}

// median3 returns the index of the median of three, choosing among equals as the C
// code's nested conditionals do.
func (s *sorter[T]) median3(a, b, c int) int {
	if s.c(a, b) < 0 {
		switch {
		case s.c(b, c) < 0:
			return b
		case s.c(a, c) < 0:
			return c
		}
		return a
	}
	switch {
	case s.c(b, c) > 0:
		return b
	case s.c(a, c) < 0:
		return a
	}
	return c
}

// insertion sorts v[a:a+n] by straight insertion, moving an element left past every
// greater one.
func (s *sorter[T]) insertion(a, n int) {
	for m := a + 1; m < a+n; m++ {
		for l := m; l > a && s.c(l-1, l) > 0; l-- {
			s.swap(l, l-1)
		}
	}
}

// overlaps reports whether v[a:a+n] holds a position of the window, the test Redis makes
// (with byte addresses) before descending into a partition.
func (s *sorter[T]) overlaps(a, n int) bool {
	before := s.lo < a && s.hi < a
	after := s.lo >= a+n && s.hi >= a+n
	return !before && !after
}

// sort orders v[a:a+n]: pivot from the median of three (of nine above 40 elements),
// three-way partition with the keys equal to the pivot gathered at both ends and then
// swapped to the middle, recursion into the left part and iteration on the right one.
func (s *sorter[T]) sort(a, n int) {
	for {
		if n < 7 {
			s.insertion(a, n)
			return
		}
		m := a + n/2
		if n > 7 {
			l, r := a, a+n-1
			if n > 40 {
				d := n / 8
				l = s.median3(l, l+d, l+2*d)
				m = s.median3(m-d, m, m+d)
				r = s.median3(r-2*d, r-d, r)
			}
			m = s.median3(l, m, r)
		}
		s.swap(a, m)
		pa, pb := a+1, a+1
		pc, pd := a+n-1, a+n-1
		swapped := false
		for {
			for pb <= pc {
				r := s.c(pb, a)
				if r > 0 {
					break
				}
				if r == 0 {
					swapped = true
					s.swap(pa, pb)
					pa++
				}
				pb++
			}
			for pb <= pc {
				r := s.c(pc, a)
				if r < 0 {
					break
				}
				if r == 0 {
					swapped = true
					s.swap(pc, pd)
					pd--
				}
				pc--
			}
			if pb > pc {
				break
			}
			s.swap(pb, pc)
			swapped = true
			pb++
			pc--
		}
		if !swapped {
			// already partitioned without a single exchange: finish by insertion
			s.insertion(a, n)
			return
		}
		end := a + n
		r := min(pa-a, pb-pa)
		s.swapBlocks(a, pb-r, r)
		r = min(pd-pc, end-pd-1)
		s.swapBlocks(pb, end-r, r)
		if r := pb - pa; r > 1 && s.overlaps(a, r) {
			s.sort(a, r)
		}
		r = pd - pc
		if r <= 1 {
			return
		}
		a, n = end-r, r
		if !s.overlaps(a, n) {
			return
		}
	}
}

// Stable sorts v as glibc's qsort does for Redis's arrays: a top-down merge sort (halves
// of n/2 and n-n/2, the left element taken while it compares <= 0), so equal elements
// keep their order and even a comparison that is not a consistent order (NaN distances)
// gives glibc's result.
func Stable[T any](v []T, cmp func(a, b *T) int) {
	if len(v) < 2 {
		return
	}
	tmp := make([]T, len(v))
	mergeSort(v, tmp, cmp)
}

func mergeSort[T any](v, tmp []T, cmp func(a, b *T) int) {
	n := len(v)
	if n <= 1 {
		return
	}
	n1 := n / 2
	mergeSort(v[:n1], tmp, cmp)
	mergeSort(v[n1:], tmp, cmp)
	i, j, k := 0, n1, 0
	for i < n1 && j < n {
		if cmp(&v[i], &v[j]) <= 0 {
			tmp[k] = v[i]
			i++
		} else {
			tmp[k] = v[j]
			j++
		}
		k++
	}
	k += copy(tmp[k:], v[i:n1])
	copy(v, tmp[:k]) // what is left of the right half is already in place
}
