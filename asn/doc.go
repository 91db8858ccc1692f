// Package asn maps IP addresses to their autonomous system (AS number and
// organisation) from an ASN database file.
//
// Open reads three formats, recognised by the file's content rather than
// its name:
//
//   - MaxMind DB files (.mmdb) with the GeoLite2-ASN record layout
//     (autonomous_system_number, autonomous_system_organization): MaxMind's
//     GeoLite2-ASN, GeoIP2-ASN and GeoIP2-ISP, and DB-IP's ASN Lite. They
//     are read with github.com/oschwald/maxminddb-golang, memory-mapped,
//     and verified in full when opened, so that a damaged file is an error
//     then rather than missing answers later.
//   - ip2asn TSV as iptoasn.com publishes it: range_start, range_end,
//     AS_number, country_code, AS_description, tab separated, IPv4 and
//     IPv6 (the ip2asn-v4-u32 variant, with IPv4 addresses as decimal
//     integers, too). AS number 0 ("Not routed") means no AS.
//   - CSV of start,end,asn[,org] rows (RFC 4180 quoting, so organisations
//     may contain commas), as DB-IP's ASN Lite CSV has them. An AS number
//     may be written AS13335.
//
// Text files may be gzip compressed, may start with a header line and may
// hold comment lines starting with #. Ranges are inclusive and must not
// overlap. A malformed line is a *ParseError naming the file and the line;
// a file in none of the formats is an error wrapping ErrFormat.
//
// A DB is safe for concurrent lookups. A text table costs about 16 bytes per
// IPv4 range and 40 per IPv6 range, plus its distinct organisation names;
// an .mmdb file is mapped, not read, and its answers are cached per record.
package asn
