package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A second run is refused at once while the first holds the host, told
// who holds it; once the first lets go, the next run takes it.
func TestASecondRunIsRefusedTheHost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e2e.lock")
	unlock, err := lockHost(path, "/src/first")
	require.NoError(t, err)
	_, err = lockHost(path, "/src/second")
	require.Error(t, err, "the host is held")
	assert.Contains(t, err.Error(), fmt.Sprintf("pid %d from /src/first", os.Getpid()), "it names the holder")
	assert.Contains(t, err.Error(), "another end-to-end run holds this host's real nodes")
	require.NoError(t, unlock())
	unlock, err = lockHost(path, "/src/second")
	require.NoError(t, err, "free again")
	require.NoError(t, unlock())
}

// Stop stops what the tests tracked, newest first, then the cluster; a
// second Stop does nothing more and returns the same result; a daemon the
// test stopped itself is not stopped again.
func TestStopStopsTrackedDaemonsOnce(t *testing.T) {
	var stopped []string
	c := &Cluster{stop: func() error { stopped = append(stopped, "cluster"); return errors.New("cluster") }}
	for _, name := range []string{"a", "b", "c"} {
		stop := c.Track(name, func() error { stopped = append(stopped, name); return nil })
		if name == "b" {
			require.NoError(t, stop())
			require.NoError(t, stop(), "a second stop is a no-op")
		}
	}
	err := c.Stop()
	assert.EqualError(t, err, "cluster")
	assert.Equal(t, []string{"b", "c", "a", "cluster"}, stopped)
	assert.Equal(t, err, c.Stop())
	assert.Len(t, stopped, 4, "stopped once")
}
