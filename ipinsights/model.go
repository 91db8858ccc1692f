package ipinsights

import (
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/rng"
)

// Model is a trained IP Insights model: the entity embedding table, the IP
// prefix tables, the dense encoder layers, the set of entities seen in
// training and, optionally, a calibration. A Model is safe for concurrent
// scoring and does not change after Train, Load or WithCalibration.
type Model struct {
	cfg    Config
	enc    *embedding.Encoder
	dim    int
	entity []float32 // NumEntityVectors x dim
	ip     []float32 // enc.Rows() x dim
	layers []layer   // NumIPEncoderLayers layers, dim x dim each
	seen   seenSet
	hist   *networkHistory // nil without one (see WithNetworkHistory)
	calib  *Calibration    // nil when not calibrated
	opt    *optState       // nil without one (see TrainOptions.SaveOptimizerState)

	projOnce  sync.Once
	proj      []float32       // per entity row: W_last^T e (dim floats) then e.b_last (1 float)
	projState []atomic.Uint32 // per entity row: projEmpty, projBusy or projDone
	scratch   sync.Pool       // *scratch buffers of scoring
}

// clone returns a model that shares m's parameters, seen set and
// optional sections, with empty scoring caches (which a copy of the
// struct must not share: they hold a sync.Once and a sync.Pool). A field
// added to Model is added here too; TestCloneCopiesEveryField checks.
func (m *Model) clone() *Model {
	return &Model{
		cfg:    m.cfg,
		enc:    m.enc,
		dim:    m.dim,
		entity: m.entity,
		ip:     m.ip,
		layers: m.layers,
		seen:   m.seen,
		calib:  m.calib,
		hist:   m.hist,
		opt:    m.opt,
	}
}

// layer is a dense layer y = W x + b with W row-major (out x in).
type layer struct {
	w []float32
	b []float32
}

// newModel allocates a model with zeroed parameters for a valid config.
func newModel(cfg Config) (*Model, error) {
	m, err := newModelShell(cfg)
	if err != nil {
		return nil, err
	}
	d := m.dim
	m.entity = make([]float32, cfg.NumEntityVectors*d)
	m.ip = make([]float32, m.enc.Rows()*d)
	for l := range m.layers {
		m.layers[l] = layer{w: make([]float32, d*d), b: make([]float32, d)}
	}
	adviseHugePages(m.entity)
	adviseHugePages(m.ip)
	return m, nil
}

// newModelShell is newModel without the parameter tables (nil).
func newModelShell(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The model keeps its own copy of what the caller may change later:
	// the prefix lists (saved in the model file) and the optimizer's name
	// in the canonical case that training compares against.
	cfg.IPv4Prefixes = slices.Clone(cfg.IPv4Prefixes)
	cfg.IPv6Prefixes = slices.Clone(cfg.IPv6Prefixes)
	cfg.Optimizer = strings.ToLower(strings.TrimSpace(cfg.Optimizer))
	enc, err := embedding.NewEncoder(cfg.encoderConfig())
	if err != nil {
		return nil, err
	}
	return &Model{
		cfg:    cfg,
		enc:    enc,
		dim:    cfg.VectorDim,
		layers: make([]layer, cfg.NumIPEncoderLayers),
	}, nil
}

// initParams sets the initial parameters from the seed. Embedding rows are
// uniform in +-1/sqrt(dim), so that initial scores are close to 0 and the
// initial loss is close to ln 2, as SageMaker's logs show; hidden layers get
// He initialisation (ReLU follows them), the last layer Glorot-like
// N(0, 1/dim); biases start at 0.
func (m *Model) initParams() {
	r := rng.New(m.cfg.Seed, rng.Stream(0x696e6974)) // "init"
	a := float32(1 / math.Sqrt(float64(m.dim)))
	for i := range m.entity {
		m.entity[i] = a * (2*r.Float32() - 1)
	}
	for i := range m.ip {
		m.ip[i] = a * (2*r.Float32() - 1)
	}
	for l := range m.layers {
		sd := math.Sqrt(1 / float64(m.dim))
		if l < len(m.layers)-1 {
			sd = math.Sqrt(2 / float64(m.dim))
		}
		for i := range m.layers[l].w {
			m.layers[l].w[i] = float32(sd * r.NormFloat64())
		}
	}
}

// Config returns the model's hyperparameters.
func (m *Model) Config() Config {
	c := m.cfg
	c.IPv4Prefixes = slices.Clone(c.IPv4Prefixes)
	c.IPv6Prefixes = slices.Clone(c.IPv6Prefixes)
	return c
}

// VectorDim returns the length of the model's embeddings,
// Config().VectorDim, without copying the configuration.
func (m *Model) VectorDim() int { return m.dim }

// SeenEntities returns the number of distinct entities in the training data.
func (m *Model) SeenEntities() int { return m.seen.len() }

func (m *Model) entityRow(h uint64) []float32 {
	r := embedding.Bucket(h, m.cfg.NumEntityVectors)
	return m.entity[r*m.dim : (r+1)*m.dim]
}

// seenSet is an open-addressing set of 64-bit entity hashes. It costs 16
// bytes per distinct training entity in memory (load factor at most 1/2) and
// 8 bytes per entity in the model file.
type seenSet struct {
	slots   []uint64 // 0 marks an empty slot
	hasZero bool
	n       int
}

func newSeenSet(hashes []uint64) seenSet {
	size := 16
	for size < 2*len(hashes) {
		size *= 2
	}
	s := seenSet{slots: make([]uint64, size)}
	for _, h := range hashes {
		s.add(h)
	}
	return s
}

func (s *seenSet) add(h uint64) {
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	if h == 0 {
		if !s.hasZero {
			s.hasZero = true
			s.n++
		}
		return
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return
		case 0:
			s.slots[i] = h
			s.n++
			return
		}
	}
}

func (s *seenSet) grow() {
	old := s.slots
	s.slots = make([]uint64, max(16, 2*len(old)))
	s.n = 0
	if s.hasZero {
		s.n = 1
	}
	mask := uint64(len(s.slots) - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = h
		s.n++
	}
}

func (s *seenSet) has(h uint64) bool {
	if h == 0 {
		return s.hasZero
	}
	if len(s.slots) == 0 {
		return false
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

func (s *seenSet) len() int { return s.n }

// clone returns a copy of s that does not share its slots.
func (s *seenSet) clone() seenSet {
	c := *s
	c.slots = slices.Clone(s.slots)
	return c
}

// sorted returns the hashes in ascending order (the model file stores them
// so, which makes files of equal models byte-identical).
func (s *seenSet) sorted() []uint64 {
	out := make([]uint64, 0, s.n)
	if s.hasZero {
		out = append(out, 0)
	}
	for _, h := range s.slots {
		if h != 0 {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}
