package imagegen

import "math"

// mt19937 is the Mersenne Twister as NumPy's legacy RandomState uses it,
// together with the legacy Gaussian's cached second value.
type mt19937 struct {
	state    [624]uint32
	pos      int
	hasGauss bool
	gauss    float64
}

// seed is MT19937's init_genrand, which RandomState(seed) uses for an
// integer seed.
func (m *mt19937) seed(s uint32) {
	m.state[0] = s
	for i := 1; i < len(m.state); i++ {
		prev := m.state[i-1]
		m.state[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	m.pos = len(m.state)
	m.hasGauss = false
	m.gauss = 0
}

func (m *mt19937) generate() {
	const n, k = 624, 397
	const upper, lower, matrixA = 0x80000000, 0x7fffffff, 0x9908b0df
	for i := 0; i < n; i++ {
		y := m.state[i]&upper | m.state[(i+1)%n]&lower
		v := m.state[(i+k)%n] ^ (y >> 1)
		if y&1 != 0 {
			v ^= matrixA
		}
		m.state[i] = v
	}
	m.pos = 0
}

func (m *mt19937) uint32() uint32 {
	if m.pos >= len(m.state) {
		m.generate()
	}
	y := m.state[m.pos]
	m.pos++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// float64 is the 53-bit double in [0, 1) (genrand_res53).
func (m *mt19937) float64() float64 {
	a := m.uint32() >> 5
	b := m.uint32() >> 6
	return (float64(a)*67108864.0 + float64(b)) / 9007199254740992.0
}

// gaussian is NumPy's legacy polar Box-Muller: each accepted pair yields
// two values; the first returned is f*x2, and f*x1 is kept for the next call.
func (m *mt19937) gaussian() float64 {
	if m.hasGauss {
		m.hasGauss = false
		return m.gauss
	}
	var x1, x2, r2 float64
	for {
		x1 = 2*m.float64() - 1
		x2 = 2*m.float64() - 1
		r2 = x1*x1 + x2*x2
		if r2 < 1 && r2 != 0 {
			break
		}
	}
	f := math.Sqrt(-2 * clog(r2) / r2)
	m.gauss = f * x1
	m.hasGauss = true
	return f * x2
}

// Latent returns the latent vector for seed: the values of
// numpy.random.RandomState(seed).randn(1, zdim), computed in float64 and
// cast to float32, so a model and seed reproduce the original Python bot.
func Latent(seed uint32, zdim int) []float32 {
	z := make([]float32, zdim)
	fillLatent(z, seed)
	return z
}

// fillLatent writes Latent(seed, len(z)) into z.
func fillLatent(z []float32, seed uint32) {
	var m mt19937
	m.seed(seed)
	for i := range z {
		z[i] = float32(m.gaussian())
	}
}
