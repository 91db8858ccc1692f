// Package synth generates synthetic data for quality benchmarks and demos
// that need no download: the web logins of the SageMaker IP Insights
// tutorial (amazon-sagemaker-examples, ipinsights_login), and the
// CloudTrail logs and GuardDuty findings of a made-up AWS account, in
// AWS's formats.
//
// # Web logins
//
// The tutorial draws addresses from a real IPv4-to-ASN table (about 827,000
// ranges); we cannot ship that table, so ASNTable synthesises one: about
// 800,000 contiguous ranges covering 1.0.0.0 to 223.255.255.255 with
// heavy-tailed (Pareto) sizes, in address order, so that neighbouring ASN
// indices are neighbouring networks as in the real table.
//
// Users follow the tutorial's generative model exactly: a home ASN uniform at
// random, a work ASN uniform within +-50,000 indices of home (mod the table
// size) and different from it; int(50*(Lomax(1)+1)) events capped at 10,000;
// p_travel ~ Beta(1, 30) and p_home ~ Beta(3, 5). For each event, with
// probability p_travel a uniformly random ASN (travel); otherwise home (with
// probability p_home) or work, jittered to int(Normal(idx, 10)) mod N; the
// address is uniform within the ASN's range and the timestamp uniform over
// 10 days. The first 7 days are the training set (shuffled); the attack test
// set takes 100,000 events of the last 3 days from users seen in training
// (label 0) and 100,000 pairs of a uniformly chosen training user with an
// address from a uniformly random ASN (label 1).
//
// Travel events come from a uniformly random ASN exactly as attacks do, so no
// detector can tell them apart; Logins.Ceiling gives the best attack-test AUC
// any detector can reach on the data, 1 - t/2 for a travel share t of the
// normal test rows.
//
// # An AWS account
//
// NewAccount makes an account of IAM users, who work from home, from two
// offices in working hours and now and then from elsewhere, and of roles,
// each used by one session that calls from its own networks. LogFiles
// draws its CloudTrail log files hour by hour (API calls, console
// sign-ins, calls made through services and by services, CloudTrail
// Insights events), and Findings its GuardDuty findings of the last day:
// users' and a role's credentials used from attackers' addresses, and an
// SSH brute force on an instance. WriteCloudTrail and WriteFindings write
// them in the layouts AWS delivers to S3 (gzip-compressed log files under
// AWSLogs/<account>/CloudTrail/..., JSON lines of EventBridge events),
// which package awslogs reads. Identity, Event, LogFile and Finding are the
// formats, for writing other scenarios.
//
// Everything is deterministic for a seed, whatever the number of goroutines.
package synth
