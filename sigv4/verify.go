package sigv4

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// DefaultMaxSkew is how far a request's X-Amz-Date may be from the
// verifier's clock, either way, when Options.MaxSkew is zero: AWS's 15
// minutes.
const DefaultMaxSkew = 15 * time.Minute

// The error types that AWS services send in the X-Amzn-ErrorType header
// of a refused request, which are the Codes of *Error.
const (
	// MissingAuthenticationToken: the request has no Authorization header.
	MissingAuthenticationToken = "MissingAuthenticationTokenException"
	// IncompleteSignature: the Authorization header or X-Amz-Date is
	// malformed.
	IncompleteSignature = "IncompleteSignatureException"
	// UnrecognizedClient: the access key is not one of the verifier's, or
	// the request carries a security token (temporary credentials).
	UnrecognizedClient = "UnrecognizedClientException"
	// InvalidSignature: the signature does not match, or its scope or date
	// is wrong: expired or not yet current beyond the allowed skew.
	InvalidSignature = "InvalidSignatureException"
)

// Error is a request refused by a Verifier. Code is the error type AWS
// sends for it (MissingAuthenticationToken, IncompleteSignature,
// UnrecognizedClient or InvalidSignature), and Message is AWS's message
// where AWS's is known, which never quotes a secret.
type Error struct {
	Code    string
	Message string
	// AccessKeyID is the access key the request named, or "" when it named
	// none that could be read.
	AccessKeyID string
}

func (e *Error) Error() string { return "sigv4: " + e.Code + ": " + e.Message }

// Messages of AWS's own errors.
const (
	msgMissing    = "Missing Authentication Token"
	msgUnknownKey = "The security token included in the request is invalid."
	msgMismatch   = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// Options configure a Verifier.
type Options struct {
	// Region is the region that signatures must be scoped to, as the
	// clients are configured (us-east-1). Required.
	Region string
	// Service is the signing name that signatures must be scoped to:
	// "sagemaker" for the SageMaker Runtime API. Required.
	Service string
	// MaxSkew is how far a request's X-Amz-Date may be from the
	// verifier's clock, either way. Zero means DefaultMaxSkew.
	MaxSkew time.Duration
}

// Verifier verifies AWS Signature Version 4 on HTTP requests against a
// set of access keys, which SetKeys replaces while it verifies. It is
// safe for concurrent use.
type Verifier struct {
	opts Options
	// keys is the key set, by access key ID. It is replaced whole, never
	// changed in place, so that verifying takes no lock.
	keys atomic.Pointer[map[string]*key]
}

// key is an access key with its own signer, whose cache of derived
// signing keys then holds this key's alone.
type key struct {
	creds  aws.Credentials
	signer *v4.Signer
}

// NewVerifier returns a Verifier of keys for opts. Region and Service are
// required, keys must not be empty and their access key IDs must differ.
func NewVerifier(keys []Key, opts Options) (*Verifier, error) {
	if opts.MaxSkew == 0 {
		opts.MaxSkew = DefaultMaxSkew
	}
	switch {
	case opts.Region == "" || strings.ContainsAny(opts.Region, "/ "):
		return nil, fmt.Errorf("sigv4: region %q: want a region name such as us-east-1", opts.Region)
	case opts.Service == "" || strings.ContainsAny(opts.Service, "/ "):
		return nil, fmt.Errorf("sigv4: service %q: want a signing name such as sagemaker", opts.Service)
	case opts.MaxSkew < 0:
		return nil, fmt.Errorf("sigv4: negative MaxSkew %s", opts.MaxSkew)
	}
	v := &Verifier{opts: opts}
	if err := v.SetKeys(keys); err != nil {
		return nil, err
	}
	return v, nil
}

// SetKeys makes keys the access keys that v verifies requests against,
// in place of the ones it had: a request signed by a key that is no longer
// among them is refused from then on, as an unknown key. keys are checked
// as NewVerifier checks them, and when they are refused the keys in use
// stay and the error is returned. A request whose headers were checked
// before the change and whose body is verified after it is verified
// against the new keys.
func (v *Verifier) SetKeys(keys []Key) error {
	if len(keys) == 0 {
		return ErrNoKeys
	}
	old := v.keys.Load()
	set := make(map[string]*key, len(keys))
	for _, k := range keys {
		if err := checkKeyID(k.AccessKeyID); err != nil {
			return fmt.Errorf("sigv4: %w", err)
		}
		if k.SecretAccessKey == "" {
			return fmt.Errorf("sigv4: access key %s has an empty secret", k.AccessKeyID)
		}
		if _, dup := set[k.AccessKeyID]; dup {
			return fmt.Errorf("sigv4: access key ID %s given twice", k.AccessKeyID)
		}
		// An unchanged key keeps its signer, and the signing keys that
		// the signer has derived and cached.
		if old != nil {
			if prev := (*old)[k.AccessKeyID]; prev != nil && prev.creds.SecretAccessKey == k.SecretAccessKey {
				set[k.AccessKeyID] = prev
				continue
			}
		}
		set[k.AccessKeyID] = &key{
			creds:  aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey, Source: "sigv4.Verifier"},
			signer: v4.NewSigner(),
		}
	}
	v.keys.Store(&set)
	return nil
}

