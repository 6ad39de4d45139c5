package standin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadJournal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    []Entry
		good    int64
		wantErr string
	}{
		{name: "empty", in: ""},
		{name: "entries numbered from one", in: "1\ta\n2\tb c\n", want: []Entry{{1, "a"}, {2, "b c"}}, good: 10},
		{name: "a torn last line is not an entry", in: "1\ta\n2\tb", want: []Entry{{1, "a"}}, good: 4},
		{name: "a gap in the numbers is an error", in: "1\ta\n3\tc\n", wantErr: `journal line 2 is "3\tc\n": want 2<TAB>text`},
		{name: "an unnumbered line is an error", in: "hello\n", wantErr: "journal line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, good, err := ReadJournal(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, entries)
			assert.Equal(t, tc.good, good)
		})
	}
}

// A crash mid-write leaves a torn line; the next start cuts it and goes on
// numbering after the last whole entry.
func TestOpenJournalCutsATornTailAndContinues(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalFile)
	require.NoError(t, os.WriteFile(path, []byte("1\tstart\n2\tpartial"), 0o640))
	j, err := OpenJournal(path)
	require.NoError(t, err)
	e, err := j.Append("next\twith a tab\nand a newline")
	require.NoError(t, err)
	assert.Equal(t, Entry{2, "next with a tab and a newline"}, e)
	require.NoError(t, j.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "1\tstart\n2\tnext with a tab and a newline\n", string(b))
}

// A second process on the same appData is refused, and says so in
// refused.log; once the first lets go, a new one starts.
func TestOpenRefusesASecondWriter(t *testing.T) {
	cfg := Config{AppData: t.TempDir(), Version: "test"}
	first, err := Open(cfg, os.Stderr)
	require.NoError(t, err)
	_, err = Open(cfg, os.Stderr)
	require.ErrorIs(t, err, ErrLockHeld)
	refused, err := os.ReadFile(filepath.Join(cfg.AppData, RefusedFile))
	require.NoError(t, err)
	assert.Contains(t, string(refused), "refused: second writer on "+cfg.AppData)

	require.NoError(t, first.lock.Close())
	require.NoError(t, first.journal.Close())
	again, err := Open(cfg, os.Stderr)
	require.NoError(t, err, "the lock goes with the process that held it")
	require.NoError(t, again.lock.Close())
}

func TestConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := ConfigFromEnv(env(nil))
	require.NoError(t, err)
	assert.Equal(t, hub.AppData, c.AppData)
	assert.Equal(t, time.Second, c.StartDelay)
	assert.Equal(t, 5*time.Second, c.ShutdownDelay)

	c, err = ConfigFromEnv(env(map[string]string{"HUBKIT_STANDIN_START_DELAY": "250ms", "HUBKIT_STANDIN_APPDATA": "/data"}))
	require.NoError(t, err)
	assert.Equal(t, 250*time.Millisecond, c.StartDelay)
	assert.Equal(t, "/data", c.AppData)
	assert.Equal(t, ":45245", c.HTTPAddr)

	c, err = ConfigFromEnv(env(map[string]string{"HUBKIT_STANDIN_HTTP_ADDR": "127.0.0.1:1", "HUBKIT_STANDIN_EXTRA_ADDRS": "127.0.0.1:2,127.0.0.1:3"}))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:1", c.HTTPAddr)
	assert.Equal(t, []string{"127.0.0.1:2", "127.0.0.1:3"}, c.ExtraAddrs)

	_, err = ConfigFromEnv(env(map[string]string{"HUBKIT_STANDIN_SHUTDOWN_DELAY": "soon"}))
	assert.ErrorContains(t, err, `HUBKIT_STANDIN_SHUTDOWN_DELAY="soon": want a duration such as 2s`)
}
