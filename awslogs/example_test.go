package awslogs_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/ipinsights/ipinsights-go/awslogs"
)

func ExampleExtractCloudTrail() {
	// Three CloudTrail records as JSON lines (abridged; a log file's
	// {"Records": [...]} reads the same): an IAM user, an assumed role's
	// session, and a call a service made on the user's behalf, which has no
	// address.
	cloudTrail := `{"eventTime": "2024-03-01T10:00:00Z", "eventName": "DescribeInstances", "sourceIPAddress": "192.0.2.10", "userIdentity": {"type": "IAMUser", "principalId": "AIDAJ45Q7YFFAREXAMPLE", "userName": "Alice"}}
{"eventTime": "2024-03-01T10:01:00Z", "eventName": "ListBuckets", "sourceIPAddress": "2001:db8::20", "userIdentity": {"type": "AssumedRole", "principalId": "AROAIDPPEZS35WEXAMPLE:i-0123456789abcdef0", "arn": "arn:aws:sts::123456789012:assumed-role/app-server-role/i-0123456789abcdef0"}}
{"eventTime": "2024-03-01T10:02:00Z", "eventName": "Decrypt", "sourceIPAddress": "AWS Internal", "userIdentity": {"type": "IAMUser", "principalId": "AIDAJ45Q7YFFAREXAMPLE", "invokedBy": "lambda.amazonaws.com"}}
`

	// Training rows, principal,ip, as `ipinsights tuples cloudtrail` writes
	// them. Inputs may also be files, directory trees and s3:// prefixes.
	w := awslogs.NewCSVWriter(os.Stdout)
	rep, err := awslogs.ExtractCloudTrail(context.Background(), []string{"-"}, w, &awslogs.Options{
		Stdin: strings.NewReader(cloudTrail),
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Summary())
	// Output:
	// AIDAJ45Q7YFFAREXAMPLE,192.0.2.10
	// AROAIDPPEZS35WEXAMPLE,2001:db8::20
	// 1 input, 3 records, 2 tuples; 1 AWS Internal as source
}

func ExampleExtractGuardDuty() {
	// A JSON array of findings (abridged; GetFindings output and EventBridge
	// events read too):
	// Alice's access key called ListBuckets from an unusual address.
	findings := `[{"id": "f00d0001", "type": "Recon:IAMUser/MaliciousIPCaller", "severity": 5, "partition": "aws", "accountId": "123456789012",
	  "resource": {"resourceType": "AccessKey", "accessKeyDetails": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "principalId": "AIDAJ45Q7YFFAREXAMPLE", "userName": "Alice", "userType": "IAMUser"}},
	  "service": {"action": {"actionType": "AWS_API_CALL", "awsApiCallAction": {"api": "ListBuckets", "remoteIpDetails": {"ipAddressV4": "198.51.100.77"}}}}}]`

	// Rows to score, keyed by the same rule as the training rows; the
	// finding's columns pass through `ipinsights score`.
	w := awslogs.NewFindingCSVWriter(os.Stdout, true)
	_, err := awslogs.ExtractGuardDuty(context.Background(), []string{"-"}, w, &awslogs.Options{
		Stdin: strings.NewReader(findings),
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// principal,ip,finding_id,finding_type,severity
	// AIDAJ45Q7YFFAREXAMPLE,198.51.100.77,f00d0001,Recon:IAMUser/MaliciousIPCaller,5
}

func ExampleCloudTrailDecoder() {
	// A log file as CloudTrail delivers it to S3 (abridged).
	logFile := `{"Records": [
	  {"eventName": "DescribeInstances", "sourceIPAddress": "192.0.2.10",
	   "userIdentity": {"type": "IAMUser", "principalId": "AIDAJ45Q7YFFAREXAMPLE", "userName": "Alice"}},
	  {"eventName": "ListBuckets", "sourceIPAddress": "2001:db8::20",
	   "userIdentity": {"type": "AssumedRole", "principalId": "AROAIDPPEZS35WEXAMPLE:i-0123456789abcdef0"}},
	  {"eventName": "Decrypt", "sourceIPAddress": "AWS Internal",
	   "userIdentity": {"type": "IAMUser", "principalId": "AIDAJ45Q7YFFAREXAMPLE", "invokedBy": "lambda.amazonaws.com"}}
	]}`
	d := awslogs.NewCloudTrailDecoder(strings.NewReader(logFile), "example.json")
	for d.Next() {
		rec := d.Record()
		// The assumed role is keyed by its role, not by the session:
		// every session of the role is one entity.
		fmt.Printf("%d %s %q %q\n", d.Index(), rec.EventName, awslogs.KeyIdentity.Key(rec.UserIdentity), rec.SourceIPAddress)
	}
	if err := d.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 1 DescribeInstances "AIDAJ45Q7YFFAREXAMPLE" "192.0.2.10"
	// 2 ListBuckets "AROAIDPPEZS35WEXAMPLE" "2001:db8::20"
	// 3 Decrypt "AIDAJ45Q7YFFAREXAMPLE" "AWS Internal"
}
