package awslogs_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/ipinsights/ipinsights-go/awslogs"
)

func ExamplePrincipalKey_CloudTrailPair() {
	// One CloudTrail record (abridged), as a function reading a CloudTrail
	// stream receives it: a session of an assumed role.
	record := `{"eventVersion": "1.09", "eventTime": "2024-03-01T10:00:00Z", "eventName": "ListBuckets",
	  "sourceIPAddress": "198.51.100.20",
	  "userIdentity": {"type": "AssumedRole", "principalId": "AROAIDPPEZS35WEXAMPLE:MySessionName",
	    "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAIDPPEZS35WEXAMPLE",
	      "arn": "arn:aws:iam::123456789012:role/RoleToBeAssumed"}}}}`
	var rec awslogs.Record
	if err := json.Unmarshal([]byte(record), &rec); err != nil {
		log.Fatal(err)
	}
	// The rule of the training data (`ipinsights tuples cloudtrail
	// --principal ...`, Options.Key): every session of the role is the role.
	for _, k := range []awslogs.PrincipalKey{awslogs.KeyIdentity, awslogs.KeyARN} {
		pair, reason := k.CloudTrailPair(&rec)
		if reason != 0 {
			fmt.Println("no pair:", reason)
			continue
		}
		// model.Score(pair.Entity, pair.IP) would score it.
		fmt.Printf("%s: %s %s\n", k, pair.Entity, pair.IP)
	}
	// A call a service made for the role gives no pair.
	rec.SourceIPAddress = "AWS Internal"
	_, reason := awslogs.KeyIdentity.CloudTrailPair(&rec)
	fmt.Println("no pair:", reason)
	// Output:
	// identity: AROAIDPPEZS35WEXAMPLE 198.51.100.20
	// arn: arn:aws:iam::123456789012:role/RoleToBeAssumed 198.51.100.20
	// no pair: AWS Internal as source
}

func ExamplePrincipalKey_FindingPairs() {
	// The EventBridge event GuardDuty sends for a finding (abridged), as a
	// Lambda function on the rule "detail-type": "GuardDuty Finding"
	// receives it: an instance role's credentials used outside AWS.
	event := `{"version": "0", "id": "c8c4daa7-a20c-2f03-0070-b7393dd542a0", "detail-type": "GuardDuty Finding",
	  "source": "aws.guardduty", "account": "123456789012", "region": "us-east-1",
	  "detail": {"schemaVersion": "2.0", "accountId": "123456789012", "partition": "aws",
	    "id": "000000000000000000000000f00d0002", "severity": 8,
	    "type": "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
	    "resource": {"resourceType": "AccessKey", "accessKeyDetails": {"accessKeyId": "ASIAIOSFODNN7EXAMPLE",
	      "principalId": "AROAIDPPEZS35WEXAMPLE:i-0123456789abcdef0", "userName": "RoleToBeAssumed", "userType": "AssumedRole"}},
	    "service": {"action": {"actionType": "AWS_API_CALL", "awsApiCallAction": {"api": "ListBuckets",
	      "remoteIpDetails": {"ipAddressV4": "203.0.113.66"}}}}}}`
	var ev struct {
		Detail awslogs.Finding `json:"detail"`
	}
	if err := json.Unmarshal([]byte(event), &ev); err != nil {
		log.Fatal(err)
	}
	// Keyed by the rule of the training data, the role's session is its
	// role, as in CloudTrail: a principal the model has seen.
	for pair, reason := range awslogs.KeyIdentity.FindingPairs(&ev.Detail) {
		if reason != 0 {
			fmt.Println("no pair:", reason)
			continue
		}
		// model.Score(pair.Entity, pair.IP) would score it.
		fmt.Println(ev.Detail.ID, pair.Entity, pair.IP)
	}
	// Output:
	// 000000000000000000000000f00d0002 AROAIDPPEZS35WEXAMPLE 203.0.113.66
}
