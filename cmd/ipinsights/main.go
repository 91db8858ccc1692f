// Command ipinsights trains, scores, evaluates and serves IP Insights models.
//
// Usage:
//
//	ipinsights <command> [flags]
//
// Run "ipinsights help" for the list of commands and "ipinsights <command>
// --help" for the flags and an example of each.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit codes.
const (
	exitOK    = 0
	exitData  = 1 // bad data, missing files, failed work
	exitUsage = 2 // bad flags or arguments
)

// command is one subcommand. Each lives in its own cmd_<name>.go file and
// registers itself from init.
type command struct {
	name    string
	summary string // one line for "ipinsights help"
	usage   string // synopsis after "ipinsights <name>"
	example string // one or more example invocations
	// run executes the command. Flag errors should be returned as
	// usageError; everything else is a data error (exit 1).
	run func(ctx context.Context, env *env, args []string) error
}

// env is what a command may touch of the outside world, so that tests can
// run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// stderrIsTerminal enables progress bars.
	stderrIsTerminal bool
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("duplicate command " + c.name)
	}
	commands[c.name] = c
}

// usageError marks an error as a usage error (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

// newFlagSet returns a FlagSet for c whose Usage, the answer to --help,
// shows the synopsis, the flags and the example on standard output, and
// whose errors are usage errors.
func newFlagSet(c *command, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(e.stdout)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: ipinsights %s %s\n\n%s\n\nflags:\n", c.name, c.usage, c.summary)
		fs.PrintDefaults()
		if c.example != "" {
			fmt.Fprintf(w, "\nexample:\n%s\n", indent(c.example))
		}
	}
	return fs
}

// parseFlags parses args; -h/--help prints usage and returns errHelp. A
// bad flag is a usage error, which runMain reports on one line of
// standard error, as it does every other usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	// The flag package would print its error and the usage on the
	// FlagSet's output, standard output; keep it quiet while parsing.
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(out)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return errHelp
		}
		return &usageError{msg: err.Error()}
	}
	return nil
}

var errHelp = errors.New("help requested")

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, stderrIsTerminal: isTerminal(os.Stderr)}
	os.Exit(runMain(ctx, e, os.Args[1:]))
}

// runMain runs the command line args and returns the exit code.
func runMain(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		printHelp(e.stderr)
		return exitUsage
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		// Asked-for help goes to standard output.
		if len(args) > 1 {
			c, ok := commands[args[1]]
			if !ok {
				fmt.Fprintf(e.stderr, "ipinsights help: unknown command %q (run \"ipinsights help\")\n", args[1])
				return exitUsage
			}
			return runMain(ctx, e, []string{c.name, "--help"})
		}
		printHelp(e.stdout)
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "ipinsights: unknown command %q (run \"ipinsights help\")\n", args[0])
		return exitUsage
	}
	err := c.run(ctx, e, args[1:])
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "ipinsights %s: %s (run \"ipinsights %s --help\")\n", c.name, ue.msg, c.name)
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "ipinsights %s: %s\n", c.name, oneLine(err.Error()))
		return exitData
	}
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "ipinsights: train, score, evaluate and serve IP Insights models (SageMaker-compatible)")
	fmt.Fprintln(w, "\nusage: ipinsights <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun \"ipinsights <command> --help\" for its flags and an example.")
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
