package main

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// asnTable writes an ip2asn TSV that puts the lower half of IPv4 in
// AS64500 and the upper half in AS64501, whose name holds a comma (so that
// the CSV must quote it), and returns its path and the AS of an address.
func asnTable(t *testing.T) (string, func(netip.Addr) (string, string)) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ip2asn-v4.tsv")
	tsv := "0.0.0.0\t127.255.255.255\t64500\tUS\tExample Org\n128.0.0.0\t255.255.255.255\t64501\tZZ\tOther, Inc.\n"
	require.NoError(t, os.WriteFile(path, []byte(tsv), 0o644))
	return path, func(a netip.Addr) (string, string) {
		if a.As4()[0] < 128 {
			return "64500", "Example Org"
		}
		return "64501", "Other, Inc."
	}
}

// score --explain writes the library's explanation of every row, column by
// column; with --asn-db the AS of the address and of each usual network.
func TestScoreExplainCSV(t *testing.T) {
	dir := fixture(t)
	model := filepath.Join(dir, "model.bin")
	in := filepath.Join(dir, "test_labeled.csv")
	m, err := ipinsights.LoadFile(model)
	require.NoError(t, err)
	require.True(t, m.HasNetworkHistory(), "train writes the history by default")
	db, asOf := asnTable(t)

	code, stdout, stderr := runCLI(t, "", "score", "--model", model, "--input", in, "--explain", "--asn-db", db)
	require.Equal(t, exitOK, code, stderr)
	rows := readCSVString(t, stdout)
	assert.Equal(t, []string{"entity", "ip", "dot_product", "entity_seen", "percentile", "entity_pairs", "network_seen",
		"usual_networks", "nearest_usual_network", "asn", "as_org", "col3", "col4"}, rows[0])
	seen := 0
	for _, r := range rows[1:] {
		addr := netip.MustParseAddr(r[1])
		e := m.Explain(r[0], addr)
		p, err := m.Percentile(r[0], addr)
		require.NoError(t, err)
		assert.Equal(t, strconv.FormatFloat(e.DotProduct, 'g', -1, 32), r[2])
		assert.Equal(t, strconv.FormatFloat(p.Value, 'g', -1, 32), r[4], "%v", r)
		assert.Equal(t, strconv.Itoa(e.EntityPairs), r[5])
		assert.Equal(t, strconv.FormatBool(e.NetworkSeen), r[6])
		var usual []string
		for _, n := range e.UsualNetworks {
			asn, org := asOf(n.Prefix.Addr())
			usual = append(usual, n.Prefix.String()+" "+strconv.Itoa(n.Count)+" (AS"+asn+" "+org+")")
		}
		assert.Equal(t, strings.Join(usual, "; "), r[7], "%v", r)
		if e.NearestUsualNetwork.IsValid() {
			assert.Equal(t, e.NearestUsualNetwork.String(), r[8])
		} else {
			assert.Empty(t, r[8])
		}
		asn, org := asOf(addr)
		assert.Equal(t, []string{asn, org}, r[9:11])
		if e.NetworkSeen {
			seen++
		}
	}
	assert.Greater(t, seen, 0, "some rows come from usual networks")
	assert.Less(t, seen, len(rows)-1, "and some not")

	// --percentile alone: the percentile column and nothing more;
	// --asn-db alone: the address's AS.
	code, stdout, stderr = runCLI(t, "", "score", "--model", model, "--input", in, "--percentile", "--asn-db", db)
	require.Equal(t, exitOK, code, stderr)
	prows := readCSVString(t, stdout)
	assert.Equal(t, []string{"entity", "ip", "dot_product", "entity_seen", "percentile", "asn", "as_org", "col3", "col4"}, prows[0])
	for i, r := range prows[1:] {
		assert.Equal(t, rows[i+1][:5], r[:5])
		assert.Equal(t, rows[i+1][9:], r[5:])
	}
}

