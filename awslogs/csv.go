package awslogs

import (
	"bufio"
	"io"

	"github.com/ipinsights/ipinsights-go/csvio"
)

// CSVWriter writes tuples as CSV rows in the training and scoring format
// that csvio reads: "principal,ip" for CloudTrail tuples, and
// "principal,ip,finding_id,finding_type,severity" for GuardDuty tuples.
// Fields that hold a comma, a quote, a line break or surrounding spaces
// are quoted (RFC 4180). Call Flush when done.
type CSVWriter struct {
	w        *bufio.Writer
	findings bool
	header   bool
}

// NewCSVWriter returns a writer of "principal,ip" rows, without a header:
// the training format.
func NewCSVWriter(w io.Writer) *CSVWriter {
	return &CSVWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

// NewFindingCSVWriter returns a writer of
// "principal,ip,finding_id,finding_type,severity" rows, preceded by that
// header line when header is true.
func NewFindingCSVWriter(w io.Writer, header bool) *CSVWriter {
	return &CSVWriter{w: bufio.NewWriterSize(w, 64<<10), findings: true, header: header}
}

// FindingHeader is the header line of NewFindingCSVWriter.
const FindingHeader = "principal,ip,finding_id,finding_type,severity"

func (c *CSVWriter) writeHeader() error {
	if !c.header {
		return nil
	}
	c.header = false
	_, err := c.w.WriteString(FindingHeader + "\n")
	return err
}

// WriteTuple writes t as one row.
func (c *CSVWriter) WriteTuple(t *Tuple) error {
	if err := c.writeHeader(); err != nil {
		return err
	}
	// The row is built in the writer's free space, so that Write has
	// nothing to copy unless the row does not fit.
	b := csvio.AppendField(c.w.AvailableBuffer(), t.Principal)
	b = append(b, ',')
	b = t.Addr.AppendTo(b)
	if c.findings {
		for _, f := range [...]string{t.FindingID, t.FindingType, t.Severity} {
			b = append(b, ',')
			b = csvio.AppendField(b, f)
		}
	}
	b = append(b, '\n')
	_, err := c.w.Write(b)
	return err
}

// Flush writes the header if no row was written, and any buffered data.
func (c *CSVWriter) Flush() error {
	if err := c.writeHeader(); err != nil {
		return err
	}
	return c.w.Flush()
}
