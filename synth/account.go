package synth

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"net/netip"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/ipinsights/ipinsights-go/rng"
)

// AccountConfig sets the size of a synthetic AWS account. Zero fields take
// the values of the SEC405 workshop example.
type AccountConfig struct {
	ID           string    // the 12-digit account id; "111122223333"
	Users        int       // IAM users; 40
	Roles        int       // IAM roles, each used by one session (an instance, a pipeline); 6
	Days         int       // days of CloudTrail logs; 7
	EventsPerDay int       // API calls per user per day; 90 (each role makes twice as many)
	Start        time.Time // the start of the first day; 2024-03-04 00:00 UTC
	Seed         uint64    // seed of everything
}

func (c AccountConfig) withDefaults() AccountConfig {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Users, 40)
	def(&c.Roles, 6)
	def(&c.Days, 7)
	def(&c.EventsPerDay, 90)
	if c.ID == "" {
		c.ID = "111122223333"
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	}
	return c
}

// IAMUser is an IAM user of an Account, with one access key. Users work
// from their home network, and in working hours mostly from one of the
// account's offices; a few travel.
type IAMUser struct {
	Name, ID, AccessKeyID string
	Home                  netip.Prefix // a /24
	HomeV6                netip.Prefix // a /48 for every fifth user, whose ISP gives IPv6; else the zero Prefix
}

// Identity returns the user's userIdentity in account.
func (u *IAMUser) Identity(account string) *Identity {
	return &Identity{Type: "IAMUser", PrincipalID: u.ID, ARN: "arn:aws:iam::" + account + ":user/" + u.Name,
		AccountID: account, AccessKeyID: u.AccessKeyID, UserName: u.Name}
}

// IAMRole is an IAM role of an Account, assumed by one long-running
// session (an instance, a CI runner) that calls from its own networks (a
// VPC's NAT gateways, a runner pool).
type IAMRole struct {
	Name, ID, AccessKeyID string
	Session               string         // the session name
	Networks              []netip.Prefix // /24s
}

// Identity returns the identity of the role's session in account, created
// at created.
func (r *IAMRole) Identity(account string, created time.Time) *Identity {
	return &Identity{
		Type: "AssumedRole", PrincipalID: r.ID + ":" + r.Session, AccountID: account, AccessKeyID: r.AccessKeyID,
		ARN: "arn:aws:sts::" + account + ":assumed-role/" + r.Name + "/" + r.Session,
		SessionContext: &SessionContext{
			SessionIssuer: &SessionIssuer{Type: "Role", PrincipalID: r.ID, ARN: "arn:aws:iam::" + account + ":role/" + r.Name, AccountID: account, UserName: r.Name},
			Attributes:    SessionAttributes{CreationDate: created.UTC().Format(time.RFC3339), MFAAuthenticated: "false"},
		},
	}
}

// Account is a synthetic AWS account: its principals and networks, from
// which LogFiles and Findings draw its CloudTrail logs and GuardDuty
// findings. Everything is deterministic for a config.
type Account struct {
	Config  AccountConfig // with the defaults filled in
	Users   []IAMUser
	Roles   []IAMRole
	Offices []netip.Prefix // two /24s
}

// regions are the regions of an Account's CloudTrail events; findings
// are in the first.
var regions = [...]string{"us-east-1", "eu-west-1"}

