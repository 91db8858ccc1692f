package alert

import (
	"strconv"
)

// Column names of a scored CSV that Fields adds (percentile and alert are
// the scored CSV's own).
const (
	colEntityPairs = iota
	colNetworkSeen
	colUsualNetworks
	colNearest
	colASN
	colASOrg
)

var columnNames = [...]string{
	colEntityPairs:   "entity_pairs",
	colNetworkSeen:   "network_seen",
	colUsualNetworks: "usual_networks",
	colNearest:       "nearest_usual_network",
	colASN:           "asn",
	colASOrg:         "as_org",
}

// columns returns the kinds of f's columns.
func (f *Fields) columns() (kinds [6]int, n int) {
	if f.Explain {
		for _, k := range []int{colEntityPairs, colNetworkSeen, colUsualNetworks, colNearest} {
			kinds[n] = k
			n++
		}
	}
	if f.AS {
		kinds[n], kinds[n+1] = colASN, colASOrg
		n += 2
	}
	return kinds, n
}

// Columns returns the names of the columns f adds to a scored CSV, which
// has percentile and alert columns of its own: with Explain entity_pairs,
// network_seen, usual_networks (as AppendNetworks writes them) and
// nearest_usual_network, with AS asn and as_org (the address's).
func (f *Fields) Columns() []string {
	kinds, n := f.columns()
	names := make([]string, n)
	for i, k := range kinds[:n] {
		names[i] = columnNames[k]
	}
	return names
}

// AppendColumn appends to dst the text of r's column i of Columns: a
// number, true or false, a network, or text; empty when unknown (no
// nearest network, no AS). It panics if i is out of range.
func (f *Fields) AppendColumn(dst []byte, r *Record, i int) []byte {
	kinds, n := f.columns()
	if i < 0 || i >= n {
		panic("alert: column " + strconv.Itoa(i) + " out of range")
	}
	e := r.explanation()
	switch kinds[i] {
	case colEntityPairs:
		return strconv.AppendInt(dst, int64(e.EntityPairs), 10)
	case colNetworkSeen:
		return strconv.AppendBool(dst, e.NetworkSeen)
	case colUsualNetworks:
		return f.AppendNetworks(dst, r)
	case colNearest:
		if e.NearestUsualNetwork.IsValid() {
			dst = e.NearestUsualNetwork.AppendTo(dst)
		}
		return dst
	case colASN:
		if r.AS.Known() {
			dst = strconv.AppendUint(dst, uint64(r.AS.Number), 10)
		}
		return dst
	default: // colASOrg
		return append(dst, r.AS.Org...)
	}
}

// AppendNetworks appends the usual networks of r's explanation as text,
// most pairs first, each with its pair count and, when f has AS and it is
// known, its AS: "203.0.113.0/24 312 (AS64500 Example Org); 198.51.100.0/24
// 41". It appends nothing when there are none.
func (f *Fields) AppendNetworks(dst []byte, r *Record) []byte {
	usual := r.explanation().UsualNetworks
	if !f.AS {
		dst, _ = usual.AppendText(dst)
		return dst
	}
	for i, n := range usual {
		if i > 0 {
			dst = append(dst, "; "...)
		}
		dst = n.Prefix.AppendTo(dst)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(n.Count), 10)
		if as := r.networkAS(i); as.Known() {
			dst = append(dst, " ("...)
			dst = appendAS(dst, as)
			dst = append(dst, ')')
		}
	}
	return dst
}

// appendAS appends "AS64500 Example Org", or "AS64500" without an
// organisation.
func appendAS(dst []byte, as AS) []byte {
	dst = append(dst, "AS"...)
	dst = strconv.AppendUint(dst, uint64(as.Number), 10)
	if as.Org != "" {
		dst = append(dst, ' ')
		dst = append(dst, as.Org...)
	}
	return dst
}
