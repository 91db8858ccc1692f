package ipinsights

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
)

// A model file may carry optional sections after the seen-entity list:
// calibration, network history, optimizer state. Each has a name and a
// byte length in the header (fileHeader.Sections), and its payload follows
// the seen-entity list in header order, covered by the file's final
// checksum. A file with no section is version 1, byte for byte as before
// sections existed; a file with any is version 2. A reader skips a section
// it does not know (older builds keep scoring with a newer file's tables),
// and refuses a known section whose payload is malformed.

// sectionInfo names one optional section of a model file.
type sectionInfo struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
}

// sectionCodec reads and writes one kind of optional section.
type sectionCodec struct {
	name string
	// size returns the payload size for m, 0 when m has no such section.
	size func(m *Model) int64
	// write writes exactly size(m) bytes.
	write func(m *Model, w io.Writer) error
	// read reads the payload from r, which returns io.EOF after exactly
	// n bytes, into m. A malformed payload is an error wrapping ErrCorrupt.
	read func(m *Model, r *bufio.Reader, n int64) error
}

// sectionCodecs is the registry of known sections, in the order they are
// written. Files that add a feature register its codec in an init func.
var sectionCodecs []sectionCodec

var sectionName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// registerSection adds a codec; names must be unique and well formed.
func registerSection(c sectionCodec) {
	if !sectionName.MatchString(c.name) {
		panic("ipinsights: bad section name " + c.name)
	}
	for _, o := range sectionCodecs {
		if o.name == c.name {
			panic("ipinsights: section registered twice: " + c.name)
		}
	}
	sectionCodecs = append(sectionCodecs, c)
}

// maxSections bounds the sections a header may list.
const maxSections = 64

// sectionsOf returns the sections m has, in registry order.
func (m *Model) sectionsOf() []sectionInfo {
	var out []sectionInfo
	for _, c := range sectionCodecs {
		if n := c.size(m); n > 0 {
			out = append(out, sectionInfo{Name: c.name, Bytes: n})
		}
	}
	return out
}

// writeSections writes the payloads of secs (from sectionsOf) in order.
func (m *Model) writeSections(w io.Writer, secs []sectionInfo) error {
	for _, s := range secs {
		c := codecOf(s.Name)
		cw := &countWriter{w: w}
		if err := c.write(m, cw); err != nil {
			return fmt.Errorf("writing section %s: %w", s.Name, err)
		}
		if cw.n != s.Bytes {
			panic(fmt.Sprintf("ipinsights: section %s wrote %d bytes, announced %d", s.Name, cw.n, s.Bytes))
		}
	}
	return nil
}

func codecOf(name string) *sectionCodec {
	for i := range sectionCodecs {
		if sectionCodecs[i].name == name {
			return &sectionCodecs[i]
		}
	}
	return nil
}

// checkSections validates the header's section list.
func checkSections(secs []sectionInfo) error {
	if len(secs) > maxSections {
		return fmt.Errorf("%w: %d sections listed, at most %d", ErrCorrupt, len(secs), maxSections)
	}
	seen := map[string]bool{}
	for _, s := range secs {
		if !sectionName.MatchString(s.Name) || s.Bytes <= 0 || s.Bytes > 1<<50 || seen[s.Name] {
			return fmt.Errorf("%w: bad section entry %q (%d bytes)", ErrCorrupt, s.Name, s.Bytes)
		}
		seen[s.Name] = true
	}
	return nil
}

// readSections reads the payloads the header lists from r into m.
func (m *Model) readSections(r io.Reader, secs []sectionInfo) error {
	for _, s := range secs {
		lr := &io.LimitedReader{R: r, N: s.Bytes}
		if c := codecOf(s.Name); c != nil {
			br := bufio.NewReader(lr)
			if err := c.read(m, br, s.Bytes); err != nil {
				return fmt.Errorf("section %s: %w", s.Name, err)
			}
			if n, _ := io.Copy(io.Discard, br); n > 0 {
				return fmt.Errorf("%w: section %s has %d bytes its reader did not use", ErrCorrupt, s.Name, n)
			}
		} else if _, err := io.Copy(io.Discard, lr); err != nil {
			return readErr(err, ErrCorrupt, "section "+s.Name)
		}
		if lr.N != 0 {
			return fmt.Errorf("%w: section %s cut short", ErrCorrupt, s.Name)
		}
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
