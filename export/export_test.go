package export_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/export"
	"github.com/ipinsights/ipinsights-go/internal/bench/cputime"
	"github.com/ipinsights/ipinsights-go/internal/test/testmodel"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

func model(t testing.TB) *ipinsights.Model {
	t.Helper()
	m, err := testmodel.Train(3, 8, 2000)
	require.NoError(t, err)
	return m
}

func TestEntitiesCSVAndSeen(t *testing.T) {
	m := model(t)
	names := []string{testmodel.Entity(1), "new, \"odd\" name", testmodel.Entity(2)}
	tab := export.Entities(m, names)
	assert.Equal(t, 3, tab.Rows())
	assert.Equal(t, 8, tab.Dim)
	assert.Equal(t, []bool{true, false, true}, tab.Seen)
	assert.Equal(t, []string{names[1]}, tab.Unseen())
	var ue *export.UnseenError
	require.ErrorAs(t, tab.CheckSeen(), &ue)
	assert.Equal(t, []string{names[1]}, ue.Names)
	assert.Equal(t, `export: 1 of 3 entities did not occur in training ("new, \"odd\" name"): their vectors would be those of hash buckets trained for other entities or not at all`, ue.Error())

	var buf bytes.Buffer
	require.NoError(t, tab.WriteCSV(&buf))
	// The CSV reads back, names and all, with csvio (which needs an
	// address in column 2, so read it generically) and encoding/csv rules.
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, 4)
	assert.Equal(t, "entity,entity_seen,v0,v1,v2,v3,v4,v5,v6,v7", lines[0])
	assert.True(t, strings.HasPrefix(lines[2], `"new, ""odd"" name",false,`), lines[2])
	for i, l := range []string{lines[1], lines[3]} {
		f := strings.Split(l, ",")
		require.Len(t, f, 10)
		assert.Equal(t, names[2*i], f[0])
		assert.Equal(t, "true", f[1])
		want := m.EntityEmbedding(names[2*i])
		for j, s := range f[2:] {
			v, err := strconv.ParseFloat(s, 32)
			require.NoError(t, err)
			assert.Equal(t, want[j], float32(v), "row %d component %d: the shortest digits read back exactly", 2*i+1, j)
		}
	}
}

func TestAddressesCSVAndNPYFiles(t *testing.T) {
	m := model(t)
	addrs, err := export.ReadAddresses(strings.NewReader("\ufeff10.1.2.3\r\n 2001:db8::1 \n::ffff:192.0.2.7\n"), "addrs.txt")
	require.NoError(t, err)
	tab := export.Addresses(m, addrs)
	assert.Equal(t, []string{"10.1.2.3", "2001:db8::1", "192.0.2.7"}, tab.Names, "IPv4-mapped addresses are unmapped, as in training files")
	assert.Nil(t, tab.Seen)
	assert.NoError(t, tab.CheckSeen())

	dir := t.TempDir()
	paths, err := tab.WriteFile(filepath.Join(dir, "ips.NPY"))
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dir, "ips.NPY"), filepath.Join(dir, "ips.NPY.names.txt")}, paths)
	names, err := os.ReadFile(paths[1])
	require.NoError(t, err)
	assert.Equal(t, "10.1.2.3\n2001:db8::1\n192.0.2.7\n", string(names))
	npy, err := os.ReadFile(paths[0])
	require.NoError(t, err)
	var want bytes.Buffer
	require.NoError(t, export.WriteNPY(&want, m.IPVectors(addrs), 3, 8))
	assert.Equal(t, want.Bytes(), npy)

	paths, err = tab.WriteFile(filepath.Join(dir, "ips.csv"))
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dir, "ips.csv")}, paths)
	b, err := os.ReadFile(paths[0])
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(b), "ip,v0,v1,v2,v3,v4,v5,v6,v7\n10.1.2.3,"), string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 3, "no temporary files are left")
}

func TestWriteFileErrors(t *testing.T) {
	m := model(t)
	dir := t.TempDir()
	_, err := export.Entities(m, []string{"a"}).WriteFile(filepath.Join(dir, "x.parquet"))
	assert.ErrorIs(t, err, export.ErrFormat)
	_, err = export.Entities(m, []string{"a\nb"}).WriteFile(filepath.Join(dir, "x.npy"))
	assert.ErrorIs(t, err, export.ErrLineBreak)
	_, err = export.Entities(m, []string{"a"}).WriteFile(filepath.Join(dir, "missing", "x.csv"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries, "nothing is written when a write fails")
}

func TestReadListErrors(t *testing.T) {
	_, err := export.ReadNames(strings.NewReader("alice\n\nbob\n"), "names.txt")
	var le *export.LineError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 2, le.Line)
	assert.Equal(t, "names.txt:2: empty line: want one entity name a line", err.Error())

	_, err = export.ReadAddresses(strings.NewReader("10.0.0.1\n10.0.0\n"), "ips.txt")
	assert.EqualError(t, err, `ips.txt:2: unparsable IP address "10.0.0"`)

	_, err = export.ReadNames(strings.NewReader(""), "empty.txt")
	assert.EqualError(t, err, "empty.txt: no entity names")
	_, err = export.ReadAddresses(strings.NewReader("\n"), "blank.txt")
	assert.EqualError(t, err, "blank.txt:1: empty line: want one IP address a line")

	names, err := export.ReadNames(strings.NewReader(" alice \r\nbob"), "n")
	require.NoError(t, err)
	assert.Equal(t, []string{"alice", "bob"}, names, "as csvio reads an unquoted entity: surrounding spaces dropped")
	assert.Equal(t, "alice", trimmedEntity(t, " alice , 10.0.0.1\n"))
}

