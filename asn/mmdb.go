package asn

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/oschwald/maxminddb-golang/v2"
)

// mmdb is an opened MaxMind DB file with the GeoLite2-ASN record layout.
type mmdb struct {
	r *maxminddb.Reader
	// Answers cached by record offset: a database holds tens of thousands
	// of distinct records, looked up millions of times.
	mu    sync.RWMutex
	cache map[uintptr]answer
}

// answer is a decoded record.
type answer struct {
	asn uint32
	org string
}

// asRecord is the part of a record that Lookup reads.
type asRecord struct {
	ASN uint32 `maxminddb:"autonomous_system_number"`
	Org string `maxminddb:"autonomous_system_organization"`
}

// maxCached bounds the cached answers.
const maxCached = 1 << 20

func openMMDB(path string) (*mmdb, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: damaged MaxMind DB file: %w", path, err)
	}
	if err := r.Verify(); err != nil {
		r.Close()
		return nil, fmt.Errorf("%s: damaged MaxMind DB file: %w", path, err)
	}
	if t := strings.ToUpper(r.Metadata.DatabaseType); !strings.Contains(t, "ASN") && !strings.Contains(t, "ISP") {
		r.Close()
		return nil, fmt.Errorf("%s: %w: a MaxMind DB of type %q (want an ASN or ISP database, such as GeoLite2-ASN or DB-IP ASN Lite)",
			path, ErrFormat, r.Metadata.DatabaseType)
	}
	return &mmdb{r: r, cache: map[uintptr]answer{}}, nil
}

func (m *mmdb) lookup(ip netip.Addr) (uint32, string, bool) {
	res := m.r.Lookup(ip)
	if !res.Found() { // not in the database, or an IPv6 address in an IPv4 one
		return 0, "", false
	}
	off := res.Offset()
	m.mu.RLock()
	a, hit := m.cache[off]
	m.mu.RUnlock()
	if !hit {
		var rec asRecord
		if err := res.Decode(&rec); err != nil { // Open verified the file: not expected
			return 0, "", false
		}
		a = answer{asn: rec.ASN, org: rec.Org}
		m.mu.Lock()
		if len(m.cache) < maxCached {
			m.cache[off] = a
		}
		m.mu.Unlock()
	}
	return a.asn, a.org, a.asn != 0
}

func (m *mmdb) close() error { return m.r.Close() }
