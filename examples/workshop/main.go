// Command workshop reproduces the SEC405 workshop ("Scalable, automated
// anomaly detection with Amazon GuardDuty and SageMaker") offline, with no
// AWS account: it writes a week of CloudTrail logs for a made-up account in
// CloudTrail's S3 layout and a few GuardDuty findings in the real finding
// format, extracts (principal, IP) tuples from both with package awslogs,
// trains IP Insights with the workshop's hyperparameters on the first days,
// and scores the last day's normal activity and the findings side by side.
//
//	go run ./examples/workshop                 # a few seconds, once built
//	go run ./examples/workshop -out /tmp/ws    # keep the logs, tuples and plot there
package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/color"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/ipinsights/ipinsights-go/awslogs"
	"github.com/ipinsights/ipinsights-go/internal/awsgen"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// settings size the simulation; the defaults are the workshop's.
type settings struct {
	out          string
	users, roles int
	days         int
	eventsPerDay int // per user; roles make twice as many
	epochs       string
	seed         uint64
}

func main() {
	s := settings{}
	flag.StringVar(&s.out, "out", "", "directory for the logs, findings, tuples and plot (default: a new temporary directory)")
	flag.IntVar(&s.users, "users", 40, "IAM users in the made-up account")
	flag.IntVar(&s.roles, "roles", 6, "IAM roles assumed by instances and pipelines")
	flag.IntVar(&s.days, "days", 7, "days of CloudTrail logs; the last one is held out for scoring")
	flag.IntVar(&s.eventsPerDay, "events", 90, "API events per user per day")
	flag.StringVar(&s.epochs, "epochs", "5", "training epochs (the workshop's 5)")
	flag.Uint64Var(&s.seed, "seed", 1, "random seed")
	flag.Parse()
	temp := s.out == ""
	if temp {
		dir, err := os.MkdirTemp("", "ipinsights-workshop-")
		if err != nil {
			log.Fatal(err)
		}
		s.out = dir
	}
	res, err := run(context.Background(), s, os.Stdout)
	if err != nil {
		log.Fatal(err)
	}
	if temp {
		fmt.Printf("\nThe logs, tuples and plot stay in %s; remove it with: rm -r %s\n", s.out, s.out)
	}
	if !res.clearlyBelow() {
		os.Exit(1)
	}
}

const account = "111122223333"

// network is a /24 given by its first three octets.
type network [3]byte

func (n network) addr(r *rand.Rand) netip.Addr {
	return netip.AddrFrom4([4]byte{n[0], n[1], n[2], byte(1 + r.IntN(254))})
}

// randomNetwork draws a /24 from public-looking space (no 10/8, 127/8,
// 172.16/12, 192.168/16 or multicast).
func randomNetwork(r *rand.Rand) network {
	for {
		a := byte(1 + r.IntN(222))
		b := byte(r.IntN(256))
		if a == 10 || a == 127 || a == 172 && b >= 16 && b < 32 || a == 192 && b == 168 {
			continue
		}
		return network{a, b, byte(r.IntN(256))}
	}
}

type user struct {
	name, id, key string
	home          network
	homeV6        netip.Prefix // some users' home ISP gives them IPv6
}

type role struct {
	name, id, key string
	nets          []network // where its sessions run: a VPC's NAT gateways, a CI runner pool
	session       string
}

// world is the made-up account.
type world struct {
	users   []user
	roles   []role
	offices []network
	start   time.Time
}

