package synth

import (
	"slices"

	"github.com/ipinsights/ipinsights-go/rng"
)

// ValidationLabeled returns a labeled validation set, made as the attack
// test is made but from the validation day: the Validation logins (normal)
// and as many attacks (a uniformly random training user with an address of
// a uniformly random ASN), shuffled together. Its attacks are drawn from a
// random stream of their own, so they are not the test's; its normal rows
// are the validation day's and so overlap the test's, as Validation does.
// It lets a tuner measure the detection of attacks without looking at the
// attack test. The result is the same for the data's seed.
func (l *Logins) ValidationLabeled() []Login {
	seen := map[int32]bool{}
	for _, x := range l.Train {
		seen[x.User] = true
	}
	users := make([]int32, 0, len(seen))
	for u := range seen {
		users = append(users, u)
	}
	slices.Sort(users)
	out := slices.Clone(l.Validation)
	if len(users) == 0 {
		return out
	}
	r := rng.New(l.Config.Seed, rng.Stream(0x7661746b)) // "vatk"
	for range l.Validation {
		u := users[r.IntN(len(users))]
		out = append(out, Login{User: u, IP: l.ASNs.Draw(r, r.IntN(l.ASNs.Len())), Kind: Attack})
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
