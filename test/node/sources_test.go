package node

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogReaderReadsWholeKlogLinesSinceTheLastRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubelet.log")
	require.NoError(t, os.WriteFile(path, []byte("I1201 15:00:00.000001    1 old.go:1] \"before the reader\"\n"), 0o644))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	r := &LogReader{path: path, offset: fi.Size(), year: 2026}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteString("I1201 15:59:00.123456   42 kubelet.go:2737] \"SyncLoop (PLEG): event for pod\" pod=\"ns/p\"\n" +
		"goroutine 1 [running]:\n" +
		"E1201 15:59:01.000002   42 prober.go:122] \"Probe failed\" probeType=\"Readiness\"\n" +
		"I1201 15:59:02.0000")
	require.NoError(t, err)
	lines, err := r.Read()
	require.NoError(t, err)
	require.Len(t, lines, 2, "the line being written and the one without a header are left out")
	assert.Equal(t, time.Date(2026, 12, 1, 15, 59, 0, 123456000, time.Local), lines[0].At)
	assert.Equal(t, `"SyncLoop (PLEG): event for pod" pod="ns/p"`, lines[0].Text)
	assert.Equal(t, `"Probe failed" probeType="Readiness"`, lines[1].Text)

	_, err = f.WriteString("00 1 x.go:1] \"the rest\"\n")
	require.NoError(t, err)
	lines, err = r.Read()
	require.NoError(t, err)
	require.Len(t, lines, 1, "the next read has the line once it is whole")
	assert.Equal(t, time.Date(2026, 12, 1, 15, 59, 2, 0, time.Local), lines[0].At)
}

func TestContainerLogLineIsContainerdsStamp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	require.NoError(t, os.WriteFile(path, []byte(
		"2026-12-01T15:59:00.100000000Z stderr F standin: opening\n"+
			"2026-12-01T15:59:01.123456789Z stderr F started: version 4.3.3, serving\n"), 0o644))
	at, ok, err := ContainerLogLine(path, "started: version")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, time.Date(2026, 12, 1, 15, 59, 1, 123456789, time.UTC), at.UTC())
	_, ok, err = ContainerLogLine(path, "stopping")
	require.NoError(t, err)
	assert.False(t, ok)
}
