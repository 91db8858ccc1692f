package tune

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// Labeled is a set of labeled pairs for the AttackAUC objective: real
// logins and attacks, as the tutorial's attack test.
type Labeled struct {
	// Pairs are the labeled pairs, encoded.
	Pairs *ipinsights.Dataset
	// Anomalous[i] is true when pair i is an attack (label 1).
	Anomalous []bool
}

// ErrOneClass is returned for labeled pairs that are all normal or all
// anomalous: an AUC needs both.
var ErrOneClass = errors.New("tune: the labels must include both normal (0) and anomalous (1) pairs")

// ReadLabeled reads labeled rows entity,ip,label[,more columns] (label 1
// for an anomaly, 0 for a normal pair, as csvio.ParseLabel reads it) from
// r, which must allow at least 3 fields a row. In lenient mode rows with a
// bad label are skipped as malformed rows are; otherwise the first is an
// error. It checks ctx every few thousand rows.
func ReadLabeled(ctx context.Context, r *csvio.Reader) (*Labeled, error) {
	l := &Labeled{Pairs: ipinsights.NewDataset()}
	for n := 0; r.Next(); n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		f := r.Fields()
		if len(f) < 3 {
			if err := r.Reject(csvio.FieldCount, "want entity,ip,label"); err != nil {
				return nil, err
			}
			continue
		}
		a, err := csvio.ParseLabel(f[2])
		if err != nil {
			if err := r.Reject(csvio.BadLabel, fmt.Sprintf("%q (want 0 for normal, 1 for anomaly)", f[2])); err != nil {
				return nil, err
			}
			continue
		}
		l.Pairs.AddBytes(r.Entity(), r.Addr())
		l.Anomalous = append(l.Anomalous, a)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return l, l.check()
}

func (l *Labeled) check() error {
	if l == nil || l.Pairs == nil || l.Pairs.Len() == 0 {
		return errors.New("tune: no labeled pairs")
	}
	if l.Pairs.Len() != len(l.Anomalous) {
		return fmt.Errorf("tune: %d labeled pairs with %d labels", l.Pairs.Len(), len(l.Anomalous))
	}
	n := 0
	for _, a := range l.Anomalous {
		if a {
			n++
		}
	}
	if n == 0 || n == len(l.Anomalous) {
		return ErrOneClass
	}
	return nil
}

// AttackAUC returns the ROC AUC with which m's dot products tell the
// anomalous pairs of l from the normal ones (low dot product = anomalous),
// as ipinsights.Evaluate computes it.
func (l *Labeled) AttackAUC(m *ipinsights.Model) (float64, error) {
	res := m.ScoreTuples(nil, l.Pairs.Tuples())
	dots := make([]float64, len(res))
	for i, r := range res {
		dots[i] = r.DotProduct
	}
	ev, err := ipinsights.Evaluate(dots, l.Anomalous, 0)
	if err != nil {
		return 0, err
	}
	return ev.AUC, nil
}
