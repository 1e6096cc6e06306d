package probe

import (
	"math"
	"sort"
)

// lchoose is log C(n, k).
func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// binomUpper is P(X ≥ k) for X ~ Binomial(n, p).
func binomUpper(k, n int, p float64) float64 {
	if k <= 0 {
		return 1
	}
	if k > n {
		return 0
	}
	if p <= 0 {
		return 0
	}
	if p >= 1 {
		return 1
	}
	s := 0.0
	for i := k; i <= n; i++ {
		s += math.Exp(lchoose(n, i) + float64(i)*math.Log(p) + float64(n-i)*math.Log1p(-p))
	}
	return math.Min(1, s)
}

// fisherGreater is the one-sided Fisher exact p-value that group 1 (a
// events in n1 trials) has a higher event rate than group 2 (b in n2).
func fisherGreater(a, n1, b, n2 int) float64 {
	k := a + b
	n := n1 + n2
	lo := max(0, k-n2)
	hi := min(k, n1)
	if a <= lo {
		return 1
	}
	den := lchoose(n, k)
	s := 0.0
	for x := max(a, lo); x <= hi; x++ {
		s += math.Exp(lchoose(n1, x) + lchoose(n2, k-x) - den)
	}
	return math.Min(1, s)
}

// mannWhitneyGreater is the one-sided Mann–Whitney U p-value that values in
// x tend to be larger than those in y, by the normal approximation with tie
// and continuity corrections.
func mannWhitneyGreater(x, y []float64) float64 {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return 1
	}
	type obs struct {
		v float64
		x bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range x {
		all = append(all, obs{v, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	n := float64(n1 + n2)
	rx := 0.0
	tie := 0.0
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // ranks i+1..j averaged
		t := float64(j - i)
		tie += t*t*t - t
		for k := i; k < j; k++ {
			if all[k].x {
				rx += rank
			}
		}
		i = j
	}
	u := rx - float64(n1)*float64(n1+1)/2
	mu := float64(n1) * float64(n2) / 2
	v := float64(n1) * float64(n2) / 12 * ((n + 1) - tie/(n*(n-1)))
	if v <= 0 {
		return 1
	}
	z := (u - mu - 0.5) / math.Sqrt(v)
	return 0.5 * math.Erfc(z/math.Sqrt2)
}

// benjaminiHochberg returns the BH-adjusted p-values (q-values) of ps, in
// the same order.
func benjaminiHochberg(ps []float64) []float64 {
	m := len(ps)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
	q := make([]float64, m)
	prev := 1.0
	for r := m - 1; r >= 0; r-- {
		i := idx[r]
		v := math.Min(prev, ps[i]*float64(m)/float64(r+1))
		q[i] = v
		prev = v
	}
	return q
}
