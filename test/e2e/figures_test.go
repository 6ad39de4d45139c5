package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Figures: what a scenario measured, written to build/e2e/ for make bench.

// writeFigure writes a measured figure to build/e2e/<name>.txt for make bench.
func writeFigure(t *testing.T, name, line string) {
	t.Helper()
	dir := filepath.Join(e2e.root, "build", "e2e")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".txt"), []byte(line+"\n"), 0o644))
}

// samples is how many times a measured scenario repeats what it measures:
// full, the figures' count, under -figures (make bench-recovery); in make
// test a few, enough to hold the behaviour each repeat asserts.
func samples(full int) int {
	if e2e.figures {
		return full
	}
	return min(full, fewSamples)
}

// fewSamples is samples' count without -figures.
const fewSamples = 3

// report logs min, median and p95, and writes them to build/e2e/ for make bench.
func report(t *testing.T, name string, took []time.Duration) {
	t.Helper()
	sorted := slices.Clone(took)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	p := func(q float64) time.Duration { return sorted[int(q*float64(len(sorted)-1)+0.5)] }
	line := fmt.Sprintf("%s over %d crashes: min %s, median %s, p95 %s, max %s",
		name, len(sorted), sorted[0].Round(time.Millisecond), p(0.5).Round(time.Millisecond), p(0.95).Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond))
	t.Log(line)
	writeFigure(t, name, line)
}