// NewAccount makes the account of c.
func NewAccount(c AccountConfig) (*Account, error) {
	c = c.withDefaults()
	switch {
	case c.Users < 0 || c.Roles < 0 || c.Days < 0 || c.EventsPerDay < 0:
		return nil, fmt.Errorf("synth: negative account size: %d users, %d roles, %d days, %d events per day", c.Users, c.Roles, c.Days, c.EventsPerDay)
	case len(c.ID) != 12 || !digits(c.ID):
		return nil, fmt.Errorf("synth: account id %q is not 12 digits", c.ID)
	}
	r := rng.New(c.Seed, rng.Stream(0x61636374)) // "acct"
	a := &Account{Config: c, Offices: []netip.Prefix{randomNetwork(r), randomNetwork(r)}}
	for i := range c.Users {
		u := IAMUser{Name: fmt.Sprintf("user%02d", i), ID: fmt.Sprintf("AIDA%016X", r.Uint64()>>1),
			AccessKeyID: fmt.Sprintf("AKIA%016X", r.Uint64()>>1), Home: randomNetwork(r)}
		if i%5 == 4 {
			u.HomeV6 = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i), byte(r.IntN(256))}), 48)
		}
		a.Users = append(a.Users, u)
	}
	names := []string{"app-server-role", "ci-deploy-role", "etl-batch-role", "lambda-exec-role", "monitoring-role", "backup-role", "analytics-role", "web-role"}
	for i := range c.Roles {
		ro := IAMRole{Name: names[i%len(names)], ID: fmt.Sprintf("AROA%016X", r.Uint64()>>1),
			AccessKeyID: fmt.Sprintf("ASIA%016X", r.Uint64()>>1), Session: fmt.Sprintf("i-0%015x", r.Uint64()>>4)}
		if i >= len(names) {
			ro.Name += strconv.Itoa(i)
		}
		ro.Networks = []netip.Prefix{randomNetwork(r), randomNetwork(r)}
		a.Roles = append(a.Roles, ro)
	}
	return a, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// randomNetwork draws a /24 from public-looking space (no 0/8, 10/8,
// 127/8, 172.16/12, 192.168/16 or multicast).
func randomNetwork(r *rng.RNG) netip.Prefix {
	for {
		a := byte(1 + r.IntN(222))
		b := byte(r.IntN(256))
		if a == 10 || a == 127 || a == 172 && b >= 16 && b < 32 || a == 192 && b == 168 {
			continue
		}
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{a, b, byte(r.IntN(256)), 0}), 24)
	}
}

// hostIn draws an address of p other than its first and last: p is a /24
// or an IPv6 prefix of at most /112.
func hostIn(r *rng.RNG, p netip.Prefix) netip.Addr {
	if p.Addr().Is4() {
		a := p.Addr().As4()
		a[3] = byte(1 + r.IntN(254))
		return netip.AddrFrom4(a)
	}
	a := p.Addr().As16()
	a[14], a[15] = byte(r.IntN(256)), byte(1+r.IntN(254))
	return netip.AddrFrom16(a)
}

var (
	readAPIs  = [][2]string{{"ec2.amazonaws.com", "DescribeInstances"}, {"s3.amazonaws.com", "ListBuckets"}, {"s3.amazonaws.com", "GetObject"}, {"iam.amazonaws.com", "GetUser"}, {"monitoring.amazonaws.com", "GetMetricData"}, {"sts.amazonaws.com", "GetCallerIdentity"}}
	writeAPIs = [][2]string{{"s3.amazonaws.com", "PutObject"}, {"ec2.amazonaws.com", "RunInstances"}, {"lambda.amazonaws.com", "UpdateFunctionCode"}, {"dynamodb.amazonaws.com", "PutItem"}}
	services  = []string{"ec2.amazonaws.com", "lambda.amazonaws.com", "autoscaling.amazonaws.com", "elasticloadbalancing.amazonaws.com", "config.amazonaws.com"}
)

const cliUserAgent = "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.8"

// LogFiles yields the account's CloudTrail log files, one per region and
// hour that has events, hour by hour; events in a file are in time order.
// Each hour is drawn from its own random stream, so that the files do
// not depend on how many of them are read. Per hour:
//
//   - each user makes Poisson(EventsPerDay/24) calls, 1.6 times as many in
//     working hours (7 to 20 UTC) and 0.3 times as many at night: from an
//     office (70% in working hours), their home /48 (half of the others,
//     for users with IPv6), or else their home /24; one call in 50 from a
//     random network (travel). One in five is a write; one in 30 a
//     console sign-in, which has no access key;
//   - each role's session makes Poisson(2*EventsPerDay/24) reads from its
//     networks, one in eight through a service ("AWS Internal" as source);
//   - AWS services make Poisson(20) calls with their DNS name as source;
//   - at noon, a CloudTrail Insights event, which has no identity.
func (a *Account) LogFiles() iter.Seq[*LogFile] {
	return func(yield func(*LogFile) bool) {
		for h := range a.Config.Days * 24 {
			for _, f := range a.hour(h) {
				if !yield(f) {
					return
				}
			}
		}
	}
}

