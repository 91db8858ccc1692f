package awslogs

import (
	"net/netip"
	"strings"
)

// awsInternal is the sourceIPAddress CloudTrail writes for calls made from
// inside AWS on a user's behalf.
const awsInternal = "AWS Internal"

// parseSource classifies a CloudTrail sourceIPAddress. It returns the
// address, or the reason the record cannot give one. The names, which
// are never addresses, are tried first: a failed netip.ParseAddr
// allocates its error.
func parseSource(s string) (netip.Addr, Reason) {
	switch {
	case s == "":
		return netip.Addr{}, NoSourceAddress
	case s == awsInternal:
		return netip.Addr{}, AWSInternal
	case isServiceName(s):
		return netip.Addr{}, ServiceSource
	}
	if a, err := parseAddr(s); err == nil {
		return a, 0
	}
	return netip.Addr{}, BadAddress
}

// parseAddr parses an IPv4 or IPv6 address. IPv4-mapped IPv6 addresses
// are unmapped and a zone is dropped, as csvio.ParseAddr does; that one
// takes bytes, and the string of a decoded record would have to be copied
// to call it. TestParseAddrAgreesWithCSVIO keeps the two alike.
func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, err
	}
	return a.WithZone("").Unmap(), nil
}

// isServiceName reports whether s is the DNS name of an AWS service, such
// as ec2.amazonaws.com or s3.amazonaws.com.cn, which CloudTrail writes as
// sourceIPAddress for calls a service makes.
func isServiceName(s string) bool {
	var host string
	switch {
	case strings.HasSuffix(s, ".amazonaws.com"):
		host = strings.TrimSuffix(s, ".amazonaws.com")
	case strings.HasSuffix(s, ".amazonaws.com.cn"):
		host = strings.TrimSuffix(s, ".amazonaws.com.cn")
	case strings.HasSuffix(s, ".amazon.com"):
		host = strings.TrimSuffix(s, ".amazon.com")
	default:
		return false
	}
	if host == "" {
		return false
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