// --alerts-only explains only the rows that alert, and writes them as the
// full output has them.
func TestScoreExplainAlertsOnly(t *testing.T) {
	dir := fixture(t)
	model := filepath.Join(dir, "model.bin")
	in := filepath.Join(dir, "test_labeled.csv")
	args := []string{"score", "--model", model, "--input", in, "--explain", "--alert-fpr", "0.05"}
	code, all, stderr := runCLI(t, "", args...)
	require.Equal(t, exitOK, code, stderr)
	code, only, stderr := runCLI(t, "", append(args, "--alerts-only")...)
	require.Equal(t, exitOK, code, stderr)
	rows := readCSVString(t, all)
	require.Equal(t, "alert", rows[0][5])
	want := rows[:1]
	for _, r := range rows[1:] {
		if r[5] == "true" {
			want = append(want, r)
		}
	}
	assert.Greater(t, len(want), 10)
	assert.Equal(t, want, readCSVString(t, only))
}

// jsonl writes the same fields as the CSV, one object a line, with the
// extra columns under "input".
func TestScoreJSONL(t *testing.T) {
	dir := fixture(t)
	model := filepath.Join(dir, "model.bin")
	in := filepath.Join(dir, "test_labeled.csv")
	db, _ := asnTable(t)
	args := []string{"score", "--model", model, "--input", in, "--explain", "--alert-fpr", "0.05", "--asn-db", db}
	code, csvOut, stderr := runCLI(t, "", args...)
	require.Equal(t, exitOK, code, stderr)
	code, jsonOut, stderr := runCLI(t, "", append(args, "--format", "jsonl")...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "rows alert (false-positive rate 0.05")
	rows := readCSVString(t, csvOut)
	lines := strings.Split(strings.TrimSuffix(jsonOut, "\n"), "\n")
	require.Len(t, lines, len(rows)-1)
	for i, line := range lines {
		r := rows[i+1]
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var o map[string]any
		require.NoError(t, dec.Decode(&o), line)
		assert.Equal(t, r[0], o["entity"])
		assert.Equal(t, r[1], o["ip"])
		assert.Equal(t, r[2], o["dot_product"].(json.Number).String(), "the same float32 digits")
		assert.Equal(t, r[3], strconv.FormatBool(o["entity_seen"].(bool)))
		assert.Equal(t, r[4], o["percentile"].(json.Number).String())
		assert.Equal(t, r[5], strconv.FormatBool(o["alert"].(bool)))
		assert.Equal(t, r[6], o["entity_pairs"].(json.Number).String())
		assert.Equal(t, r[7], strconv.FormatBool(o["network_seen"].(bool)))
		var usual []string
		for _, x := range o["usual_networks"].([]any) {
			n := x.(map[string]any)
			usual = append(usual, n["network"].(string)+" "+n["pairs"].(json.Number).String()+" (AS"+n["asn"].(json.Number).String()+" "+n["as_org"].(string)+")")
		}
		assert.Equal(t, r[8], strings.Join(usual, "; "))
		if r[9] == "" {
			assert.Nil(t, o["nearest_usual_network"])
		} else {
			assert.Equal(t, r[9], o["nearest_usual_network"])
		}
		assert.Equal(t, r[10], o["asn"].(json.Number).String())
		assert.Equal(t, r[11], o["as_org"])
		assert.Equal(t, map[string]any{"col3": r[12], "col4": r[13]}, o["input"])
	}
}