func newWorld(s settings, r *rand.Rand) *world {
	w := &world{start: time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)}
	w.offices = []network{randomNetwork(r), randomNetwork(r)}
	for i := 0; i < s.users; i++ {
		u := user{name: fmt.Sprintf("user%02d", i), id: fmt.Sprintf("AIDA%016X", r.Uint64()>>1), key: fmt.Sprintf("AKIA%016X", r.Uint64()>>1), home: randomNetwork(r)}
		if i%5 == 4 {
			u.homeV6 = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i), byte(r.IntN(256))}), 48)
		}
		w.users = append(w.users, u)
	}
	names := []string{"app-server-role", "ci-deploy-role", "etl-batch-role", "lambda-exec-role", "monitoring-role", "backup-role", "analytics-role", "web-role"}
	for i := 0; i < s.roles; i++ {
		ro := role{name: names[i%len(names)], id: fmt.Sprintf("AROA%016X", r.Uint64()>>1), key: fmt.Sprintf("ASIA%016X", r.Uint64()>>1), session: fmt.Sprintf("i-0%015x", r.Uint64()>>4)}
		if i >= len(names) {
			ro.name += strconv.Itoa(i)
		}
		ro.nets = []network{randomNetwork(r), randomNetwork(r)}
		w.roles = append(w.roles, ro)
	}
	return w
}

var (
	readAPIs  = [][2]string{{"ec2.amazonaws.com", "DescribeInstances"}, {"s3.amazonaws.com", "ListBuckets"}, {"s3.amazonaws.com", "GetObject"}, {"iam.amazonaws.com", "GetUser"}, {"cloudwatch.amazonaws.com", "GetMetricData"}, {"sts.amazonaws.com", "GetCallerIdentity"}}
	writeAPIs = [][2]string{{"s3.amazonaws.com", "PutObject"}, {"ec2.amazonaws.com", "RunInstances"}, {"lambda.amazonaws.com", "UpdateFunctionCode"}, {"dynamodb.amazonaws.com", "PutItem"}}
	services  = []string{"ec2.amazonaws.com", "lambda.amazonaws.com", "autoscaling.amazonaws.com", "elasticloadbalancing.amazonaws.com", "config.amazonaws.com"}
)

// writeCloudTrail writes one log file per region and hour and returns the
// number of records.
func writeCloudTrail(s settings, w *world, r *rand.Rand) (int, error) {
	userAgent := "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.8"
	total := 0
	regions := []string{"us-east-1", "eu-west-1"}
	for h := 0; h < s.days*24; h++ {
		hour := w.start.Add(time.Duration(h) * time.Hour)
		perRegion := map[string][]any{}
		add := func(e *awsgen.Event) {
			e.Time = hour.Add(time.Duration(r.IntN(3600)) * time.Second)
			e.Region = regions[r.IntN(len(regions))]
			e.Account = account
			if e.UserAgent == "" {
				e.UserAgent = userAgent
			}
			perRegion[e.Region] = append(perRegion[e.Region], awsgen.Record(e, r))
		}
		working := hour.Hour() >= 7 && hour.Hour() < 20
		for _, u := range w.users {
			n := poisson(r, float64(s.eventsPerDay)/24*dayShape(hour.Hour()))
			for i := 0; i < n; i++ {
				src := u.home.addr(r)
				switch {
				case r.IntN(50) == 0: // travel: a hotel, a conference, a phone
					src = randomNetwork(r).addr(r)
				case working && r.IntN(10) < 7:
					src = w.offices[r.IntN(len(w.offices))].addr(r)
				case u.homeV6.IsValid() && r.IntN(2) == 0:
					a := u.homeV6.Addr().As16()
					a[15], a[14] = byte(r.IntN(256)), byte(r.IntN(256))
					src = netip.AddrFrom16(a)
				}
				id := awsgen.IAMUser(account, u.name, u.id, u.key)
				api, ro := readAPIs[r.IntN(len(readAPIs))], true
				if r.IntN(5) == 0 {
					api, ro = writeAPIs[r.IntN(len(writeAPIs))], false
				}
				if r.IntN(30) == 0 { // a console sign-in: no access key
					id.AccessKeyID = ""
					api, ro = [2]string{"signin.amazonaws.com", "ConsoleLogin"}, false
				}
				add(&awsgen.Event{Identity: id, Source: src.String(), EventSource: api[0], EventName: api[1], ReadOnly: ro})
			}
		}
		for _, ro := range w.roles {
			n := poisson(r, 2*float64(s.eventsPerDay)/24)
			for i := 0; i < n; i++ {
				id := awsgen.AssumedRole(account, ro.name, ro.id, ro.session, ro.key, hour)
				api := readAPIs[r.IntN(len(readAPIs))]
				src := ro.nets[r.IntN(len(ro.nets))].addr(r).String()
				if r.IntN(8) == 0 { // a call a service makes on the role's behalf
					id.InvokedBy = services[r.IntN(len(services))]
					src = "AWS Internal"
				}
				add(&awsgen.Event{Identity: id, Source: src, EventSource: api[0], EventName: api[1], ReadOnly: true})
			}
		}
		// Services acting on their own: the source is their DNS name.
		for i := poisson(r, 20); i > 0; i-- {
			svc := services[r.IntN(len(services))]
			add(&awsgen.Event{Identity: &awsgen.Identity{Type: "AWSService", InvokedBy: svc}, Source: svc, EventSource: "sts.amazonaws.com", EventName: "AssumeRole", UserAgent: svc})
		}
		if h%24 == 12 { // an Insights event: no userIdentity
			add(&awsgen.Event{EventSource: "ec2.amazonaws.com", EventName: "RunInstances"})
		}
		for region, recs := range perRegion {
			data, err := awsgen.LogFile(recs)
			if err != nil {
				return 0, err
			}
			path := awsgen.LogPath(s.out, account, region, hour, fmt.Sprintf("%08X", r.Uint32()))
			if err := awsgen.WriteFile(path, data); err != nil {
				return 0, err
			}
			total += len(recs)
		}
	}
	return total, nil
}

