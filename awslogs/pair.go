package awslogs

import (
	"iter"
	"net/netip"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// CloudTrailPair returns the (entity, address) pair of one CloudTrail
// record under rule k, or the reason rec gives none (Reason 0 means a
// pair). It is the rule ExtractCloudTrail applies to every record after
// its filters, so that a record scored on its own, say by a Lambda
// function reading a CloudTrail stream, is keyed as the training data
// was. The Options filters (time window, event names, readOnly, Dedup)
// select training data and do not apply here.
func (k PrincipalKey) CloudTrailPair(rec *Record) (ipinsights.Pair, Reason) {
	if rec.UserIdentity == nil {
		return ipinsights.Pair{}, NoUserIdentity
	}
	addr, reason := parseSource(rec.SourceIPAddress)
	if reason != 0 {
		return ipinsights.Pair{}, reason
	}
	key := k.Key(rec.UserIdentity)
	if key == "" {
		return ipinsights.Pair{}, NoPrincipal
	}
	if hasControl(key) {
		return ipinsights.Pair{}, BadPrincipal
	}
	return ipinsights.Pair{Entity: key, IP: addr}, 0
}

// FindingPairs yields the (entity, address) pairs of one GuardDuty
// finding under rule k: one per remote address of its action (a
// PORT_PROBE finding has one per probing address), each with Reason 0.
// What gives no pair is yielded as a zero Pair with its reason: once for
// the whole finding (no access key details, no principal for the key,
// another action type), or once per remote address that has no usable
// address. ExtractGuardDuty writes and counts exactly what this yields.
//
// The principal comes from resource.accessKeyDetails, mapped onto a
// UserIdentity as the package documentation describes, so that k keys it
// as it keys the same identity in CloudTrail.
func (k PrincipalKey) FindingPairs(f *Finding) iter.Seq2[ipinsights.Pair, Reason] {
	return func(yield func(ipinsights.Pair, Reason) bool) {
		if f.Resource == nil || f.Resource.AccessKeyDetails == nil {
			yield(ipinsights.Pair{}, NoAccessKey)
			return
		}
		id := f.Resource.AccessKeyDetails.identity(f.AccountID, f.Partition)
		key := k.Key(&id)
		switch {
		case key == "":
			yield(ipinsights.Pair{}, NoPrincipal)
			return
		case hasControl(key):
			yield(ipinsights.Pair{}, BadPrincipal)
			return
		}
		details, reason := f.remoteDetails()
		if reason != 0 {
			yield(ipinsights.Pair{}, reason)
			return
		}
		for _, d := range details {
			pair := ipinsights.Pair{Entity: key}
			if pair.IP, reason = remoteAddr(d); reason != 0 {
				pair = ipinsights.Pair{}
			}
			if !yield(pair, reason) {
				return
			}
		}
	}
}

// remoteAddr returns the address of d, ipAddressV4 or else ipAddressV6,
// or the reason it has none.
func remoteAddr(d *RemoteIPDetails) (netip.Addr, Reason) {
	s := d.IPAddressV4
	if s == "" {
		s = d.IPAddressV6
	}
	if s == "" {
		return netip.Addr{}, NoRemoteAddress
	}
	a, err := parseAddr(s)
	if err != nil {
		return netip.Addr{}, BadAddress
	}
	return a, 0
}

// hasControl reports whether s has a control character.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
