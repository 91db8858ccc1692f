// Package alert writes scored pairs as the alerts security teams take in:
// one JSON object per pair (JSON lines), the explanation columns of a
// scored CSV, and AWS Security Hub findings in the AWS Security Finding
// Format (ASFF), batched as BatchImportFindings requests.
//
// A Record is one scored pair with what is known about it: its score, its
// percentile among normal pairs, whether it alerts, its explanation (see
// ipinsights.Explanation) and the autonomous systems of its address and of
// the entity's usual networks. Fields says which of these a format writes,
// so that every format (and a server that adds them to its responses)
// writes the same fields under the same names:
//
//	entity, ip, dot_product, entity_seen   always
//	percentile                             Fields.Percentile
//	alert                                  Fields.Alert
//	entity_pairs, network, network_seen,   Fields.Explain
//	usual_networks, nearest_usual_network,
//	nearest_similarity
//	asn, as_org                            Fields.AS
//
// In text (a CSV column, a finding's description) the usual networks are
// written most pairs first, each with its pair count and, when known, its
// AS: "203.0.113.0/24 312 (AS64500 Example Org); 198.51.100.0/24 41". The
// AS of a network is that of its first address: a network wider than the
// AS's announcements (the /16 of the default encoder) may hold several.
//
// # Security Hub findings
//
// NewFinding makes a finding of the required ASFF attributes and a few
// optional ones: the entity as the resource (AwsIamUser, AwsIamRole or
// AwsIamAccessKey when it looks like one, see ResourceType; Other
// otherwise), the address as Network.SourceIpV4 or SourceIpV6 with
// Direction IN, the type "Unusual Behaviors/User", and the explanation in
// the description and in ProductFields. Its severity comes from the
// percentile:
//
//	entity not seen in training       INFORMATIONAL (its score means nothing)
//	percentile below 0.001            HIGH
//	percentile below 0.01             MEDIUM
//	higher                            LOW
//
// with the percentile itself as Severity.Original. (Security Hub's own
// guidance puts unusual-behaviour detections at MEDIUM; the rarest pairs,
// one in a thousand normal pairs or fewer, are raised to HIGH.) A record
// without a percentile is MEDIUM when it alerts and LOW otherwise.
//
// Finding Ids are "REGION/ACCOUNT/HASH", the hash (128 bits, hex) taken
// over the entity, the address and the extra columns, so that the same
// input row gives the same Id on every run: sent again, it updates the
// finding rather than adding one. String attributes are cut to Security
// Hub's limits (Title 256 characters, Description 1024, ProductFields at
// most 50 pairs, keys of 128 characters, values of 2048).
//
// ASFFWriter writes findings as JSON lines, each line a BatchImportFindings
// request body {"Findings": [...]} of at most 100 findings and 6,000,000
// bytes, the limits of the API, which a shell loop can send as they are:
//
//	while read -r batch; do
//	    aws securityhub batch-import-findings --cli-input-json "$batch"
//	done < findings.jsonl
package alert