// dayShape is the relative activity at an hour of the day.
func dayShape(h int) float64 {
	if h >= 7 && h < 20 {
		return 1.6
	}
	return 0.3
}

func poisson(r *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// writeFindings writes GuardDuty findings as an S3 export would (JSON lines
// of EventBridge events, gzip compressed): API calls by five users and one
// assumed role from attacker addresses, and an SSH brute force on an
// instance, which has no access key.
func writeFindings(s settings, w *world, r *rand.Rand) (string, error) {
	day := w.start.Add(time.Duration(s.days-1)*24*time.Hour + 15*time.Hour)
	types := []struct{ typ, title, api, svc string }{
		{"UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom", "API ListBuckets was invoked from an IP address on a custom threat list.", "ListBuckets", "s3.amazonaws.com"},
		{"Recon:IAMUser/MaliciousIPCaller", "Reconnaissance API DescribeInstances was invoked from a known malicious IP address.", "DescribeInstances", "ec2.amazonaws.com"},
		{"UnauthorizedAccess:IAMUser/TorIPCaller", "API GetObject was invoked from a Tor exit node IP address.", "GetObject", "s3.amazonaws.com"},
		{"PenTest:IAMUser/KaliLinux", "API GetUser was invoked from a Kali Linux computer.", "GetUser", "iam.amazonaws.com"},
		{"Discovery:IAMUser/AnomalousBehavior", "APIs commonly used in discovery tactics were invoked by an unusual user.", "ListUsers", "iam.amazonaws.com"},
	}
	var fs []awsgen.Finding
	for i := 0; i < 5 && i < len(w.users); i++ {
		u := w.users[(i*7)%len(w.users)]
		t := types[i]
		attacker := randomNetwork(r)
		for j := 0; j < 2; j++ { // two calls from the attacker's network
			fs = append(fs, awsgen.Finding{ID: fmt.Sprintf("%032x", r.Uint64()), Type: t.typ, Title: t.title, Severity: 5 + float64(i%3),
				Account: account, Region: "us-east-1", Time: day.Add(time.Duration(i*j) * time.Minute), AccessKeyID: u.key, PrincipalID: u.id,
				UserName: u.name, UserType: "IAMUser", API: t.api, ServiceName: t.svc, RemoteIP: attacker.addr(r).String(), Country: "Example"})
		}
	}
	if len(w.roles) > 0 {
		ro := w.roles[0]
		fs = append(fs, awsgen.Finding{ID: fmt.Sprintf("%032x", r.Uint64()), Type: "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
			Title: "Credentials for instance role " + ro.name + " used from a remote AWS account.", Severity: 8, Account: account, Region: "us-east-1", Time: day,
			AccessKeyID: ro.key, PrincipalID: ro.id + ":" + ro.session, UserName: ro.name, UserType: "AssumedRole", API: "ListBuckets", ServiceName: "s3.amazonaws.com",
			RemoteIP: randomNetwork(r).addr(r).String(), Country: "Example"})
	}
	path := filepath.Join(s.out, "AWSLogs", account, "GuardDuty", "us-east-1", day.Format("2006/01/02"), "findings.jsonl.gz")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	enc := json.NewEncoder(zw)
	for i := range fs {
		if err := enc.Encode(fs[i].EventBridge(r)); err != nil {
			return "", err
		}
	}
	// An EC2 finding: its resource is an instance, not an access key.
	ssh := map[string]any{"version": "0", "id": awsgen.UUID(r), "detail-type": "GuardDuty Finding", "source": "aws.guardduty", "account": account,
		"time": day.Format(time.RFC3339), "region": "us-east-1", "resources": []any{}, "detail": map[string]any{
			"schemaVersion": "2.0", "accountId": account, "region": "us-east-1", "partition": "aws", "id": fmt.Sprintf("%032x", r.Uint64()),
			"type": "UnauthorizedAccess:EC2/SSHBruteForce", "severity": 2,
			"resource": map[string]any{"resourceType": "Instance", "instanceDetails": map[string]any{"instanceId": "i-0123456789abcdef0"}},
			"service":  map[string]any{"action": map[string]any{"actionType": "NETWORK_CONNECTION", "networkConnectionAction": map[string]any{"connectionDirection": "INBOUND", "remoteIpDetails": map[string]any{"ipAddressV4": randomNetwork(r).addr(r).String()}}}}}}
	if err := enc.Encode(ssh); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return path, f.Close()
}

// result is what run measured.
type result struct {
	normal, findings []float64 // dot products
	auc              float64
	belowP5          int // findings below the 5th percentile of normal pairs
	unseenFindings   int
}

// clearlyBelow is the claim the workshop makes: the findings score well
// below normal activity.
func (r *result) clearlyBelow() bool {
	return len(r.findings) > 0 && r.auc >= 0.9 && median(r.findings) < quantile(r.normal, 0.05)
}

func run(ctx context.Context, s settings, out io.Writer) (*result, error) {
	began := time.Now()
	r := rand.New(rand.NewPCG(s.seed, 405))
	w := newWorld(s, r)
	n, err := writeCloudTrail(s, w, r)
	if err != nil {
		return nil, err
	}
	gdPath, err := writeFindings(s, w, r)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "wrote %d CloudTrail records (%d days, %d users, %d roles) and GuardDuty findings under %s\n\n", n, s.days, s.users, s.roles, s.out)

	// Tuples: the first days train, the last day is held out as normal
	// activity to score. The same principal key rule on both sides.
	split := w.start.Add(time.Duration(s.days-1) * 24 * time.Hour)
	train := ipinsights.NewDataset()
	trainCSV, err := os.Create(filepath.Join(s.out, "cloudtrail_tuples.csv"))
	if err != nil {
		return nil, err
	}
	defer trainCSV.Close()
	csvw := awslogs.NewCSVWriter(trainCSV)
	ctDir := filepath.Join(s.out, "AWSLogs", account, "CloudTrail")
	rep, err := awslogs.ExtractCloudTrail(ctx, []string{ctDir}, awslogs.TupleWriterFunc(func(t *awslogs.Tuple) error {
		train.Add(t.Principal, t.Addr)
		return csvw.WriteTuple(t)
	}), &awslogs.Options{Until: split})
	if err != nil {
		return nil, err
	}
	if err := csvw.Flush(); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "CloudTrail, days 1-%d (training): %s\n", s.days-1, rep.Summary())
	var held []ipinsights.Pair
	rep, err = awslogs.ExtractCloudTrail(ctx, []string{ctDir}, awslogs.TupleWriterFunc(func(t *awslogs.Tuple) error {
		held = append(held, ipinsights.Pair{Entity: t.Principal, IP: t.Addr})
		return nil
	}), &awslogs.Options{Since: split})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "CloudTrail, day %d (held out, normal): %d tuples\n", s.days, rep.Tuples)
	var findings []awslogs.Tuple
	rep, err = awslogs.ExtractGuardDuty(ctx, []string{gdPath}, awslogs.TupleWriterFunc(func(t *awslogs.Tuple) error {
		findings = append(findings, *t)
		return nil
	}), nil)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "GuardDuty: %s\n\n", rep.Summary())
	if train.Len() == 0 || len(held) == 0 || len(findings) == 0 {
		return nil, fmt.Errorf("nothing to train or score: %d training tuples, %d held out, %d findings", train.Len(), len(held), len(findings))
	}

	// The workshop's hyperparameters.
	cfg, err := ipinsights.ParseHyperparameters(map[string]string{
		"num_entity_vectors": "20000", "random_negative_sampling_rate": "5", "vector_dim": "128",
		"mini_batch_size": "1000", "epochs": s.epochs, "learning_rate": "0.01", "seed": strconv.FormatUint(s.seed, 10),
	})
	if err != nil {
		return nil, err
	}
	model, err := ipinsights.Train(ctx, cfg, train, &ipinsights.TrainOptions{Progress: ipinsights.ProgressFunc(func(m ipinsights.Metrics) {
		if m.EpochEnd {
			fmt.Fprintf(out, "  epoch %d: cross-entropy %.4f, accuracy %.4f\n", m.Epoch, m.CrossEntropy, m.Accuracy)
		}
	})})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "trained on %d tuples (%d principals)\n\n", train.Len(), model.SeenEntities())

	res := &result{}
	for _, sc := range model.ScoreBatch(nil, held) {
		res.normal = append(res.normal, sc.DotProduct)
	}
	pairs := make([]ipinsights.Pair, len(findings))
	for i, f := range findings {
		pairs[i] = ipinsights.Pair{Entity: f.Principal, IP: f.Addr}
	}
	scores := model.ScoreBatch(nil, pairs)
	for _, sc := range scores {
		res.findings = append(res.findings, sc.DotProduct)
		if !sc.EntitySeen {
			res.unseenFindings++
		}
	}
	p5 := quantile(res.normal, 0.05)
	for _, d := range res.findings {
		if d < p5 {
			res.belowP5++
		}
	}
	labels := make([]bool, 0, len(res.normal)+len(res.findings))
	all := make([]float64, 0, cap(labels))
	for _, d := range res.normal {
		all, labels = append(all, -d), append(labels, false)
	}
	for _, d := range res.findings {
		all, labels = append(all, -d), append(labels, true)
	}
	res.auc = ipinsights.AUC(all, labels)

	printSideBySide(out, res)
	fmt.Fprintf(out, "\n%-68s %-16s %-16s %9s %s\n", "finding", "principal", "ip", "dot_prod", "pct of normal")
	for i, f := range findings {
		fmt.Fprintf(out, "%-68s %-16s %-16s %9.3f %5.1f%%\n", f.FindingType, short(f.Principal), f.Addr, scores[i].DotProduct, 100*fractionBelow(res.normal, scores[i].DotProduct))
	}
	workshopMismatch(out, model, findings, w)

	png := filepath.Join(s.out, "scores.png")
	if err := histogram(png, res); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\nhistogram: %s\ntraining tuples: %s\n", png, trainCSV.Name())
	fmt.Fprintf(out, "\nThe %d finding tuples score clearly below the %d normal ones: median %.3f against %.3f; %d of %d are below the normal pairs' 5th percentile (%.3f); AUC %.4f (findings as anomalies).\n",
		len(res.findings), len(res.normal), median(res.findings), median(res.normal), res.belowP5, len(res.findings), p5, res.auc)
	if !res.clearlyBelow() {
		fmt.Fprintln(out, "NOT as expected: the findings do not score clearly below normal activity.")
	}
	fmt.Fprintf(out, "total time %s\n", time.Since(began).Round(100*time.Millisecond))
	return res, nil
}

