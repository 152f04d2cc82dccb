package corpus

import "math/bits"

// rng is a tiny splitmix64 generator. It is used instead of math/rand so that
// the corpus stays byte-identical across Go versions and platforms: all
// sampling below is done with integer arithmetic only (no floating point, whose
// results may differ in the last bit between architectures).
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a number in [0, n). n must be > 0.
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

// int63n returns a number in [0, n). n must be > 0.
func (r *rng) int63n(n int64) int64 {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int64(hi)
}

// pct reports true with probability p percent.
func (r *rng) pct(p int) bool { return r.intn(100) < p }

// mix derives an independent 64-bit value from a and b.
func mix(a, b uint64) uint64 {
	r := rng{a ^ bits.RotateLeft64(b*0xd1342543de82ef95, 17)}
	r.next()
	return r.next()
}

// Fixed-point (Q16) base-2 logarithms and exponentials with a piecewise-linear
// mantissa. They are exact inverses of each other on their common range, which
// is all the size sampler needs.

func log2q(x int64) int64 {
	if x < 1 {
		x = 1
	}
	n := bits.Len64(uint64(x)) - 1
	frac := (uint64(x) - 1<<uint(n)) << 16 >> uint(n)
	return int64(n)<<16 + int64(frac)
}

func exp2q(l int64) int64 {
	if l < 0 {
		return 1
	}
	n := l >> 16
	if n > 46 {
		n = 46
	}
	f := l & 0xffff
	return 1<<uint(n) + (int64(1)<<uint(n))*f>>16
}

// normalQ16 returns an approximately standard-normal variate in Q16
// (Irwin–Hall: the sum of 12 uniforms minus 6), truncated to ±6.
func (r *rng) normalQ16() int64 {
	var s int64
	for i := 0; i < 3; i++ {
		v := r.next()
		for j := 0; j < 4; j++ {
			s += int64(v & 0xffff)
			v >>= 16
		}
	}
	return s - 6<<16
}
