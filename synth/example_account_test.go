package synth_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/ipinsights/ipinsights-go/synth"
)

func ExampleNewAccount() {
	// A small account for one day; the zero fields take the workshop
	// example's values. The same seed gives the same logs and findings.
	acct, err := synth.NewAccount(synth.AccountConfig{Users: 3, Roles: 1, Days: 1, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	u := acct.Users[0]
	fmt.Println(u.Name, u.ID, u.Home)

	// The CloudTrail log files, hour by hour. WriteCloudTrail writes them
	// in CloudTrail's S3 layout.
	files, events := 0, 0
	firstOfKind := map[string]synth.Event{}
	for f := range acct.LogFiles() {
		if files == 0 {
			fmt.Println(f.Path())
		}
		files++
		events += len(f.Events)
		for _, e := range f.Events {
			kind := "none (Insights)"
			if e.Identity != nil {
				kind = e.Identity.Type
			}
			if _, ok := firstOfKind[kind]; !ok {
				firstOfKind[kind] = e
			}
		}
	}
	fmt.Println(files, "log files,", events, "events")
	// Encoded with encoding/json, an Event is the record CloudTrail writes.
	for _, kind := range []string{"IAMUser", "AssumedRole", "AWSService", "none (Insights)"} {
		rec, err := json.Marshal(firstOfKind[kind])
		if err != nil {
			log.Fatal(err)
		}
		var r struct {
			EventType, EventName, SourceIPAddress string
			UserIdentity                          struct{ PrincipalID string }
		}
		if err := json.Unmarshal(rec, &r); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s %s, principalId %q, source %q\n", kind, r.EventType, r.EventName, r.UserIdentity.PrincipalID, r.SourceIPAddress)
	}

	// GuardDuty findings of the last day: the users' access keys used from
	// attackers' networks, a role's credentials used outside AWS, and an
	// SSH brute force on an instance. WriteFindings writes them as
	// EventBridge events.
	for _, f := range acct.Findings() {
		fmt.Printf("%s %q %s\n", f.Type, f.UserName, f.RemoteIP)
	}
	// Output:
	// user00 AIDA7F7C6BF7756DF247 65.19.37.0/24
	// AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/04/111122223333_CloudTrail_us-east-1_20240304T0000Z_F569D4B6.json.gz
	// 48 log files, 973 events
	// IAMUser: AwsConsoleSignIn ConsoleLogin, principalId "AIDA7F7C6BF7756DF247", source "65.19.37.42"
	// AssumedRole: AwsApiCall GetUser, principalId "AROA175A543913D51573:i-048d8833d9fd3770", source "205.75.241.231"
	// AWSService: AwsApiCall AssumeRole, principalId "", source "lambda.amazonaws.com"
	// none (Insights): AwsCloudTrailInsight RunInstances, principalId "", source ""
	// UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom "user00" 56.22.111.250
	// UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom "user00" 56.22.111.236
	// Recon:IAMUser/MaliciousIPCaller "user01" 186.222.82.27
	// Recon:IAMUser/MaliciousIPCaller "user01" 186.222.82.166
	// UnauthorizedAccess:IAMUser/TorIPCaller "user02" 67.37.0.122
	// UnauthorizedAccess:IAMUser/TorIPCaller "user02" 67.37.0.141
	// UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS "app-server-role" 71.66.99.23
	// UnauthorizedAccess:EC2/SSHBruteForce "" 68.3.63.46
}
