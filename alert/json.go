package alert

import (
	"net/netip"
	"strconv"

	"github.com/ipinsights/ipinsights-go/internal/jsontext"
)

// AppendJSON appends r to dst as one JSON object, without a newline:
//
//	{"entity":"alice","ip":"198.51.100.7","dot_product":-3.25,"entity_seen":true,
//	 "percentile":0.00012,"alert":true,
//	 "entity_pairs":353,"network":"198.51.100.0/24","network_seen":false,
//	 "usual_networks":[{"network":"203.0.113.0/24","pairs":312,"asn":64500,"as_org":"Example Org"},...],
//	 "nearest_usual_network":"203.0.113.0/24","nearest_similarity":0.42,
//	 "asn":64501,"as_org":"Other Org",
//	 "input":{"finding_id":"..."}}
//
// The members after entity_seen are those of AppendJSONMembers; input holds
// the extra columns, when f names any. Numbers are the shortest decimals
// that read back as the same float32 (the model's precision); what is
// unknown (a NaN score, no nearest network, an address without AS) is null.
func (f *Fields) AppendJSON(dst []byte, r *Record) []byte {
	dst = append(dst, `{"entity":`...)
	dst = jsontext.AppendBytes(dst, r.Entity)
	dst = append(dst, `,"ip":"`...)
	dst = r.Addr.AppendTo(dst)
	dst = append(dst, `","dot_product":`...)
	dst = jsontext.AppendFloat(dst, r.Result.DotProduct, 32)
	dst = append(dst, `,"entity_seen":`...)
	dst = strconv.AppendBool(dst, r.Result.EntitySeen)
	dst = f.AppendJSONMembers(dst, r)
	if len(f.Extra) > 0 {
		dst = append(dst, `,"input":{`...)
		for i, name := range f.Extra {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsontext.AppendString(dst, name)
			dst = append(dst, ':')
			var v []byte
			if i < len(r.Extra) {
				v = r.Extra[i]
			}
			dst = jsontext.AppendBytes(dst, v)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// AppendJSONMembers appends the optional members of r that f selects,
// each preceded by a comma, in the order of AppendJSON: percentile, alert,
// the explanation's members and the AS members. A writer of its own JSON
// objects (a server's predictions) appends them after its own members.
func (f *Fields) AppendJSONMembers(dst []byte, r *Record) []byte {
	if f.Percentile {
		dst = append(dst, `,"percentile":`...)
		dst = jsontext.AppendFloat(dst, r.Percentile.Value, 32)
	}
	if f.Alert {
		dst = append(dst, `,"alert":`...)
		dst = strconv.AppendBool(dst, r.Alert)
	}
	if f.Explain {
		e := r.explanation()
		dst = append(dst, `,"entity_pairs":`...)
		dst = strconv.AppendInt(dst, int64(e.EntityPairs), 10)
		dst = append(dst, `,"network":`...)
		dst = appendPrefix(dst, e.Network)
		dst = append(dst, `,"network_seen":`...)
		dst = strconv.AppendBool(dst, e.NetworkSeen)
		dst = append(dst, `,"usual_networks":[`...)
		for i, n := range e.UsualNetworks {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"network":`...)
			dst = appendPrefix(dst, n.Prefix)
			dst = append(dst, `,"pairs":`...)
			dst = strconv.AppendInt(dst, int64(n.Count), 10)
			if f.AS {
				dst = appendASMembers(dst, r.networkAS(i))
			}
			dst = append(dst, '}')
		}
		dst = append(dst, `],"nearest_usual_network":`...)
		dst = appendPrefix(dst, e.NearestUsualNetwork)
		dst = append(dst, `,"nearest_similarity":`...)
		if e.NearestUsualNetwork.IsValid() {
			dst = jsontext.AppendFloat(dst, e.NearestSimilarity, 32)
		} else {
			dst = append(dst, "null"...)
		}
	}
	if f.AS {
		dst = appendASMembers(dst, r.AS)
	}
	return dst
}

// appendPrefix appends p as a JSON string, null when p is the zero Prefix.
func appendPrefix(dst []byte, p netip.Prefix) []byte {
	if !p.IsValid() {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = p.AppendTo(dst)
	return append(dst, '"')
}

// appendASMembers appends ,"asn":N,"as_org":"..." (nulls when unknown).
func appendASMembers(dst []byte, as AS) []byte {
	if !as.Known() {
		return append(dst, `,"asn":null,"as_org":null`...)
	}
	dst = append(dst, `,"asn":`...)
	dst = strconv.AppendUint(dst, uint64(as.Number), 10)
	dst = append(dst, `,"as_org":`...)
	return jsontext.AppendString(dst, as.Org)
}
