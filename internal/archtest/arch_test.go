// Package archtest checks the import rules that ARCHITECTURE.md states, so
// that the package picture cannot drift from the document silently.
package archtest

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/ipinsights/ipinsights-go"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// load lists the module's packages with their direct imports and all
// dependencies (non-test code only), as the go command sees them.
func load(t *testing.T) map[string]pkg {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the go command over the whole module; not in -short")
	}
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module+"/")] = p
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; want the whole module", len(pkgs))
	}
	return pkgs
}

func ours(deps []string) []string {
	var out []string
	for _, d := range deps {
		if rest, ok := strings.CutPrefix(d, module+"/"); ok {
			out = append(out, rest)
		}
	}
	return out
}

func hasPrefix(p string, prefixes ...string) bool {
	for _, pre := range prefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// library reports whether p is a package that users or the library run:
// not the CLI, an example, a benchmark harness or a test-only helper.
func library(p string) bool {
	return !hasPrefix(p, "cmd", "examples", "benchmarks", "internal/test", "internal/bench", "internal/archtest")
}

func TestImportRules(t *testing.T) {
	pkgs := load(t)
	// forbidden[p] lists what p (and everything it depends on) must never
	// import, as ARCHITECTURE.md draws it.
	upper := []string{"ipinsights", "inference", "server", "sagemaker", "awslogs", "synth", "sampler", "asn", "tune", "export", "alert"}
	// notDeps[p] lists what p must never depend on, directly or not.
	notDeps := map[string][]string{
		"embedding":    upper,
		"rng":          upper,
		"internal/f32": append([]string{"embedding", "rng"}, upper...),
		"csvio":        append([]string{"embedding", "rng"}, upper...),
		"sampler":      {"ipinsights", "inference", "server", "sagemaker", "awslogs", "synth", "csvio", "asn", "alert"},
		"ipinsights":   {"inference", "server", "sagemaker", "awslogs", "synth", "asn", "tune", "export", "alert"},
		"inference":    {"server", "sagemaker", "awslogs", "synth"},
		"server":       {"sagemaker", "awslogs", "synth"},
		"awslogs":      {"server", "sagemaker", "synth", "inference"},
		"synth":        {"server", "sagemaker", "inference", "ipinsights", "sampler", "asn", "alert"},
		"sagemaker":    {"server", "awslogs", "synth"},
		// asn reads address databases; it needs nothing of ours but
		// internal helpers, and nothing below the CLI needs it.
		"tune":   {"inference", "server", "sagemaker", "awslogs", "synth", "export"},
		"export": {"inference", "server", "sagemaker", "awslogs", "synth", "tune"},
		// sigv4 checks who signed a request: it needs nothing of ours.
		"sigv4": append([]string{"embedding", "rng", "csvio", "internal"}, upper...),
		"asn":   {"embedding", "rng", "csvio", "sampler", "ipinsights", "inference", "server", "sagemaker", "awslogs", "synth", "alert"},
		// alert encodes the core's scores and explanations for security
		// tools; it reads no input format and takes an AS lookup as an
		// interface (an *asn.DB is one), so that a server can write its
		// fields without the CLI's packages.
		"alert": {"inference", "server", "sagemaker", "awslogs", "synth", "asn"},
	}
	// notImports[p] lists what p must not import itself: scoring and the
	// wire formats need the encoded pair (embedding), not the sampler.
	notImports := map[string][]string{
		"inference": {"sampler"},
		"server":    {"sampler"},
		"sagemaker": {"sampler"},
	}
	check := func(rules map[string][]string, list func(pkg) []string, what string) {
		for p, bad := range rules {
			info, ok := pkgs[p]
			if !ok {
				t.Errorf("package %s is gone: update ARCHITECTURE.md and this test", p)
				continue
			}
			for _, d := range ours(list(info)) {
				if hasPrefix(d, bad...) {
					t.Errorf("%s %s %s, which ARCHITECTURE.md forbids", p, what, d)
				}
			}
		}
	}
	check(notDeps, func(p pkg) []string { return p.Deps }, "depends on")
	check(notImports, func(p pkg) []string { return p.Imports }, "imports")
	for p, info := range pkgs {
		for _, d := range ours(info.Deps) {
			if library(p) && hasPrefix(d, "cmd", "internal/test", "internal/bench", "examples", "benchmarks") {
				t.Errorf("library package %s depends on %s (CLI, test-only or benchmark code)", p, d)
			}
		}
		for _, d := range ours(info.Imports) {
			if hasPrefix(p, "examples") && hasPrefix(d, "internal") {
				t.Errorf("example %s imports %s: examples import public packages only, so users can copy them", p, d)
			}
		}
	}
}