// hour draws the log files of hour h.
func (a *Account) hour(h int) []*LogFile {
	c := a.Config
	r := rng.New(c.Seed, rng.Stream(0x6374, uint64(h))) // "ct"
	start := c.Start.Add(time.Duration(h) * time.Hour)
	files := make([]*LogFile, len(regions))
	for i, region := range regions {
		files[i] = &LogFile{Account: c.ID, Region: region, Time: start, Unique: fmt.Sprintf("%08X", r.Uint32())}
	}
	add := func(e Event) {
		e.ID, e.RequestID = UUID(r), UUID(r)
		e.Time = start.Add(time.Duration(r.IntN(3600)) * time.Second)
		f := files[r.IntN(len(files))]
		e.Region, e.Account = f.Region, c.ID
		if e.UserAgent == "" {
			e.UserAgent = cliUserAgent
		}
		f.Events = append(f.Events, e)
	}
	hod := start.UTC().Hour()
	working := hod >= 7 && hod < 20
	shape := 0.3
	if working {
		shape = 1.6
	}
	for i := range a.Users {
		u := &a.Users[i]
		for range poisson(r, float64(c.EventsPerDay)/24*shape) {
			src := hostIn(r, u.Home)
			switch {
			case r.IntN(50) == 0: // travel: a hotel, a conference, a phone
				src = hostIn(r, randomNetwork(r))
			case working && r.IntN(10) < 7:
				src = hostIn(r, a.Offices[r.IntN(len(a.Offices))])
			case u.HomeV6.IsValid() && r.IntN(2) == 0:
				src = hostIn(r, u.HomeV6)
			}
			id := u.Identity(c.ID)
			api, ro := readAPIs[r.IntN(len(readAPIs))], true
			if r.IntN(5) == 0 {
				api, ro = writeAPIs[r.IntN(len(writeAPIs))], false
			}
			if r.IntN(30) == 0 { // a console sign-in: no access key
				id.AccessKeyID = ""
				api, ro = [2]string{"signin.amazonaws.com", "ConsoleLogin"}, false
			}
			add(Event{Identity: id, SourceIPAddress: src.String(), EventSource: api[0], EventName: api[1], ReadOnly: ro})
		}
	}
	for i := range a.Roles {
		ro := &a.Roles[i]
		for range poisson(r, 2*float64(c.EventsPerDay)/24) {
			id := ro.Identity(c.ID, start)
			api := readAPIs[r.IntN(len(readAPIs))]
			src := hostIn(r, ro.Networks[r.IntN(len(ro.Networks))]).String()
			if r.IntN(8) == 0 { // a call a service makes on the role's behalf
				id.InvokedBy = services[r.IntN(len(services))]
				src = "AWS Internal"
			}
			add(Event{Identity: id, SourceIPAddress: src, EventSource: api[0], EventName: api[1], ReadOnly: true})
		}
	}
	for range poisson(r, 20) { // services acting on their own
		svc := services[r.IntN(len(services))]
		add(Event{Identity: ServiceIdentity(svc), SourceIPAddress: svc, EventSource: "sts.amazonaws.com", EventName: "AssumeRole", UserAgent: svc})
	}
	if hod == 12 {
		add(Event{EventSource: "ec2.amazonaws.com", EventName: "RunInstances"})
	}
	out := files[:0]
	for _, f := range files {
		if len(f.Events) > 0 {
			sort.SliceStable(f.Events, func(i, j int) bool { return f.Events[i].Time.Before(f.Events[j].Time) })
			out = append(out, f)
		}
	}
	return out
}