// trimmedEntity returns the entity csvio reads from one training row.
func trimmedEntity(t *testing.T, row string) string {
	t.Helper()
	r := csvio.NewReader(strings.NewReader(row), csvio.Options{})
	require.True(t, r.Next(), "%v", r.Err())
	return string(r.Entity())
}

func TestFormatOf(t *testing.T) {
	for path, want := range map[string]export.Format{"a.npy": export.NPY, "dir/B.Csv": export.CSV} {
		f, err := export.FormatOf(path)
		require.NoError(t, err)
		assert.Equal(t, want, f)
	}
	_, err := export.FormatOf("a.npz")
	assert.True(t, errors.Is(err, export.ErrFormat))
	assert.Equal(t, "npy", export.NPY.String())
}

// BenchmarkEntities20000 measures the export of 20,000 entity vectors of
// the tutorial's vector_dim (128): to .npy and CSV in memory (the
// library's work), and to files. It reports CPU time per export too
// (cpu-ns/op), which a machine shared with other work inflates less than
// the wall clock.
func BenchmarkEntities20000(b *testing.B) {
	cfg := testmodel.Config(1, 128)
	cfg.NumEntityVectors = 40000
	cfg.Epochs = 1
	data := ipinsights.NewDataset()
	for i, p := range testmodel.Pairs(1, 20000, 40000) {
		data.Add(testmodel.Entity(i/2), p.IP) // every entity seen
	}
	m, err := ipinsights.Train(context.Background(), cfg, data, nil)
	require.NoError(b, err)
	names := make([]string, 20000)
	for i := range names {
		names[i] = testmodel.Entity(i)
	}
	dir := b.TempDir()
	export1 := func(b *testing.B, write func(*export.Table) error) {
		cpu0 := cputime.Process()
		for b.Loop() {
			tab := export.Entities(m, names)
			if err := tab.CheckSeen(); err != nil {
				b.Fatal(err)
			}
			if err := write(tab); err != nil {
				b.Fatal(err)
			}
		}
		if cpu := cputime.Process() - cpu0; cpu > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
	b.Run("npy-memory", func(b *testing.B) {
		export1(b, func(t *export.Table) error { return t.WriteNPY(io.Discard) })
	})
	b.Run("csv-memory", func(b *testing.B) {
		export1(b, func(t *export.Table) error { return t.WriteCSV(io.Discard) })
	})
	for _, format := range []string{"npy", "csv"} {
		b.Run(format+"-file", func(b *testing.B) {
			path := filepath.Join(dir, "entities."+format)
			export1(b, func(t *export.Table) error {
				_, err := t.WriteFile(path)
				return err
			})
		})
	}
}

func ExampleTable_WriteFile() {
	// A model of 40 users, each with a home network of its own.
	data := ipinsights.NewDataset()
	for i := range 4000 {
		data.Add(fmt.Sprintf("user%d", i%40), netip.AddrFrom4([4]byte{10, byte(i % 40), byte(i), byte(i >> 8)}))
	}
	cfg, err := ipinsights.ParseHyperparameters(map[string]string{
		"num_entity_vectors": "1000", "vector_dim": "16", "epochs": "2", "mini_batch_size": "300",
		"random_negative_sampling_rate": "5", "learning_rate": "0.01", "ipv4_hash_rows": "4096", "ipv6_hash_rows": "1024",
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := ipinsights.Train(context.Background(), cfg, data, nil)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "export")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	tab := export.Entities(m, []string{"user1", "user2", "nobody"})
	if err := tab.CheckSeen(); err != nil {
		fmt.Println(err) // or drop tab.Unseen() and go on
	}
	paths, err := tab.WriteFile(filepath.Join(dir, "entities.npy"))
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(filepath.Base(p), st.Size(), "bytes")
	}
	ips := export.Addresses(m, []netip.Addr{netip.MustParseAddr("10.1.2.3")})
	fmt.Println(ips.Rows(), "address of", ips.Dim, "dimensions")
	// Output:
	// export: 1 of 3 entities did not occur in training ("nobody"): their vectors would be those of hash buckets trained for other entities or not at all
	// entities.npy 320 bytes
	// entities.npy.names.txt 19 bytes
	// 1 address of 16 dimensions
}
