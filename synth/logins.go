package synth

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strconv"
	"sync"

	"github.com/ipinsights/ipinsights-go/rng"
)

// Parameters of the tutorial's generator (generate_data.py).
const (
	pTravelAlpha, pTravelBeta = 1, 30
	pHomeAlpha, pHomeBeta     = 3, 5
	eventsScale               = 50
	homeWorkWindow            = 50000
	localitySigma             = 10
	daySeconds                = 86400
)

// LoginConfig sets the size and shape of the generated data. Zero fields
// take the tutorial's values.
type LoginConfig struct {
	Users       int    // users simulated; 10,000
	Seed        uint64 // seed of everything
	ASNs        int    // ranges of the synthetic ASN table; 800,000
	MaxEvents   int    // events per user at most; 10,000
	Days        int    // days of events; 10
	TrainDays   int    // the first TrainDays are the training set; 7
	TestNormal  int    // normal rows of the attack test; 100,000
	TestAttacks int    // attack rows of the attack test; 100,000 (scaled down with the normal rows when fewer exist)
	Workers     int    // goroutines; GOMAXPROCS
}

func (c LoginConfig) withDefaults() LoginConfig {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Users, 10000)
	def(&c.ASNs, 800000)
	def(&c.MaxEvents, 10000)
	def(&c.Days, 10)
	def(&c.TrainDays, 7)
	def(&c.TestNormal, 100000)
	def(&c.TestAttacks, 100000)
	def(&c.Workers, runtime.GOMAXPROCS(0))
	return c
}

// Kind says how a test row was made.
type Kind uint8

// The kinds of rows.
const (
	Home   Kind = iota // a normal event near the user's home ASN
	Work               // a normal event near the user's work ASN
	Travel             // a normal event from a uniformly random ASN
	Attack             // an attack: a training user with a uniformly random ASN's address
)

func (k Kind) String() string {
	switch k {
	case Home:
		return "home"
	case Work:
		return "work"
	case Travel:
		return "travel"
	case Attack:
		return "attack"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Login is one (user, IPv4 address) pair.
type Login struct {
	User int32
	IP   uint32
	Time int32 // seconds since the start of the first day; 0 for attacks
	Kind Kind
}

// Entity returns the user name, "user_<id>" as in the tutorial.
func (l Login) Entity() string { return "user_" + strconv.Itoa(int(l.User)) }

// AppendEntity appends the user name to b.
func (l Login) AppendEntity(b []byte) []byte {
	return strconv.AppendInt(append(b, "user_"...), int64(l.User), 10)
}

// Addr returns the address.
func (l Login) Addr() netip.Addr {
	return netip.AddrFrom4([4]byte{byte(l.IP >> 24), byte(l.IP >> 16), byte(l.IP >> 8), byte(l.IP)})
}

// Anomalous reports whether the row is an attack (label 1).
func (l Login) Anomalous() bool { return l.Kind == Attack }

// Logins is a generated data set.
type Logins struct {
	Config LoginConfig
	ASNs   *ASNTable
	// Train is the first TrainDays of events, shuffled.
	Train []Login
	// Test is the attack test: normal events of the remaining days from
	// users seen in training, and attacks, shuffled together.
	Test []Login
	// Validation is up to TestNormal events of the first day after the
	// training days, from users seen in training, as the tutorial's
	// validation channel (it overlaps the normal rows of Test, as in the
	// tutorial).
	Validation []Login
	// Events counts all events generated; TestPool counts the events of
	// the test days from users seen in training (the normal rows are
	// sampled from them).
	Events, TestPool int
	// TrainUsers counts the users with at least one training event.
	TrainUsers int
}

// TravelShare returns the share of travel events among the normal test rows.
func (l *Logins) TravelShare() float64 {
	var travel, normal int
	for _, x := range l.Test {
		switch x.Kind {
		case Travel:
			travel++
			normal++
		case Home, Work:
			normal++
		}
	}
	if normal == 0 {
		return 0
	}
	return float64(travel) / float64(normal)
}

// Ceiling returns the best attack-test AUC any detector can reach on l
// (CeilingFor its travel share).
func (l *Logins) Ceiling() float64 { return CeilingFor(l.TravelShare()) }

// CeilingFor returns the best attack-test AUC any detector can reach when a
// share t of the normal rows are travel rows: they are drawn exactly as
// attacks are, so at best they tie with them (AUC 1/2 on that share) while
// every other row is separated, which gives 1 - t/2.
func CeilingFor(t float64) float64 { return 1 - t/2 }

// user is the generated behaviour of one user.
type user struct {
	train, test []Login
}

// GenerateLogins generates the data set. Users are simulated in parallel,
// each from its own random stream, so the result depends only on the config
// (not on Workers).
func GenerateLogins(c LoginConfig) (*Logins, error) {
	c = c.withDefaults()
	if c.TrainDays >= c.Days {
		return nil, fmt.Errorf("synth: TrainDays %d must be less than Days %d", c.TrainDays, c.Days)
	}
	asns := NewASNTable(c.ASNs, c.Seed)
	users := make([]user, c.Users)
	var wg sync.WaitGroup
	next := make(chan int, c.Workers)
	for w := 0; w < c.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r rng.RNG
			for u := range next {
				r.Seed(c.Seed, rng.Stream(0x75736572, uint64(u))) // "user"
				users[u] = simulateUser(&r, asns, c, int32(u))
			}
		}()
	}
	for u := range users {
		next <- u
	}
	close(next)
	wg.Wait()

	l := &Logins{Config: c, ASNs: asns}
	var pool []Login
	for _, u := range users {
		l.Events += len(u.train) + len(u.test)
		l.Train = append(l.Train, u.train...)
		if len(u.train) > 0 {
			l.TrainUsers++
			pool = append(pool, u.test...)
		}
	}
	l.TestPool = len(pool)
	r := rng.New(c.Seed, rng.Stream(0x74657374)) // "test"
	r.Shuffle(len(l.Train), func(i, j int) { l.Train[i], l.Train[j] = l.Train[j], l.Train[i] })

	// Normal rows: a uniform sample without replacement (partial
	// Fisher-Yates); attacks: a uniform training user and a random ASN.
	nNormal := min(c.TestNormal, len(pool))
	for i := 0; i < nNormal; i++ {
		j := i + r.IntN(len(pool)-i)
		pool[i], pool[j] = pool[j], pool[i]
	}
	l.Test = append(l.Test, pool[:nNormal]...)
	if l.TrainUsers > 0 {
		trainUsers := make([]int32, 0, l.TrainUsers)
		for u := range users {
			if len(users[u].train) > 0 {
				trainUsers = append(trainUsers, int32(u))
			}
		}
		// Attacks keep the configured ratio to the normal rows taken (the
		// tutorial's attack_freq) when fewer normal rows exist.
		nAttack := c.TestAttacks
		if nNormal < c.TestNormal {
			nAttack = int(int64(c.TestAttacks) * int64(nNormal) / int64(c.TestNormal))
		}
		for i := 0; i < nAttack; i++ {
			u := trainUsers[r.IntN(len(trainUsers))]
			l.Test = append(l.Test, Login{User: u, IP: asns.Draw(r, r.IntN(asns.Len())), Kind: Attack})
		}
	}
	r.Shuffle(len(l.Test), func(i, j int) { l.Test[i], l.Test[j] = l.Test[j], l.Test[i] })

	vr := rng.New(c.Seed, rng.Stream(0x76616c69)) // "vali"
	dayEnd := int32((c.TrainDays + 1) * daySeconds)
	for _, x := range pool {
		if x.Time < dayEnd {
			l.Validation = append(l.Validation, x)
		}
	}
	vr.Shuffle(len(l.Validation), func(i, j int) {
		l.Validation[i], l.Validation[j] = l.Validation[j], l.Validation[i]
	})
	l.Validation = l.Validation[:min(len(l.Validation), c.TestNormal)]
	return l, nil
}

