// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests
// the way AWS services do, so that clients configured with an access key
// (the AWS SDKs, the AWS CLI, boto3) authenticate against a server of ours
// unchanged.
//
// A Verifier holds access keys (Key, read from text by ParseKeys), the
// region and the service that signatures must be scoped to, and the
// clock skew it allows; SetKeys replaces its keys while it verifies
// (to rotate them without a restart), atomically: a request is checked
// against one key set or the other, and verifying takes no lock. Verify recomputes a request's signature with the
// AWS SDK for Go's own signer (github.com/aws/aws-sdk-go-v2/aws/signer/v4):
// it signs a copy of the request that holds only the headers the client
// signed, at the time the client claims, with the payload hash of the body
// the server received, and compares the two signatures in constant time.
// CheckHeaders makes the checks that need no body (the Authorization
// header's form, a known key, the credential scope, the date), so that a
// server can refuse a stranger before reading what it sends.
//
// Refusals are *Error values whose Code is the error type AWS sends in the
// X-Amzn-ErrorType header: MissingAuthenticationTokenException without an
// Authorization header, IncompleteSignatureException for a malformed one,
// UnrecognizedClientException for an unknown access key, and
// InvalidSignatureException for a wrong signature, a wrong scope or a date
// outside the allowed skew ("Signature expired: ...").
//
// What is not supported: presigned URLs (the signature in the query
// string), temporary credentials (a request with X-Amz-Security-Token is
// refused, as AWS refuses a token it did not issue), SigV4a, the Date
// header in place of X-Amz-Date, and signatures over the headers that the
// AWS SDKs themselves never sign (User-Agent, Expect, Transfer-Encoding,
// X-Amzn-Trace-Id), which are refused with a message naming the header.
package sigv4