// workshopMismatch shows what the workshop's GuardDuty code did to the
// assumed role's finding: it kept principalId whole (AROA...:session)
// while the training side cut it at the colon, so the principal was one
// the model never saw.
func workshopMismatch(out io.Writer, model *ipinsights.Model, findings []awslogs.Tuple, w *world) {
	if len(w.roles) == 0 {
		return
	}
	ro := w.roles[0]
	for _, f := range findings {
		if f.Principal != ro.id {
			continue
		}
		whole := ro.id + ":" + ro.session
		sc := model.Score(whole, f.Addr)
		fmt.Fprintf(out, "\nThe workshop's GuardDuty code keyed this role's finding as %q, a principal never seen in training (entity_seen=%v):\n"+
			"its dot product %.3f says nothing. Keyed like its CloudTrail tuples (%q) it scores %.3f, with entity_seen=%v.\n",
			whole, sc.EntitySeen, sc.DotProduct, ro.id, model.Score(ro.id, f.Addr).DotProduct, model.EntitySeen(ro.id))
		return
	}
}

func printSideBySide(out io.Writer, r *result) {
	fmt.Fprintf(out, "%-14s %18s %18s\n", "dot_product", "normal (held out)", "GuardDuty findings")
	row := func(name string, f func([]float64) float64) {
		fmt.Fprintf(out, "%-14s %18.3f %18.3f\n", name, f(r.normal), f(r.findings))
	}
	fmt.Fprintf(out, "%-14s %18d %18d\n", "pairs", len(r.normal), len(r.findings))
	row("min", func(v []float64) float64 { return quantile(v, 0) })
	row("5th pct", func(v []float64) float64 { return quantile(v, 0.05) })
	row("median", median)
	row("mean", mean)
	row("95th pct", func(v []float64) float64 { return quantile(v, 0.95) })
	row("max", func(v []float64) float64 { return quantile(v, 1) })
}

