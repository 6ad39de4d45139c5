package scenario

import (
	"strings"

	"github.com/hubkit/hubkit/test/standin"
)

// Journal is the stand-in's journal as it is on the claim: what survived.
type Journal []standin.Entry

// At is the entry numbered seq, or the zero Entry when the journal is
// shorter: comparing it with an acknowledged entry says whether that entry
// survived.
func (j Journal) At(seq int) standin.Entry {
	if seq < 1 || seq > len(j) {
		return standin.Entry{}
	}
	return j[seq-1]
}

// Last is the n-th entry from the end (1: the last), or the zero Entry.
func (j Journal) Last(n int) standin.Entry { return j.At(len(j) - n + 1) }

// FirstAfter is the number of the first entry after seq whose text starts
// with prefix ("start ", "stop "), or 0 when none does.
func (j Journal) FirstAfter(seq int, prefix string) int {
	for _, e := range j {
		if e.Seq > seq && strings.HasPrefix(e.Text, prefix) {
			return e.Seq
		}
	}
	return 0
}