func simulateUser(r *rng.RNG, asns *ASNTable, c LoginConfig, id int32) user {
	n := asns.Len()
	home := r.IntN(n)
	work := home
	for work == home && n > 1 {
		work = floorMod(home-homeWorkWindow+r.IntN(2*homeWorkWindow), n)
	}
	events := int(eventsScale * (lomax(r, 1) + 1))
	events = min(events, c.MaxEvents)
	pTravel := beta(r, pTravelAlpha, pTravelBeta)
	pHome := beta(r, pHomeAlpha, pHomeBeta)
	var u user
	window := c.Days * daySeconds
	trainEnd := c.TrainDays * daySeconds
	for i := 0; i < events; i++ {
		var idx int
		kind := Travel
		if r.Float64() < pTravel {
			idx = r.IntN(n)
		} else {
			center := work
			kind = Work
			if r.Float64() < pHome {
				center, kind = home, Home
			}
			// int() truncates toward zero, then Python's % wraps.
			idx = floorMod(int(float64(center)+localitySigma*r.NormFloat64()), n)
		}
		ev := Login{User: id, IP: asns.Draw(r, idx), Kind: kind}
		ev.Time = int32(r.IntN(window))
		if int(ev.Time) < trainEnd {
			u.train = append(u.train, ev)
		} else {
			u.test = append(u.test, ev)
		}
	}
	return u
}

// WriteTrainCSV writes the training set as entity,ip rows (no header).
func (l *Logins) WriteTrainCSV(w io.Writer) error { return WriteCSV(w, l.Train) }

// WriteCSV writes logins as entity,ip rows (no header).
func WriteCSV(w io.Writer, logins []Login) error { return writeCSV(w, logins, false) }

// WriteTestCSV writes the attack test as entity,ip,label,kind rows (no
// header): label 1 for attacks, 0 for normal events; kind is home, work,
// travel or attack.
func (l *Logins) WriteTestCSV(w io.Writer) error { return WriteLabeledCSV(w, l.Test) }

// WriteLabeledCSV writes logins as entity,ip,label,kind rows (no header),
// as WriteTestCSV writes the attack test.
func WriteLabeledCSV(w io.Writer, logins []Login) error { return writeCSV(w, logins, true) }

// writeCSV writes logins as entity,ip rows, and with labeled their label
// and kind.
func writeCSV(w io.Writer, logins []Login, labeled bool) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var b []byte
	for _, x := range logins {
		b = x.AppendEntity(b[:0])
		b = append(b, ',')
		b = x.Addr().AppendTo(b)
		if labeled {
			if x.Anomalous() {
				b = append(b, ",1,"...)
			} else {
				b = append(b, ",0,"...)
			}
			b = append(b, x.Kind.String()...)
		}
		b = append(b, '\n')
		bw.Write(b)
	}
	return bw.Flush()
}