// Options returns the options v verifies with, MaxSkew filled in.
func (v *Verifier) Options() Options { return v.opts }

// amzDate is the layout of X-Amz-Date.
const amzDate = "20060102T150405Z"

// claim is what an Authorization header and X-Amz-Date claim.
type claim struct {
	keyID         string
	signedHeaders string
	signature     string
	date          time.Time
	key           *key
}

// CheckHeaders makes the checks of Verify that need no body: an
// Authorization header of the AWS4-HMAC-SHA256 form, a known access key,
// a credential scope of the verifier's region and service, and an
// X-Amz-Date within MaxSkew of now. It returns the access key ID that r
// names, and an *Error when r is refused. A request that passes may still
// fail Verify.
func (v *Verifier) CheckHeaders(r *http.Request, now time.Time) (string, error) {
	c, err := v.check(r, now)
	return c.keyID, err
}

// Verify checks r as CheckHeaders does and then its signature, given the
// SHA-256 of its body (payloadSHA256, 32 bytes; the hash of no bytes for a
// request without a body): it signs a copy of r that holds the headers
// that r's signature covers, with the payload hash, at r's X-Amz-Date,
// with the AWS SDK for Go's signer, and compares the signatures in
// constant time. An X-Amz-Content-Sha256 header must then be the body's
// hash (UNSIGNED-PAYLOAD is refused). It returns the access key ID that r
// names, and an *Error when r is refused. It panics if payloadSHA256 is
// not 32 bytes long.
func (v *Verifier) Verify(r *http.Request, payloadSHA256 []byte, now time.Time) (string, error) {
	if len(payloadSHA256) != sha256.Size {
		panic(fmt.Sprintf("sigv4: Verify: payload hash of %d bytes, want %d", len(payloadSHA256), sha256.Size))
	}
	c, err := v.check(r, now)
	if err != nil {
		return c.keyID, err
	}
	var hexHash [2 * sha256.Size]byte
	hex.Encode(hexHash[:], payloadSHA256)
	payloadHash := string(hexHash[:])
	if h, ok := r.Header["X-Amz-Content-Sha256"]; ok && (len(h) != 1 || h[0] != payloadHash) {
		return c.keyID, &Error{Code: InvalidSignature, AccessKeyID: c.keyID,
			Message: "X-Amz-Content-Sha256 is not the SHA-256 of the body: the payload must be signed (UNSIGNED-PAYLOAD is not accepted)"}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	cp := &http.Request{
		Method: r.Method,
		URL:    &url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		Host:   r.Host,
		Header: make(http.Header, strings.Count(c.signedHeaders, ";")+1),
	}
	for name := range strings.SplitSeq(c.signedHeaders, ";") {
		switch name {
		case "host": // the signer takes it from Host
		case "content-length": // the signer takes it from ContentLength
			cp.ContentLength = r.ContentLength
		default:
			ck, ok := canonical[name]
			if !ok {
				ck = textproto.CanonicalMIMEHeaderKey(name)
			}
			if vs, ok := r.Header[ck]; ok {
				cp.Header[ck] = slices.Clone(vs) // the signer rewrites X-Amz-Date in place
			}
		}
	}
	if err := c.key.signer.SignHTTP(context.Background(), c.key.creds, cp, payloadHash, v.opts.Service, v.opts.Region, c.date); err != nil {
		return c.keyID, &Error{Code: InvalidSignature, Message: msgMismatch, AccessKeyID: c.keyID}
	}
	_, want, _ := strings.Cut(cp.Header.Get("Authorization"), "Signature=")
	if subtle.ConstantTimeCompare([]byte(want), []byte(c.signature)) != 1 {
		return c.keyID, &Error{Code: InvalidSignature, Message: msgMismatch, AccessKeyID: c.keyID}
	}
	return c.keyID, nil
}

// canonical holds the canonical forms of the headers that SageMaker
// Runtime clients sign, which textproto.CanonicalMIMEHeaderKey would
// allocate for every request.
var canonical = map[string]string{}

func init() {
	for _, h := range []string{"Accept", "Amz-Sdk-Invocation-Id", "Amz-Sdk-Request", "Content-Type", "X-Amz-Date",
		"X-Amz-Content-Sha256", "X-Amzn-Sagemaker-Custom-Attributes", "X-Amzn-Sagemaker-Target-Model",
		"X-Amzn-Sagemaker-Target-Variant", "X-Amzn-Sagemaker-Inference-Id", "X-Amzn-Sagemaker-Enable-Explanations",
		"X-Amzn-Sagemaker-Inference-Component", "X-Amzn-Sagemaker-Session-Id"} {
		canonical[strings.ToLower(h)] = h
	}
}

// unverifiable are the headers that the SDK's signer leaves out of every
// signature (the AWS SDKs and botocore never sign them either), so that a
// signature over one of them can not be recomputed here.
var unverifiable = []string{"authorization", "user-agent", "expect", "transfer-encoding", "x-amzn-trace-id"}

// check parses and checks what r's headers claim.
func (v *Verifier) check(r *http.Request, now time.Time) (claim, error) {
	var c claim
	incomplete := func(format string, a ...any) (claim, error) {
		return c, &Error{Code: IncompleteSignature, Message: fmt.Sprintf(format, a...), AccessKeyID: c.keyID}
	}
	invalid := func(format string, a ...any) (claim, error) {
		return c, &Error{Code: InvalidSignature, Message: fmt.Sprintf(format, a...), AccessKeyID: c.keyID}
	}
	auth := r.Header["Authorization"]
	switch {
	case len(auth) == 0:
		if q := r.URL.Query(); q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential") {
			return incomplete("presigned URLs are not supported: sign the Authorization header")
		}
		return c, &Error{Code: MissingAuthenticationToken, Message: msgMissing}
	case len(auth) > 1:
		return incomplete("more than one Authorization header")
	}
	alg, params, _ := strings.Cut(strings.TrimSpace(auth[0]), " ")
	if alg != "AWS4-HMAC-SHA256" {
		return incomplete("Authorization header: algorithm %s: want AWS4-HMAC-SHA256", quote(alg))
	}
	var credential string
	var have [3]bool
	for p := range strings.SplitSeq(params, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
		i := slices.Index([]string{"Credential", "SignedHeaders", "Signature"}, name)
		switch {
		case !ok || i < 0:
			return incomplete("Authorization header: parameter %s: want Credential=..., SignedHeaders=..., Signature=...", quote(p))
		case have[i]:
			return incomplete("Authorization header: %s given twice", name)
		}
		have[i] = true
		switch i {
		case 0:
			credential = value
		case 1:
			c.signedHeaders = value
		case 2:
			c.signature = value
		}
	}
	for i, name := range []string{"Credential", "SignedHeaders", "Signature"} {
		if !have[i] {
			return incomplete("Authorization header requires '%s' parameter.", name)
		}
	}
	var scope [5]string
	rest := credential
	for i := range scope {
		var ok bool
		if scope[i], rest, ok = strings.Cut(rest, "/"); ok != (i < 4) || scope[i] == "" && i == 0 {
			return incomplete("Authorization header: Credential %s: want ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request", quote(credential))
		}
	}
	c.keyID = scope[0]
	if len(c.signature) != 2*sha256.Size || !isLowerHex(c.signature) {
		return incomplete("Authorization header: Signature: want %d lower-case hexadecimal digits", 2*sha256.Size)
	}
	dates := r.Header["X-Amz-Date"]
	if len(dates) != 1 {
		return incomplete("Authorization header requires existence of a 'X-Amz-Date' header (the Date header is not supported).")
	}
	var err error
	if c.date, err = time.Parse(amzDate, dates[0]); err != nil {
		return incomplete("X-Amz-Date %s: want the form %s", quote(dates[0]), amzDate)
	}
	if c.key = (*v.keys.Load())[c.keyID]; c.key == nil {
		return c, &Error{Code: UnrecognizedClient, Message: msgUnknownKey, AccessKeyID: c.keyID}
	}
	if _, ok := r.Header["X-Amz-Security-Token"]; ok {
		// Our keys are long-term: a security token is one we did not issue.
		return c, &Error{Code: UnrecognizedClient, Message: msgUnknownKey, AccessKeyID: c.keyID}
	}
	switch day := c.date.Format("20060102"); {
	case scope[4] != "aws4_request":
		return invalid("Credential should be scoped with a valid terminator: 'aws4_request', not %s.", quote(scope[4]))
	case scope[3] != v.opts.Service:
		return invalid("Credential should be scoped to correct service: '%s'.", v.opts.Service)
	case scope[2] != v.opts.Region:
		return invalid("Credential should be scoped to a valid region, not %s.", quote(scope[2]))
	case scope[1] != day:
		return invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: %s != '%s', from '%s'.", quote(scope[1]), day, dates[0])
	}
	skew := v.opts.MaxSkew
	if earliest := now.Add(-skew); c.date.Before(earliest) {
		return invalid("Signature expired: %s is now earlier than %s (%s - %s.)", dates[0], earliest.UTC().Format(amzDate), now.UTC().Format(amzDate), skewText(skew))
	}
	if latest := now.Add(skew); c.date.After(latest) {
		return invalid("Signature not yet current: %s is still later than %s (%s + %s.)", dates[0], latest.UTC().Format(amzDate), now.UTC().Format(amzDate), skewText(skew))
	}
	host := false
	for h := range strings.SplitSeq(c.signedHeaders, ";") {
		host = host || h == "host"
		if slices.Contains(unverifiable, h) {
			return invalid("SignedHeaders has %s, which this server can not verify: AWS's SDKs do not sign it", quote(h))
		}
	}
	if !host {
		return invalid("'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return c, nil
}

// skewText writes a skew as AWS does ("15 min").
func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return d.String()
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// quote quotes a value from a request for a message, cut to 64 bytes.
func quote(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("'%s...'", strings.ToValidUTF8(s[:64], "?"))
	}
	return "'" + strings.ToValidUTF8(s, "?") + "'"
}
