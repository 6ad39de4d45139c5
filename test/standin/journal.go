package standin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// The journal's formats. Format 1 is the one the Hub version the overlays
// run writes: "seq<TAB>text" lines. Format 2 is a later version's (the
// image test/images.StandinNext): a header line, then an entry per line as
// JSON. A version reads its own format and older ones and, as an upgrade
// that migrates appData does, rewrites an older journal in its own format
// when it starts; it refuses to start on a newer one (NewerJournalError).
// That is the upgrade drill's premise: after an upgrade, setting the old
// tag back is not enough; appData must be rolled back too.
const (
	JournalFormat     = 1
	JournalFormatNext = 2
)

// journalHeader starts a journal in a format after the first, followed by
// the format's number.
const journalHeader = "# journal format "

// NewerJournalError says the journal is in a format later than this
// version reads.
type NewerJournalError struct {
	Path         string
	Found, Reads int
}

func (e *NewerJournalError) Error() string {
	return fmt.Sprintf("%s is in journal format %d, which a later version wrote; this version reads formats up to %d: "+
		"run the version that wrote it, or restore appData from a snapshot taken before the upgrade", e.Path, e.Found, e.Reads)
}

// Entry is one journal line: its sequence number and text.
type Entry struct {
	Seq  int    `json:"seq"`
	Text string `json:"text"`
}

// Journal is an append-only file of numbered entries, each fsynced before
// Append returns.
type Journal struct {
	mu      sync.Mutex
	f       *os.File
	format  int
	entries []Entry
}

// OpenJournal reads the journal at path (creating it in format) and checks
// that its entries are numbered 1, 2, 3... A torn last line (a crash
// mid-write, before the fsync that would have acknowledged it) is cut off.
// A journal in an older format is first rewritten in format; one in a
// newer format is refused with a *NewerJournalError.
func OpenJournal(path string, format int) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open the journal: %w", err)
	}
	entries, found, good, err := ReadJournal(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case found > format:
		f.Close()
		return nil, &NewerJournalError{Path: path, Found: found, Reads: format}
	case found < format && (found > 0 || format > JournalFormat):
		f.Close()
		if err := rewriteJournal(path, format, entries); err != nil {
			return nil, err
		}
		return OpenJournal(path, format)
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, fmt.Errorf("cut the journal's torn tail: %w", err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &Journal{f: f, format: format, entries: entries}, nil
}

// rewriteJournal replaces the journal at path with entries in format,
// atomically: a new file, fsynced, renamed over the old one, and the
// directory fsynced.
func rewriteJournal(path string, format int, entries []Entry) error {
	var b bytes.Buffer
	if format > JournalFormat {
		fmt.Fprintf(&b, "%s%d\n", journalHeader, format)
	}
	for _, e := range entries {
		line, err := entryLine(format, e)
		if err != nil {
			return err
		}
		b.Write(line)
	}
	tmp := path + ".rewrite"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("rewrite the journal in format %d: %w", format, err)
	}
	_, werr := f.Write(b.Bytes())
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("rewrite the journal in format %d: %w", format, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rewrite the journal in format %d: %w", format, err)
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

// ReadJournal parses a journal in any format. It returns the entries, the
// journal's format (0 for an empty one) and the length of its well-formed
// prefix.
func ReadJournal(r io.Reader) (entries []Entry, format int, good int64, err error) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if errors.Is(err, io.EOF) {
			return entries, format, good, nil // an unterminated line is a torn write
		}
		if err != nil {
			return nil, 0, 0, err
		}
		if good == 0 {
			format = JournalFormat
			if v, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), journalHeader); ok {
				if format, err = strconv.Atoi(v); err != nil || format != JournalFormatNext {
					return nil, 0, 0, fmt.Errorf("journal header %q: no such format (want %d)", line, JournalFormatNext)
				}
				good += int64(len(line))
				continue
			}
		}
		e, ok := parseEntry(format, strings.TrimSuffix(line, "\n"))
		if !ok || e.Seq != len(entries)+1 {
			return nil, 0, 0, fmt.Errorf("journal line %d is %q: want entry %d in format %d", len(entries)+1, line, len(entries)+1, format)
		}
		entries = append(entries, e)
		good += int64(len(line))
	}
}

// parseEntry reads one line of a journal in format.
func parseEntry(format int, line string) (Entry, bool) {
	if format == JournalFormatNext {
		var e Entry
		err := json.Unmarshal([]byte(line), &e)
		return e, err == nil
	}
	seq, text, ok := strings.Cut(line, "\t")
	n, err := strconv.Atoi(seq)
	return Entry{Seq: n, Text: text}, ok && err == nil
}

// entryLine is e as a line of a journal in format.
func entryLine(format int, e Entry) ([]byte, error) {
	if format == JournalFormatNext {
		b, err := json.Marshal(e)
		return append(b, '\n'), err
	}
	return fmt.Appendf(nil, "%d\t%s\n", e.Seq, e.Text), nil
}

// Append writes an entry and fsyncs it.
func (j *Journal) Append(text string) (Entry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	text = strings.NewReplacer("\n", " ", "\t", " ").Replace(text)
	e := Entry{Seq: len(j.entries) + 1, Text: text}
	line, err := entryLine(j.format, e)
	if err != nil {
		return Entry{}, err
	}
	if _, err := j.f.Write(line); err != nil {
		return Entry{}, fmt.Errorf("append to the journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return Entry{}, fmt.Errorf("fsync the journal: %w", err)
	}
	j.entries = append(j.entries, e)
	return e, nil
}

// Entries returns a copy of the entries.
func (j *Journal) Entries() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Entry(nil), j.entries...)
}

// Len is the number of entries.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.entries)
}

// Format is the format the journal is written in.
func (j *Journal) Format() int { return j.format }

// Close closes the journal's file.
func (j *Journal) Close() error { return j.f.Close() }
