package standin

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
	assert.Equal(t, fmt.Sprintf(":%d", hub.HTTPPort), c.HTTPAddr)

	c, err = ConfigFromEnv(env(map[string]string{"HUBKIT_STANDIN_HTTP_ADDR": "127.0.0.1:1", "HUBKIT_STANDIN_EXTRA_ADDRS": "127.0.0.1:2,127.0.0.1:3"}))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:1", c.HTTPAddr)
	assert.Equal(t, []string{"127.0.0.1:2", "127.0.0.1:3"}, c.ExtraAddrs)

	_, err = ConfigFromEnv(env(map[string]string{"HUBKIT_STANDIN_SHUTDOWN_DELAY": "soon"}))
	assert.ErrorContains(t, err, `HUBKIT_STANDIN_SHUTDOWN_DELAY="soon": want a duration such as 2s`)

	assert.Equal(t, JournalFormat, func() int { c, _ := ConfigFromEnv(env(nil)); return c.JournalFormat }(), "the Hub version's format by default")
	c, err = ConfigFromEnv(env(map[string]string{"HUBKIT_STANDIN_JOURNAL_FORMAT": "2"}))
	require.NoError(t, err)
	assert.Equal(t, JournalFormatNext, c.JournalFormat, "a later version's image sets its format")
	_, err = ConfigFromEnv(env(map[string]string{"HUBKIT_STANDIN_JOURNAL_FORMAT": "3"}))
	assert.ErrorContains(t, err, `HUBKIT_STANDIN_JOURNAL_FORMAT="3": want 1 or 2`)
}