// asff writes a finding for each alerting row, in BatchImportFindings
// bodies of at most 100, with Ids that the same input gives again.
func TestScoreASFF(t *testing.T) {
	dir := fixture(t)
	model := filepath.Join(dir, "model.bin")
	in := filepath.Join(dir, "test_labeled.csv")
	tmp := t.TempDir()
	out := filepath.Join(tmp, "findings.jsonl")
	t.Setenv("AWS_ACCOUNT_ID", "")
	t.Setenv("AWS_REGION", "eu-west-1")
	args := []string{"score", "--model", model, "--input", in, "--output", out, "--format", "asff", "--alert-fpr", "0.05", "--account-id", "111122223333"}
	code, stdout, stderr := runCLI(t, "", args...)
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "findings for Security Hub in "+out+"; send them with: while read -r b; do aws securityhub batch-import-findings --cli-input-json \"$b\"; done < "+out)

	m, err := ipinsights.LoadFile(model)
	require.NoError(t, err)
	rule, err := m.AlertRule(0.05, ipinsights.AlertDefault)
	require.NoError(t, err)
	alerting := map[string]bool{} // entity,ip of alerting rows
	for _, r := range readCSV(t, in) {
		addr := netip.MustParseAddr(r[1])
		if rule.AlertTuple(embedding.NewTuple(r[0], addr), m.Score(r[0], addr).DotProduct) {
			alerting[r[0]+","+addr.String()] = true
		}
	}
	ids := readFindings(t, out, func(f finding) {
		assert.Equal(t, "2018-10-08", f.SchemaVersion)
		assert.Equal(t, "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default", f.ProductArn)
		assert.Equal(t, "111122223333", f.AwsAccountId)
		assert.Equal(t, []string{"Unusual Behaviors/User"}, f.Types)
		assert.Contains(t, []string{"INFORMATIONAL", "LOW", "MEDIUM", "HIGH"}, f.Severity.Label)
		require.Len(t, f.Resources, 1)
		assert.True(t, alerting[f.Resources[0].Id+","+f.Network.SourceIpV4], "%s %s alerts", f.Resources[0].Id, f.Network.SourceIpV4)
		assert.Equal(t, "IN", f.Network.Direction)
		for _, k := range []string{"ipinsights/percentile", "ipinsights/entity_pairs", "ipinsights/usual_networks", "ipinsights/input/col4"} {
			assert.NotEmpty(t, f.ProductFields[k], k)
		}
		assert.Contains(t, f.Description, "It alerts at a false-positive rate of 5% (pairs outside the entity's usual networks first, then by dot product: ")
		assert.Equal(t, "network", f.ProductFields["ipinsights/alert_basis"], "the default basis, with a network history")
	})
	assert.Greater(t, len(ids), 0)
	assert.LessOrEqual(t, len(ids), len(alerting))
	assert.Contains(t, stderr, strconv.Itoa(len(ids))+" findings")

	// The same input, the same Ids.
	again := filepath.Join(tmp, "again.jsonl")
	code, _, stderr = runCLI(t, "", append(args[:len(args):len(args)], "--output", again)...)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, ids, readFindings(t, again, func(finding) {}))
}

// finding is the part of an ASFF finding the tests read.
type finding struct {
	SchemaVersion, Id, ProductArn, AwsAccountId, Description string
	Types                                                    []string
	Severity                                                 struct{ Label string }
	Resources                                                []struct{ Type, Id string }
	Network                                                  struct{ Direction, SourceIpV4 string }
	ProductFields                                            map[string]string
}

// readFindings reads the BatchImportFindings bodies of path, checks each
// finding with check, and returns their Ids in order, checking that each
// is new and that a batch holds at most 100.
func readFindings(t *testing.T, path string, check func(finding)) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 8<<20)
	var ids []string
	seen := map[string]bool{}
	for sc.Scan() {
		var body struct{ Findings []finding }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &body))
		assert.LessOrEqual(t, len(body.Findings), 100)
		assert.NotEmpty(t, body.Findings)
		for _, fd := range body.Findings {
			assert.False(t, seen[fd.Id], "Id %s twice", fd.Id)
			seen[fd.Id] = true
			ids = append(ids, fd.Id)
			check(fd)
		}
	}
	require.NoError(t, sc.Err())
	return ids
}

var (
	historylessOnce sync.Once
	historylessPath string
)

// historyless returns the path of a model of the fixture's data trained
// with --no-network-history.
func historyless(t *testing.T) string {
	t.Helper()
	dir := fixture(t)
	historylessOnce.Do(func() {
		historylessPath = filepath.Join(dir, "historyless.bin")
		args := append([]string{"train", "--train", filepath.Join(dir, "train.csv"), "--model", historylessPath, "--quiet", "--no-network-history"}, smallHP...)
		if code, _, stderr := runCLI(t, "", args...); code != 0 {
			panic(stderr)
		}
	})
	return historylessPath
}

