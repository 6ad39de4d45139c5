package standin

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadJournal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    []Entry
		format  int
		good    int64
		wantErr string
	}{
		{name: "empty", in: ""},
		{name: "entries numbered from one", in: "1\ta\n2\tb c\n", want: []Entry{{1, "a"}, {2, "b c"}}, format: 1, good: 10},
		{name: "a torn last line is not an entry", in: "1\ta\n2\tb", want: []Entry{{1, "a"}}, format: 1, good: 4},
		{name: "a gap in the numbers is an error", in: "1\ta\n3\tc\n", wantErr: `journal line 2 is "3\tc\n": want entry 2 in format 1`},
		{name: "an unnumbered line is an error", in: "hello\n", wantErr: "journal line 1"},
		{name: "format 2: a header, then JSON", in: "# journal format 2\n{\"seq\":1,\"text\":\"a\"}\n", want: []Entry{{1, "a"}}, format: 2, good: 40},
		{name: "format 2: a torn last line is not an entry", in: "# journal format 2\n{\"seq\":1,\"text\":\"a\"}\n{\"seq\":2,", want: []Entry{{1, "a"}}, format: 2, good: 40},
		{name: "format 2: a format-1 line is an error", in: "# journal format 2\n1\ta\n", wantErr: "want entry 1 in format 2"},
		{name: "an unknown format is an error", in: "# journal format 9\n", wantErr: "no such format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, format, good, err := ReadJournal(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, entries)
			assert.Equal(t, tc.format, format)
			assert.Equal(t, tc.good, good)
		})
	}
}

// A crash mid-write leaves a torn line; the next start cuts it and goes on
// numbering after the last whole entry.
func TestOpenJournalCutsATornTailAndContinues(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalFile)
	require.NoError(t, os.WriteFile(path, []byte("1\tstart\n2\tpartial"), 0o640))
	j, err := OpenJournal(path, JournalFormat)
	require.NoError(t, err)
	e, err := j.Append("next\twith a tab\nand a newline")
	require.NoError(t, err)
	assert.Equal(t, Entry{2, "next with a tab and a newline"}, e)
	require.NoError(t, j.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "1\tstart\n2\tnext with a tab and a newline\n", string(b))
}

// An upgrade: the later version rewrites the journal in its format, every
// entry kept, and writes on in it; the earlier version then refuses to
// start on it and leaves it as it is, saying what to do.
func TestJournalUpgradeRewritesAndTheOldVersionRefusesTheNewFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalFile)
	old := "1\tbefore the upgrade\n2\tpartial"
	require.NoError(t, os.WriteFile(path, []byte(old), 0o640))

	next, err := OpenJournal(path, JournalFormatNext)
	require.NoError(t, err)
	assert.Equal(t, []Entry{{1, "before the upgrade"}}, next.Entries(), "every whole entry kept, the torn one cut")
	_, err = next.Append("after the upgrade")
	require.NoError(t, err)
	require.NoError(t, next.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "# journal format 2\n{\"seq\":1,\"text\":\"before the upgrade\"}\n{\"seq\":2,\"text\":\"after the upgrade\"}\n", string(b))
	_, err = os.Stat(path + ".rewrite")
	assert.True(t, os.IsNotExist(err), "no rewrite left behind")

	_, err = OpenJournal(path, JournalFormat)
	var newer *NewerJournalError
	require.True(t, errors.As(err, &newer), "refused: %v", err)
	assert.Equal(t, NewerJournalError{Path: path, Found: 2, Reads: 1}, *newer)
	assert.ErrorContains(t, err, "restore appData from a snapshot taken before the upgrade")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(b), string(after), "the refused journal is left as it was")
}

// A new journal is written in the version's format from its first entry.
func TestOpenJournalStartsANewJournalInItsFormat(t *testing.T) {
	for _, format := range []int{JournalFormat, JournalFormatNext} {
		path := filepath.Join(t.TempDir(), JournalFile)
		j, err := OpenJournal(path, format)
		require.NoError(t, err)
		_, err = j.Append("first")
		require.NoError(t, err)
		require.NoError(t, j.Close())
		f, err := os.Open(path)
		require.NoError(t, err)
		entries, got, _, err := ReadJournal(f)
		f.Close()
		require.NoError(t, err)
		assert.Equal(t, format, got)
		assert.Equal(t, []Entry{{1, "first"}}, entries)
	}
}
