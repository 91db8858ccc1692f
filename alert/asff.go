package alert

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// ASFF constants and Security Hub's limits.
const (
	// SchemaVersion is the ASFF version of the findings.
	SchemaVersion = "2018-10-08"
	// FindingType is the Types entry of every finding.
	FindingType = "Unusual Behaviors/User"
	// DefaultGeneratorID is the GeneratorId of findings when
	// ASFFOptions.GeneratorID is empty.
	DefaultGeneratorID = "ipinsights-go"
	// MaxBatchFindings and MaxBatchBytes bound one BatchImportFindings
	// request.
	MaxBatchFindings = 100
	MaxBatchBytes    = 6_000_000

	maxTitle         = 256
	maxDescription   = 1024
	maxID            = 512
	maxProductFields = 50
	maxFieldKey      = 128
	maxFieldValue    = 2048
)

// Severity labels.
const (
	SeverityInformational = "INFORMATIONAL"
	SeverityLow           = "LOW"
	SeverityMedium        = "MEDIUM"
	SeverityHigh          = "HIGH"
)

// Finding is an AWS Security Finding Format (ASFF) finding, as
// BatchImportFindings takes it; the field names are the JSON ones.
type Finding struct {
	SchemaVersion         string                `json:"SchemaVersion"`
	ID                    string                `json:"Id"`
	ProductARN            string                `json:"ProductArn"`
	GeneratorID           string                `json:"GeneratorId"`
	AwsAccountID          string                `json:"AwsAccountId"`
	Types                 []string              `json:"Types"`
	CreatedAt             string                `json:"CreatedAt"`
	UpdatedAt             string                `json:"UpdatedAt"`
	Severity              Severity              `json:"Severity"`
	Title                 string                `json:"Title"`
	Description           string                `json:"Description"`
	Resources             []Resource            `json:"Resources"`
	Network               *Network              `json:"Network,omitempty"`
	ProductFields         map[string]string     `json:"ProductFields,omitempty"`
	FindingProviderFields FindingProviderFields `json:"FindingProviderFields"`
}

// Severity is a finding's severity.
type Severity struct {
	// Label is INFORMATIONAL, LOW, MEDIUM or HIGH (see the package
	// documentation).
	Label string `json:"Label"`
	// Original is the percentile the label comes from.
	Original string `json:"Original,omitempty"`
}

// Resource is the resource a finding is about: the entity.
type Resource struct {
	Type      string `json:"Type"`
	ID        string `json:"Id"`
	Partition string `json:"Partition,omitempty"`
	Region    string `json:"Region,omitempty"`
}

// Network is the network traffic of a finding: the pair's address, as the
// source of incoming traffic.
type Network struct {
	Direction  string `json:"Direction"`
	SourceIPv4 string `json:"SourceIpV4,omitempty"`
	SourceIPv6 string `json:"SourceIpV6,omitempty"`
}

// FindingProviderFields repeats the severity and types where Security Hub
// wants a finding provider to state them.
type FindingProviderFields struct {
	Severity Severity `json:"Severity"`
	Types    []string `json:"Types"`
}

// ASFFOptions configure NewFinding.
type ASFFOptions struct {
	// AccountID is the 12-digit AWS account the findings belong to, which
	// must also be the account that sends them. Required.
	AccountID string
	// Region is the AWS Region of Security Hub the findings go to.
	// Required.
	Region string
	// GeneratorID names the detector; DefaultGeneratorID when empty.
	GeneratorID string
	// Rule, when not nil, is the rule that flagged the pairs; the findings
	// state it.
	Rule *ipinsights.AlertRule
	// Time is the findings' CreatedAt and UpdatedAt; the current time when
	// zero.
	Time time.Time
}

// ErrAccountID and ErrRegion are the errors of ASFFOptions.Check.
var (
	ErrAccountID = errors.New("alert: the AWS account ID must be 12 digits")
	ErrRegion    = errors.New("alert: no valid AWS Region")
)

