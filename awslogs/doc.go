// Package awslogs turns AWS CloudTrail logs and Amazon GuardDuty findings
// into (principal, IP address) tuples: the training data and the
// inference data of the SEC405 workshop "Scalable, automated anomaly
// detection with Amazon GuardDuty and SageMaker", which trains IP Insights
// on CloudTrail and scores GuardDuty findings.
//
// ExtractCloudTrail and ExtractGuardDuty read files, directory trees, "-"
// and s3://bucket/prefix inputs, decode them as streams, one record at a
// time, so a file may hold many MB, and write tuples to a TupleWriter, such
// as a CSVWriter, in input order. Several inputs are decoded at once
// (Options.Workers); the output order does not depend on it.
//
// CloudTrail records are read by a small validating JSON parser (the
// project's one hand-written JSON scanner, shared with package inference)
// in CloudTrailDecoder, faster than encoding/json's Decoder, which scans
// each record twice: it keeps the fields it needs,
// matching CloudTrail's camelCase keys exactly, and checks the syntax of
// everything it skips. GuardDuty inputs, which are small, go through a
// json.Decoder (GuardDutyDecoder). Every record that gives no tuple is counted by Reason in the
// Report; an input that is malformed or truncated is a *FileError naming
// the file and the record, and the other inputs are still read.
//
// # One record at a time
//
// A tool that is handed one record at a time, such as a Lambda function
// on a CloudTrail stream or on the EventBridge rule of GuardDuty findings,
// gets its pairs from PrincipalKey.CloudTrailPair and
// PrincipalKey.FindingPairs, as ipinsights.Pair values ready to score.
// They are the functions ExtractCloudTrail and ExtractGuardDuty apply to
// every record, so a record scored on its own is keyed as the training
// data was. Record and Finding decode with encoding/json too.
//
// # CloudTrail inputs
//
// Log files as CloudTrail delivers them ({"Records": [...]}, .json or
// .json.gz), a JSON array of records, and JSON lines of records (one per
// line, as exports write them). Gzip is recognised by content. Directories
// are walked recursively, so the S3 layout
// AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/ (or a synced copy of a
// whole bucket) can be given as is; files not named .json, .jsonl or
// .ndjson (optionally .gz) and the CloudTrail-Digest folders are passed
// over and listed in Report.Ignored.
//
// A record gives a tuple when it has a userIdentity, its sourceIPAddress is
// an IPv4 or IPv6 address, and the principal key rule finds a principal.
// Otherwise it is counted as: no userIdentity (CloudTrail Insights events
// have none), AWS Internal as source, service DNS name as source
// (ec2.amazonaws.com and the like, for calls a service makes), no
// sourceIPAddress, unparsable address (such as "redacted" or a
// comma-separated list), or no principal for the key. IPv6 sources are
// kept. A record that is valid JSON but of the wrong shape (a field of the
// wrong type) is counted as malformed with its index. The first record
// decides whether the input is CloudTrail at all: when it is not an object
// with eventVersion, eventTime, eventName or eventID (a CSV file, another
// service's JSON, a digest file), the input fails with a FileError wrapping
// ErrNotCloudTrail that says what it found. A log without records
// ({"Records":[]}) is not an error. GuardDuty inputs are judged alike by
// their first value (ErrNotGuardDuty). The filters of
// Options (time window, event names, readOnly, de-duplication by eventID)
// count what they leave out too.
//
// # GuardDuty inputs
//
// A JSON array of findings, GetFindings output ({"Findings": [...]},
// streamed), EventBridge events ("detail-type": "GuardDuty Finding"), and
// JSON lines of findings or events (S3 exports, .gz too). Keys match
// without regard to case, so both the camelCase of the API and EventBridge
// and the PascalCase of the AWS CLI's output decode.
//
// The principal comes from resource.accessKeyDetails; the address from
// service.action: awsApiCallAction.remoteIpDetails (AWS_API_CALL),
// networkConnectionAction.remoteIpDetails (NETWORK_CONNECTION), and every
// portProbeAction.portProbeDetails[].remoteIpDetails (PORT_PROBE: one
// tuple per probing address), ipAddressV4 or else ipAddressV6. Findings
// without access key details (EC2 findings), with another action type
// (DNS_REQUEST, KUBERNETES_API_CALL, ...) or without a remote address are
// counted by reason. Tuples carry the finding's id, type and severity,
// which CSVWriter writes as extra columns that scoring passes through.
//
// # Principal keys
//
// A PrincipalKey rule maps an identity to the tuple's entity. It is the
// same function on both sides: a finding's accessKeyDetails (accessKeyId,
// principalId, userName, userType) is mapped onto a UserIdentity first.
// For each documented userIdentity.type, KeyIdentity (the default) gives:
//
//	IAMUser             principalId (AIDA...)
//	AssumedRole         principalId before the colon: the role id (AROA...);
//	                    sessionContext.sessionIssuer.principalId if principalId is missing
//	Role                principalId (AROA...)
//	Root                principalId (the account id)
//	FederatedUser       principalId (account:name), whole
//	AWSAccount          principalId, whole
//	AWSService          principalId, whole; records without one are "no principal"
//	                    (their source is almost always the service's DNS name anyway)
//	SAMLUser            principalId (name qualifier:subject), whole
//	WebIdentityUser     principalId (issuer:application:user), whole
//	IdentityCenterUser  onBehalfOf.userId (it has no principalId)
//	Directory, Unknown  principalId, whole
//	no userIdentity     skipped as "no userIdentity" (Insights events)
//
// Cutting at the colon everywhere, as the workshop did, would key every
// Google web-identity user as "accounts.google.com", every SAML user as its
// provider and every federated user as the account id; keying assumed roles
// whole would give a new entity per session, so that a finding about a
// role session never matches its training data.
//
// KeyWorkshop is the workshop's CloudTrail rule, principalId cut at its
// first colon, for comparison. The workshop's GuardDuty code did not cut,
// so its finding tuples of assumed roles never matched the training
// tuples; here the rule is applied to both sides.
//
// KeyARN gives the identity's arn; for AssumedRole the role's ARN from
// sessionContext.sessionIssuer (or, without one, built from the session
// ARN arn:...:sts::account:assumed-role/role/session); for
// IdentityCenterUser onBehalfOf.userId. Identities without an ARN
// (AWSAccount, AWSService, SAMLUser, WebIdentityUser) have no principal
// under this rule. GuardDuty findings carry no ARN: it is built from the
// finding's partition and account, the user type and the user name
// (arn:aws:iam::account:user/name, ...:role/name, ...:root,
// arn:aws:sts::account:federated-user/name), so users and roles with an
// IAM path do not match their CloudTrail ARN under this rule.
//
// KeyAccessKey gives userIdentity.accessKeyId (accessKeyDetails.accessKeyId
// for findings); console sessions with an empty accessKeyId have no
// principal under it.
package awslogs
