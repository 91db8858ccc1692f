package ipinsights_test

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ipinsights/ipinsights-go/internal/test/testmodel"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// TestSaveFileSurvivesSIGKILL is a soak test (IPINSIGHTS_SOAK=1; rounds:
// IPINSIGHTS_SOAK_ROUNDS, default 30): a child process saves two models in
// turn to one path with SaveFile, as fast as it can, and is killed with
// SIGKILL at a random moment; the file must then be one of the two models,
// whole, every time. Most kills land while a model is being written (a
// temporary file is left behind), which the test counts.
func TestSaveFileSurvivesSIGKILL(t *testing.T) {
	if os.Getenv("IPINSIGHTS_SOAK") == "" {
		t.Skip("soak test: set IPINSIGHTS_SOAK=1")
	}
	rounds := 30
	if v := os.Getenv("IPINSIGHTS_SOAK_ROUNDS"); v != "" {
		var err error
		if rounds, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	// vector_dim 128: the dense IPv4 table alone is 32 MB, so a save
	// takes long enough for kills to land inside it.
	var files [2][]byte
	for i := range files {
		m, err := testmodel.Train(uint64(i+1), 128, 3000)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, strconv.Itoa(i)+".bin")
		if err := m.SaveFile(p); err != nil {
			t.Fatal(err)
		}
		if files[i], err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("model files of %d bytes", len(files[0]))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "model.bin")
	midWrite := 0
	for round := range rounds {
		if err := os.WriteFile(path, files[round%2], 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(exe, "-test.run=^TestSaveFileLoop$")
		cmd.Env = append(os.Environ(), "IPINSIGHTS_SAVE_LOOP="+path, "IPINSIGHTS_SAVE_MODELS="+filepath.Join(dir, "0.bin")+string(os.PathListSeparator)+filepath.Join(dir, "1.bin"))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until it saves, then kill it at a random moment.
		if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
			t.Fatalf("round %d: the child did not start saving: %v", round, err)
		}
		time.Sleep(time.Duration(rand.IntN(500)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()

		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, files[0]) && !bytes.Equal(got, files[1]) {
			t.Fatalf("round %d: after SIGKILL the file (%d bytes) is neither model", round, len(got))
		}
		if _, err := ipinsights.LoadFile(path); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		tmps, _ := filepath.Glob(path + ".*.tmp")
		if len(tmps) > 0 {
			midWrite++
		}
		for _, tmp := range tmps {
			os.Remove(tmp)
		}
	}
	t.Logf("%d kills, %d of them while a model was being written (a temporary file was left); the file was a whole model every time", rounds, midWrite)
}

// TestSaveFileLoop is not a test: it is the child process of
// TestSaveFileSurvivesSIGKILL, which saves the models of
// IPINSIGHTS_SAVE_MODELS in turn to IPINSIGHTS_SAVE_LOOP until killed.
func TestSaveFileLoop(t *testing.T) {
	path := os.Getenv("IPINSIGHTS_SAVE_LOOP")
	if path == "" {
		t.Skip("child process of TestSaveFileSurvivesSIGKILL")
	}
	var models []*ipinsights.Model
	for _, p := range filepath.SplitList(os.Getenv("IPINSIGHTS_SAVE_MODELS")) {
		m, err := ipinsights.LoadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		models = append(models, m)
	}
	os.Stdout.WriteString("saving\n")
	for i := 0; ; i++ {
		if err := models[i%len(models)].SaveFile(path); err != nil {
			t.Fatal(err)
		}
	}
}
