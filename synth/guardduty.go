package synth

import (
	"encoding/json"
	"net/netip"
	"time"
)

// Finding is a GuardDuty finding: about an access key used from a remote
// address (resource type AccessKey, action AWS_API_CALL), or, when
// InstanceID is set, about an instance that a remote address connected to
// (resource type Instance, action NETWORK_CONNECTION inbound, such as an
// SSH brute force), which has no access key.
type Finding struct {
	ID, Type, Title string
	Severity        float64
	Account, Region string
	Time            time.Time
	// AccessKeyID, PrincipalID, UserName and UserType are the
	// accessKeyDetails of an access key finding.
	AccessKeyID, PrincipalID, UserName, UserType string
	// API and ServiceName are the call of an access key finding.
	API, ServiceName string
	// InstanceID makes an instance finding.
	InstanceID string
	RemoteIP   netip.Addr
	Country    string
}

// detector is the GuardDuty detector id of every finding.
const detector = "12abc34d567e8fa901bc2d34e56789f0"

// MarshalJSON returns the finding in GuardDuty's finding format
// (camelCase, as the API and EventBridge write it).
func (f Finding) MarshalJSON() ([]byte, error) {
	ts := f.Time.UTC().Format("2006-01-02T15:04:05.000Z")
	remote := map[string]any{"country": map[string]any{"countryName": f.Country},
		"organization": map[string]any{"asn": "64500", "asnOrg": "EXAMPLE-HOSTING", "isp": "Example Hosting", "org": "Example Hosting"}}
	if f.RemoteIP.Is4() {
		remote["ipAddressV4"] = f.RemoteIP.String()
	} else if f.RemoteIP.IsValid() {
		remote["ipAddressV6"] = f.RemoteIP.String()
	}
	resource := map[string]any{"resourceType": "AccessKey", "accessKeyDetails": map[string]any{
		"accessKeyId": f.AccessKeyID, "principalId": f.PrincipalID, "userName": f.UserName, "userType": f.UserType}}
	action := map[string]any{"actionType": "AWS_API_CALL", "awsApiCallAction": map[string]any{
		"api": f.API, "serviceName": f.ServiceName, "callerType": "Remote IP", "remoteIpDetails": remote}}
	if f.InstanceID != "" {
		resource = map[string]any{"resourceType": "Instance", "instanceDetails": map[string]any{"instanceId": f.InstanceID}}
		action = map[string]any{"actionType": "NETWORK_CONNECTION", "networkConnectionAction": map[string]any{
			"connectionDirection": "INBOUND", "blocked": false, "protocol": "TCP",
			"localPortDetails": map[string]any{"port": 22, "portName": "SSH"}, "remoteIpDetails": remote}}
	}
	return json.Marshal(map[string]any{
		"schemaVersion": "2.0", "accountId": f.Account, "region": f.Region, "partition": "aws", "id": f.ID,
		"arn":  "arn:aws:guardduty:" + f.Region + ":" + f.Account + ":detector/" + detector + "/finding/" + f.ID,
		"type": f.Type, "title": f.Title, "description": f.Title, "severity": f.Severity, "createdAt": ts, "updatedAt": ts,
		"resource": resource,
		"service": map[string]any{
			"serviceName": "guardduty", "detectorId": detector, "archived": false, "count": 1,
			"eventFirstSeen": ts, "eventLastSeen": ts, "resourceRole": "TARGET", "action": action,
		},
	})
}

// EventBridge returns the EventBridge event that GuardDuty sends for the
// finding ("detail-type": "GuardDuty Finding"), with event id id (a UUID).
func (f *Finding) EventBridge(id string) ([]byte, error) {
	return json.Marshal(map[string]any{
		"version": "0", "id": id, "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
		"account": f.Account, "time": f.Time.UTC().Format(time.RFC3339), "region": f.Region, "resources": []any{}, "detail": f,
	})
}
