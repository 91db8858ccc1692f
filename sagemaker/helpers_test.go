package sagemaker_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipinsights/ipinsights-go/internal/test/awstest"
	"github.com/ipinsights/ipinsights-go/internal/test/smemu"
	"github.com/ipinsights/ipinsights-go/sagemaker"
)

// tinyHP is a quick configuration: the test trains in well under a second.
// Its small IP tables are our own hyperparameters, which are not sent to
// SageMaker: the emulator applies them as smallTables.
var tinyHP = map[string]string{
	"num_entity_vectors": "200", "vector_dim": "8", "epochs": "4",
	"mini_batch_size": "300", "learning_rate": "0.02", "random_negative_sampling_rate": "3",
	"ipv4_hash_rows": "4096", "ipv6_hash_rows": "1024",
}

// smallTables are the emulator extras matching tinyHP.
var smallTables = map[string]string{"ipv4_hash_rows": "4096", "ipv6_hash_rows": "1024"}

// logins writes generated login data to dir: train.csv (entity,ip) and
// test.csv (entity,ip,label) whose odd rows are anomalies (a random
// address) and even rows normal (an address in one of the user's two /24
// home networks).
func logins(t *testing.T, dir string, users, perUser int) (train, test string, labels []bool) {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 11))
	homes := make([][2]uint32, users)
	for u := range homes {
		homes[u] = [2]uint32{r.Uint32N(1<<24) << 8, r.Uint32N(1<<24) << 8}
	}
	ip := func(v uint32) string { return fmt.Sprintf("%d.%d.%d.%d", v>>24, v>>16&255, v>>8&255, v&255) }
	normal := func(u int) string { return ip(homes[u][r.IntN(2)] | r.Uint32N(256)) }
	var tr, te strings.Builder
	for i := 0; i < users*perUser; i++ {
		u := r.IntN(users)
		fmt.Fprintf(&tr, "user-%03d, %s\n", u, normal(u))
	}
	for i := 0; i < 2*users; i++ {
		u := r.IntN(users)
		if i%2 == 1 {
			fmt.Fprintf(&te, "user-%03d,%s,1\n", u, ip(r.Uint32()))
			labels = append(labels, true)
		} else {
			fmt.Fprintf(&te, "user-%03d,%s,0\n", u, normal(u))
			labels = append(labels, false)
		}
	}
	train, test = filepath.Join(dir, "train.csv"), filepath.Join(dir, "test.csv")
	writeFile(t, train, tr.String())
	writeFile(t, test, te.String())
	return train, test, labels
}

func writeFile(t *testing.T, name, s string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// events collects progress events; safe for concurrent use.
type events struct {
	mu  sync.Mutex
	all []sagemaker.Event
	on  func(sagemaker.Event)
}

func (e *events) Report(ev sagemaker.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	on := e.on
	e.mu.Unlock()
	if on != nil {
		on(ev)
	}
}

func (e *events) of(kind sagemaker.EventKind) []sagemaker.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []sagemaker.Event
	for _, ev := range e.all {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// newClient starts the fake AWS and returns a delegate client on it.
func newClient(t *testing.T, emu smemu.Options, edit func(*sagemaker.Options)) (*awstest.Env, *sagemaker.Client, *events) {
	t.Helper()
	if emu.Extras == nil {
		emu.Extras = smallTables
	}
	env := awstest.Start(t, emu)
	ev := &events{}
	opts := sagemaker.Options{
		Region: awstest.Region, RoleARN: awstest.Role, Bucket: awstest.Bucket,
		PollInterval: 2 * time.Millisecond, StopTimeout: 20 * time.Second, Progress: ev,
	}
	if edit != nil {
		edit(&opts)
	}
	c, err := sagemaker.New(env.SageMaker, env.S3, opts)
	if err != nil {
		t.Fatal(err)
	}
	return env, c, ev
}

// blockUntilStopped is an emulator hook that holds a job in progress until
// it is stopped, and tells started when it begins.
func blockUntilStopped(started chan<- string) func(ctx context.Context, job string) error {
	return func(ctx context.Context, job string) error {
		started <- job
		<-ctx.Done()
		return ctx.Err()
	}
}

// cancelWhenRunning returns a context that is cancelled once the job runs
// on the emulator (started) and the client has reported creating it, so
// that the cancellation finds the client waiting for the job, not still
// in the create call: the emulator may start the job before the create
// call's answer reaches the client.
func cancelWhenRunning(t *testing.T, ev *events, started <-chan string, job string) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	created := make(chan struct{})
	var once sync.Once
	ev.mu.Lock()
	ev.on = func(e sagemaker.Event) {
		if e.Kind == sagemaker.EventCreate && e.Resource == job {
			once.Do(func() { close(created) })
		}
	}
	ev.mu.Unlock()
	go func() {
		<-started
		<-created
		cancel()
	}()
	return ctx
}
