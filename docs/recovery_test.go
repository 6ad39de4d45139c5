package docs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/test/testenv"
)

// The crash timeline is written once by TestRealNode
// (build/e2e/real-crash-timeline-table.txt) and shown twice: in the
// benchmarks with the other figures, and in recovery.md beside what sets
// each step. The two copies are the same table.
func TestRecoveryTimelineIsTheBenchmarksOne(t *testing.T) {
	table := func(file string) string {
		b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docs", file))
		require.NoError(t, err)
		var rows []string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "| step | first crash, median |") || (len(rows) > 0 && strings.HasPrefix(line, "|")) {
				rows = append(rows, line)
			} else if len(rows) > 0 {
				break
			}
		}
		require.NotEmpty(t, rows, "docs/%s has the crash timeline's table", file)
		return strings.Join(rows, "\n")
	}
	assert.Equal(t, table("benchmarks.md"), table("recovery.md"), "docs/recovery.md's crash timeline is docs/benchmarks.md's")
}
