package embedding

import "math/bits"

// HashID names the entity hash and bucket reduction implemented by
// EntityHash and Bucket. It is recorded in model files; a model whose hash id
// differs is refused at load time rather than silently mis-scored.
const HashID = "fnv1a64+splitmix64/mulhi/v1"

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// EntityHash returns the 64-bit hash of an entity string: FNV-1a over its
// UTF-8 bytes, followed by the splitmix64 finaliser so that every output bit
// depends on every input byte. The value is stable across platforms and
// versions (it is part of the model file format).
func EntityHash(s string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return Mix64(h)
}

// EntityHashBytes is EntityHash for a byte slice; it does not allocate.
func EntityHashBytes(b []byte) uint64 {
	h := uint64(fnvOffset64)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return Mix64(h)
}

// Mix64 is the splitmix64 finaliser (Steele, Lea and Flood 2014): a bijection
// on uint64 with good avalanche.
func Mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// Bucket reduces a 64-bit hash to [0, n) by multiply-high (Lemire 2016),
// which uses the high bits of h and needs no division. n must be positive.
func Bucket(h uint64, n int) int {
	hi, _ := bits.Mul64(h, uint64(n))
	return int(hi)
}