// Bad input: one line naming the cause, exit 2 for usage and 1 for data,
// nothing written.
func TestScoreExplainAndFormatErrors(t *testing.T) {
	dir := fixture(t)
	model := filepath.Join(dir, "model.bin")
	in := filepath.Join(dir, "test_labeled.csv")
	tmp := t.TempDir()
	out := filepath.Join(tmp, "never.out")
	notASN := filepath.Join(tmp, "model-copy.mmdb")
	require.NoError(t, os.WriteFile(notASN, []byte("\x89PNG\r\n\x1a\n\x00\x00binary"), 0o644))
	t.Setenv("AWS_ACCOUNT_ID", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	asff := []string{"--format", "asff", "--alert-fpr", "0.01"}
	for _, c := range []struct {
		model string
		args  []string
		code  int
		msg   string
	}{
		{model, []string{"--format", "xml"}, exitUsage, `--format "xml": want csv, jsonl or asff`},
		{model, []string{"--format", "asff"}, exitUsage, "--format asff writes a finding for each row that alerts: give --alert-fpr RATE"},
		{model, asff, exitUsage, "--format asff needs --account-id (the 12-digit AWS account of the findings; default $AWS_ACCOUNT_ID)"},
		{model, append(asff, "--account-id", "1234"), exitUsage, `--account-id "1234": want the 12-digit AWS account ID`},
		{model, append(asff, "--account-id", "111122223333"), exitUsage, "--format asff needs --region (the AWS Region of Security Hub; default $AWS_REGION or $AWS_DEFAULT_REGION)"},
		{model, append(asff, "--account-id", "111122223333", "--region", "Mars 1"), exitUsage, `--region "Mars 1": want an AWS Region such as us-east-1`},
		{model, []string{"--region", "us-east-1"}, exitUsage, "--account-id and --region go with --format asff"},
		{model, []string{"--explain", "--asn-db", filepath.Join(tmp, "missing.mmdb")}, exitData, "--asn-db: open " + filepath.Join(tmp, "missing.mmdb") + ": no such file or directory"},
		{model, []string{"--explain", "--asn-db", notASN}, exitData, "--asn-db: " + notASN + ": not an ASN database: binary data without MaxMind DB metadata"},
		{model, []string{"--asn-db", in}, exitData, "--asn-db: " + in + ":1: "},
		{uncalibrated(t), []string{"--explain"}, exitData, uncalibrated(t) + " has no calibration (saved before calibration existed, or trained with --no-calibration): add one with ipinsights calibrate"},
		{uncalibrated(t), []string{"--percentile", "--format", "jsonl"}, exitData, uncalibrated(t) + " has no calibration"},
		{historyless(t), []string{"--explain"}, exitData, historyless(t) + " has no network history (trained with --no-network-history, or saved before histories existed): retrain it without --no-network-history"},
		{historyless(t), append(asff, "--account-id", "111122223333", "--region", "us-east-1"), exitData, historyless(t) + " has no network history"},
	} {
		args := append([]string{"score", "--model", c.model, "--input", in, "--output", out}, c.args...)
		code, stdout, stderr := runCLI(t, "", args...)
		assert.Equal(t, c.code, code, "%v: %s", args, stderr)
		assertOneLine(t, stderr, c.msg, args)
		assert.Empty(t, stdout)
		_, err := os.Stat(out)
		assert.ErrorIs(t, err, os.ErrNotExist, "%v wrote its output", args)
	}

	// The environment gives the account and the Region.
	t.Setenv("AWS_ACCOUNT_ID", "111122223333")
	t.Setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
	code, _, stderr := runCLI(t, "", append([]string{"score", "--model", model, "--input", in, "--output", out}, asff...)...)
	require.Equal(t, exitOK, code, stderr)
	readFindings(t, out, func(f finding) {
		assert.Equal(t, "arn:aws:securityhub:ap-southeast-2:111122223333:product/111122223333/default", f.ProductArn)
	})
}