func histogram(path string, r *result) error {
	p := plot.New()
	p.Title.Text = "IP Insights scores: CloudTrail activity vs GuardDuty findings"
	p.X.Label.Text = "dot_product (higher = more normal)"
	p.Y.Label.Text = "share of pairs"
	lo, hi := quantile(append(append([]float64{}, r.normal...), r.findings...), 0), quantile(append(append([]float64{}, r.normal...), r.findings...), 1)
	const bins = 40
	width := (hi - lo) / bins
	for i, set := range [][]float64{r.normal, r.findings} {
		// Both histograms on the same bins: pad each with the range ends at
		// zero weight.
		xy := make(plotter.XYs, 0, len(set)+2)
		for _, d := range set {
			xy = append(xy, plotter.XY{X: d, Y: 1 / float64(len(set))})
		}
		xy = append(xy, plotter.XY{X: lo}, plotter.XY{X: hi + width/1e6})
		h, err := plotter.NewHistogram(xy, bins)
		if err != nil {
			return err
		}
		h.FillColor = []color.Color{color.NRGBA{R: 60, G: 120, B: 200, A: 160}, color.NRGBA{R: 220, G: 60, B: 40, A: 200}}[i]
		h.LineStyle.Width = vg.Points(0.5)
		p.Add(h)
		p.Legend.Add([]string{"normal (held-out day)", "GuardDuty findings"}[i], h)
	}
	p.Legend.Top = true
	return p.Save(8*vg.Inch, 4.5*vg.Inch, path)
}

func quantile(v []float64, q float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return math.NaN()
	}
	return s[int(math.Round(q*float64(len(s)-1)))]
}

func median(v []float64) float64 { return quantile(v, 0.5) }

func mean(v []float64) float64 {
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t / float64(len(v))
}

func fractionBelow(v []float64, x float64) float64 {
	n := 0
	for _, y := range v {
		if y < x {
			n++
		}
	}
	return float64(n) / float64(len(v))
}

func short(s string) string {
	if len(s) > 16 {
		return s[:15] + "…"
	}
	return s
}