// poisson draws a Poisson(mean) variate (Knuth's method; mean is small).
func poisson(r *rng.RNG, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// WriteCloudTrail writes the account's log files under root in
// CloudTrail's S3 layout (see LogFile.Path) and returns the number of
// events written.
func (a *Account) WriteCloudTrail(root string) (int, error) {
	n := 0
	for f := range a.LogFiles() {
		if _, err := f.WriteFile(root); err != nil {
			return n, err
		}
		n += len(f.Events)
	}
	return n, nil
}

// findingTypes are the access key findings of Findings, one per user
// attacked.
var findingTypes = []struct{ typ, title, api, svc string }{
	{"UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom", "API ListBuckets was invoked from an IP address on a custom threat list.", "ListBuckets", "s3.amazonaws.com"},
	{"Recon:IAMUser/MaliciousIPCaller", "Reconnaissance API DescribeInstances was invoked from a known malicious IP address.", "DescribeInstances", "ec2.amazonaws.com"},
	{"UnauthorizedAccess:IAMUser/TorIPCaller", "API GetObject was invoked from a Tor exit node IP address.", "GetObject", "s3.amazonaws.com"},
	{"PenTest:IAMUser/KaliLinux", "API GetUser was invoked from a Kali Linux computer.", "GetUser", "iam.amazonaws.com"},
	{"Discovery:IAMUser/AnomalousBehavior", "APIs commonly used in discovery tactics were invoked by an unusual user.", "ListUsers", "iam.amazonaws.com"},
}

// Findings returns GuardDuty findings of the account's last day, at 15:00
// UTC: two API calls from an attacker's network with the access keys of
// each of five users (users 0, 7, 14, 21 and 28, modulo the number of
// users; fewer when the account has fewer users), one call with the
// credentials of the first role's session from outside AWS, and an SSH
// brute force on an instance, which has no access key.
func (a *Account) Findings() []Finding {
	c := a.Config
	r := rng.New(c.Seed, rng.Stream(0x66696e64)) // "find"
	day := c.Start.Add(time.Duration(c.Days-1)*24*time.Hour + 15*time.Hour)
	id := func() string { return fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64()) }
	var fs []Finding
	for i := 0; i < len(findingTypes) && i < len(a.Users); i++ {
		u := &a.Users[(i*7)%len(a.Users)]
		t := findingTypes[i]
		attacker := randomNetwork(r)
		for j := range 2 {
			fs = append(fs, Finding{ID: id(), Type: t.typ, Title: t.title, Severity: 5 + float64(i%3),
				Account: c.ID, Region: regions[0], Time: day.Add(time.Duration(i*j) * time.Minute), AccessKeyID: u.AccessKeyID,
				PrincipalID: u.ID, UserName: u.Name, UserType: "IAMUser", API: t.api, ServiceName: t.svc,
				RemoteIP: hostIn(r, attacker), Country: "Example"})
		}
	}
	if len(a.Roles) > 0 {
		ro := &a.Roles[0]
		fs = append(fs, Finding{ID: id(), Type: "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
			Title: "Credentials for instance role " + ro.Name + " used from a remote AWS account.", Severity: 8,
			Account: c.ID, Region: regions[0], Time: day, AccessKeyID: ro.AccessKeyID, PrincipalID: ro.ID + ":" + ro.Session,
			UserName: ro.Name, UserType: "AssumedRole", API: "ListBuckets", ServiceName: "s3.amazonaws.com",
			RemoteIP: hostIn(r, randomNetwork(r)), Country: "Example"})
	}
	brute := hostIn(r, randomNetwork(r))
	fs = append(fs, Finding{ID: id(), Type: "UnauthorizedAccess:EC2/SSHBruteForce",
		Title: brute.String() + " is performing SSH brute force attacks against i-0123456789abcdef0.", Severity: 2,
		Account: c.ID, Region: regions[0], Time: day, InstanceID: "i-0123456789abcdef0", RemoteIP: brute, Country: "Example"})
	return fs
}

// FindingsPath returns the path, relative to a root, at which
// WriteFindings writes: AWSLogs/<account>/GuardDuty/<region>/YYYY/MM/DD/findings.jsonl.gz.
func (a *Account) FindingsPath() string {
	day := a.Config.Start.Add(time.Duration(a.Config.Days-1) * 24 * time.Hour).UTC()
	return filepath.Join("AWSLogs", a.Config.ID, "GuardDuty", regions[0], day.Format("2006"), day.Format("01"), day.Format("02"), "findings.jsonl.gz")
}

// WriteFindings writes the Findings under root at FindingsPath as an S3
// export of them does: gzip-compressed JSON lines of the EventBridge
// events GuardDuty sends. It returns the path written.
func (a *Account) WriteFindings(root string) (string, error) {
	path := filepath.Join(root, a.FindingsPath())
	return path, writeFile(path, a.writeFindings)
}

func (a *Account) writeFindings(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	zw := gzip.NewWriter(cw)
	bw := bufio.NewWriter(zw)
	r := rng.New(a.Config.Seed, rng.Stream(0x6576656e74)) // "event"
	fs := a.Findings()
	for i := range fs {
		ev, err := fs[i].EventBridge(UUID(r))
		if err != nil {
			return cw.n, err
		}
		bw.Write(ev)
		bw.WriteByte('\n')
	}
	err := errors.Join(bw.Flush(), zw.Close())
	return cw.n, err
}