// Check reports whether o holds what findings need: a 12-digit AccountID
// (ErrAccountID) and a Region of lower-case letters, digits and hyphens
// (ErrRegion).
func (o *ASFFOptions) Check() error {
	if len(o.AccountID) != 12 || strings.Trim(o.AccountID, "0123456789") != "" {
		return fmt.Errorf("%w: %q", ErrAccountID, o.AccountID)
	}
	if o.Region == "" || strings.Trim(o.Region, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return fmt.Errorf("%w: %q", ErrRegion, o.Region)
	}
	return nil
}

// Partition returns the AWS partition of o.Region: aws-cn for China,
// aws-us-gov for GovCloud, aws otherwise.
func (o *ASFFOptions) Partition() string {
	switch {
	case strings.HasPrefix(o.Region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(o.Region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// ProductARN returns the ARN of the account's default product, which
// takes findings from the account's own tools:
// arn:aws:securityhub:REGION:ACCOUNT:product/ACCOUNT/default.
func (o *ASFFOptions) ProductARN() string {
	return "arn:" + o.Partition() + ":securityhub:" + o.Region + ":" + o.AccountID + ":product/" + o.AccountID + "/default"
}

// SeverityOf returns the severity of r (see the package documentation);
// f says whether r has a percentile.
func SeverityOf(r *Record, f *Fields) Severity {
	if !f.Percentile {
		if r.Alert && r.Result.EntitySeen {
			return Severity{Label: SeverityMedium}
		}
		if !r.Result.EntitySeen {
			return Severity{Label: SeverityInformational}
		}
		return Severity{Label: SeverityLow}
	}
	p := r.Percentile.Value
	s := Severity{Original: strconv.FormatFloat(p, 'g', 4, 64)}
	switch {
	case !r.Result.EntitySeen || math.IsNaN(p):
		s.Label = SeverityInformational
	case p < 0.001:
		s.Label = SeverityHigh
	case p < 0.01:
		s.Label = SeverityMedium
	default:
		s.Label = SeverityLow
	}
	return s
}

// ResourceType returns the ASFF resource type of an entity: AwsIamUser for
// an IAM user's ARN or unique ID (AIDA...), AwsIamRole for a role's or an
// assumed role's ARN or a role's unique ID (AROA...), AwsIamAccessKey for
// an access key ID (AKIA..., ASIA...), Other for everything else.
func ResourceType(entity string) string {
	if rest, ok := strings.CutPrefix(entity, "arn:"); ok {
		// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE
		parts := strings.SplitN(rest, ":", 5)
		if len(parts) == 5 {
			svc, res := parts[1], parts[4]
			switch {
			case svc == "iam" && strings.HasPrefix(res, "user/"):
				return "AwsIamUser"
			case svc == "iam" && strings.HasPrefix(res, "role/"),
				svc == "sts" && strings.HasPrefix(res, "assumed-role/"):
				return "AwsIamRole"
			}
		}
		return "Other"
	}
	// IAM's unique IDs and access key IDs: 16 to 128 upper-case letters
	// and digits, with a prefix that says what they name.
	if len(entity) < 16 || len(entity) > 128 || strings.Trim(entity, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
		return "Other"
	}
	switch entity[:4] {
	case "AIDA":
		return "AwsIamUser"
	case "AROA":
		return "AwsIamRole"
	case "AKIA", "ASIA":
		return "AwsIamAccessKey"
	}
	return "Other"
}

// FindingID returns the Id NewFinding gives the finding of r:
// REGION/ACCOUNT/HASH, HASH being 32 hexadecimal digits of a SHA-256 over
// the entity, the address and the extra columns.
func FindingID(r *Record, o *ASFFOptions) string {
	h := sha256.New()
	var b []byte
	b = append(b, r.Entity...)
	b = append(b, 0)
	b = r.Addr.AppendTo(b)
	for _, x := range r.Extra {
		b = append(b, 0)
		b = strconv.AppendInt(b, int64(len(x)), 10) // unambiguous: lengths, then bytes
		b = append(b, ':')
		b = append(b, x...)
	}
	h.Write(b)
	sum := h.Sum(nil)
	return o.Region + "/" + o.AccountID + "/" + hex.EncodeToString(sum[:16])
}

// NewFinding returns the Security Hub finding of r, whose fields f says,
// with the options o (see ASFFOptions.Check, whose error it returns).
func NewFinding(r *Record, f *Fields, o *ASFFOptions) (Finding, error) {
	if err := o.Check(); err != nil {
		return Finding{}, err
	}
	t := o.Time
	if t.IsZero() {
		t = time.Now()
	}
	at := t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	gen := o.GeneratorID
	if gen == "" {
		gen = DefaultGeneratorID
	}
	entity := string(r.Entity)
	sev := SeverityOf(r, f)
	fd := Finding{
		SchemaVersion: SchemaVersion,
		ID:            FindingID(r, o),
		ProductARN:    o.ProductARN(),
		GeneratorID:   cut(gen, maxID),
		AwsAccountID:  o.AccountID,
		Types:         []string{FindingType},
		CreatedAt:     at,
		UpdatedAt:     at,
		Severity:      sev,
		Title:         cut("Unusual address "+r.Addr.String()+" for "+entity, maxTitle),
		Description:   cut(description(r, f, o.Rule), maxDescription),
		Resources: []Resource{{
			Type: ResourceType(entity), ID: cut(entity, maxID), Partition: o.Partition(), Region: o.Region,
		}},
		ProductFields:         productFields(r, f, o.Rule),
		FindingProviderFields: FindingProviderFields{Severity: sev, Types: []string{FindingType}},
	}
	if fd.Resources[0].ID == "" {
		fd.Resources[0].ID = "(empty entity)"
	}
	if a := r.Addr.Unmap(); a.Is4() {
		fd.Network = &Network{Direction: "IN", SourceIPv4: a.String()}
	} else if a.IsValid() {
		fd.Network = &Network{Direction: "IN", SourceIPv6: a.String()}
	}
	return fd, nil
}

// description says in words why the pair alerts.
func description(r *Record, f *Fields, rule *ipinsights.AlertRule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "IP Insights scored %s from %s", quoted(r.Entity), r.Addr)
	if f.AS && r.AS.Known() {
		fmt.Fprintf(&b, " (%s)", appendAS(nil, r.AS))
	}
	fmt.Fprintf(&b, " at dot product %s", num(r.Result.DotProduct))
	if f.Percentile && !math.IsNaN(r.Percentile.Value) {
		whose := "all normal pairs"
		if r.Percentile.PerEntity {
			whose = "the entity's own normal pairs"
		}
		fmt.Fprintf(&b, ", percentile %s of %s (%d)", percent(r.Percentile.Value), whose, r.Percentile.Pairs)
	}
	b.WriteString(".")
	if !r.Result.EntitySeen {
		b.WriteString(" The entity was not seen in training: its score carries no information.")
	}
	if rule != nil && f.Alert {
		if r.Alert {
			fmt.Fprintf(&b, " It alerts at a false-positive rate of %s", percent(rule.FPR()))
		} else {
			fmt.Fprintf(&b, " It does not alert at a false-positive rate of %s", percent(rule.FPR()))
		}
		switch rule.Basis() {
		case ipinsights.AlertByDotProduct:
			fmt.Fprintf(&b, " (dot product below %s).", num(rule.Threshold()))
		case ipinsights.AlertByNetwork:
			b.WriteString(" (pairs outside the entity's usual networks first, then by dot product: ")
			unseen, seen := rule.NetworkThresholds()
			b.WriteString(networkSide("outside", unseen))
			b.WriteString(", ")
			b.WriteString(networkSide("inside", seen))
			b.WriteString(").")
		default:
			b.WriteString(" (by percentile).")
		}
	}
	if f.Explain {
		e := r.explanation()
		switch {
		case !e.Network.IsValid():
		case e.NetworkSeen:
			fmt.Fprintf(&b, " Its network %s is one of the entity's usual networks (%d of %d training pairs).", e.Network, e.NetworkPairs, e.EntityPairs)
		case e.EntityPairs > 0:
			fmt.Fprintf(&b, " Its network %s is not among the entity's usual networks", e.Network)
			if e.WideNetwork != e.Network && e.WideNetworkSeen {
				fmt.Fprintf(&b, ", though %s is (%d pairs)", e.WideNetwork, e.WideNetworkPairs)
			}
			b.WriteString(".")
		}
		if len(e.UsualNetworks) > 0 {
			fmt.Fprintf(&b, " Usual networks, from %d training pairs: %s.", e.EntityPairs, f.AppendNetworks(nil, r))
			if e.NearestUsualNetwork.IsValid() && !e.NetworkSeen {
				fmt.Fprintf(&b, " Nearest usual network by IP embedding: %s (cosine similarity %.2f).", e.NearestUsualNetwork, e.NearestSimilarity)
			}
		} else if r.Result.EntitySeen {
			b.WriteString(" The model keeps no usual networks for the entity.")
		}
	}
	return b.String()
}

// networkSide says which pairs on one side of the usual networks a rule
// by network flags, below is its dot-product threshold there.
func networkSide(side string, below float64) string {
	switch {
	case math.IsInf(below, 1):
		return "every pair " + side
	case math.IsInf(below, -1):
		return "none " + side
	}
	return side + " below " + num(below)
}

// productFields returns the finding's ProductFields: the record's fields
// under "ipinsights/", and the extra columns under "ipinsights/input/",
// at most maxProductFields in all; empty values are left out.
func productFields(r *Record, f *Fields, rule *ipinsights.AlertRule) map[string]string {
	pf := map[string]string{}
	add := func(k, v string) {
		// Security Hub's strings must hold a character that is not a space.
		if len(pf) < maxProductFields && strings.TrimSpace(v) != "" {
			pf[cut(k, maxFieldKey)] = cut(v, maxFieldValue)
		}
	}
	add("ipinsights/dot_product", string(appendFloat32(nil, r.Result.DotProduct)))
	add("ipinsights/entity_seen", strconv.FormatBool(r.Result.EntitySeen))
	if f.Percentile {
		add("ipinsights/percentile", string(appendFloat32(nil, r.Percentile.Value)))
		add("ipinsights/percentile_pairs", strconv.Itoa(r.Percentile.Pairs))
		add("ipinsights/percentile_per_entity", strconv.FormatBool(r.Percentile.PerEntity))
	}
	if f.Alert {
		add("ipinsights/alert", strconv.FormatBool(r.Alert))
		if rule != nil {
			add("ipinsights/alert_fpr", strconv.FormatFloat(rule.FPR(), 'g', -1, 64))
			add("ipinsights/alert_basis", rule.Basis().String())
			if rule.Basis() != ipinsights.AlertByNetwork { // two thresholds, in the description
				add("ipinsights/alert_threshold", string(appendFloat32(nil, rule.Threshold())))
			}
		}
	}
	if f.Explain {
		e := r.explanation()
		add("ipinsights/entity_pairs", strconv.Itoa(e.EntityPairs))
		if e.Network.IsValid() {
			add("ipinsights/network", e.Network.String())
		}
		add("ipinsights/network_seen", strconv.FormatBool(e.NetworkSeen))
		add("ipinsights/usual_networks", string(f.AppendNetworks(nil, r)))
		if e.NearestUsualNetwork.IsValid() {
			add("ipinsights/nearest_usual_network", e.NearestUsualNetwork.String())
			add("ipinsights/nearest_similarity", string(appendFloat32(nil, e.NearestSimilarity)))
		}
	}
	if f.AS && r.AS.Known() {
		add("ipinsights/asn", strconv.FormatUint(uint64(r.AS.Number), 10))
		if r.AS.Org != "" {
			add("ipinsights/as_org", r.AS.Org)
		}
	}
	for i, name := range f.Extra {
		if i < len(r.Extra) && len(r.Extra[i]) > 0 {
			add("ipinsights/input/"+name, string(r.Extra[i]))
		}
	}
	return pf
}

func appendFloat32(dst []byte, x float64) []byte {
	if math.IsNaN(x) {
		return append(dst, "NaN"...)
	}
	return strconv.AppendFloat(dst, x, 'g', -1, 32)
}

func num(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }

// percent writes a share as a percentage with 2 significant digits or
// more: 0.00012 as 0.012%.
func percent(p float64) string {
	return strconv.FormatFloat(100*p, 'g', 2, 64) + "%"
}

// quoted returns s quoted when it holds spaces or is empty, else as is.
func quoted(s []byte) string {
	if len(s) == 0 || bytes.ContainsAny(s, " \t\"") {
		return strconv.Quote(string(s))
	}
	return string(s)
}

// cut returns s cut to at most max bytes (so at most max characters),
// on a character boundary, ending in "…" when cut; invalid UTF-8 is
// replaced first, as JSON would.
func cut(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	const ellipsis = "…"
	n := max - len(ellipsis)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + ellipsis
}

// ASFFWriter writes findings as JSON lines, each line a BatchImportFindings
// request body {"Findings":[...]} of at most MaxBatchFindings findings and
// MaxBatchBytes bytes. A finding whose Id it wrote already is left out
// (counted by Duplicates): the same row twice is the same finding. Call
// Flush at the end. After a write error, every call returns that error.
type ASFFWriter struct {
	w       io.Writer
	batch   []byte // the current batch's findings, comma separated
	n       int    // findings in batch
	written int
	dups    int
	ids     map[string]struct{}
	err     error
}

// NewASFFWriter returns an ASFFWriter to w.
func NewASFFWriter(w io.Writer) *ASFFWriter {
	return &ASFFWriter{w: w, ids: map[string]struct{}{}}
}

const (
	batchOpen  = `{"Findings":[`
	batchClose = "]}\n"
)

// Write adds f to the current batch, writing the batch first when f would
// not fit in it.
func (w *ASFFWriter) Write(f *Finding) error {
	if w.err != nil {
		return w.err
	}
	if _, dup := w.ids[f.ID]; dup {
		w.dups++
		return nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if w.n > 0 && (w.n == MaxBatchFindings || len(batchOpen)+len(w.batch)+1+len(b)+len(batchClose) > MaxBatchBytes) {
		if err := w.writeBatch(); err != nil {
			return err
		}
	}
	if w.n > 0 {
		w.batch = append(w.batch, ',')
	}
	w.batch = append(w.batch, b...)
	w.n++
	w.ids[f.ID] = struct{}{}
	return nil
}

func (w *ASFFWriter) writeBatch() error {
	line := make([]byte, 0, len(batchOpen)+len(w.batch)+len(batchClose))
	line = append(append(append(line, batchOpen...), w.batch...), batchClose...)
	if _, w.err = w.w.Write(line); w.err != nil {
		return w.err
	}
	w.written += w.n
	w.batch, w.n = w.batch[:0], 0
	return nil
}

// Flush writes the last batch, if it holds a finding. Without findings,
// nothing is written.
func (w *ASFFWriter) Flush() error {
	if w.err != nil || w.n == 0 {
		return w.err
	}
	return w.writeBatch()
}

// Findings returns the number of findings written so far, in batches
// already written.
func (w *ASFFWriter) Findings() int { return w.written }

// Duplicates returns the number of findings left out as duplicates.
func (w *ASFFWriter) Duplicates() int { return w.dups }
