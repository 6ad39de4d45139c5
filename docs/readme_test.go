// Package docs_test keeps the repository's front door true: the README's
// layout table names every top-level directory, and every target `make help`
// lists is mentioned in the README.
package docs_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/overlays"
	"github.com/hubkit/hubkit/test/testenv"
)

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "README.md"))
	require.NoError(t, err)
	return string(b)
}

// A newcomer meets the top-level directories first: each has a row in the
// README's layout table.
func TestLayoutTableNamesEveryTopLevelDirectory(t *testing.T) {
	root := testenv.RepoRoot(t)
	section := readme(t)
	start := strings.Index(section, "\n## Layout\n")
	require.GreaterOrEqual(t, start, 0, "the README has a Layout section")
	section = section[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var firstCells []string
	for _, line := range strings.Split(section, "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 2 {
			firstCells = append(firstCells, cells[1])
		}
	}
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".") || name == "bin" || name == "build" {
			continue // hidden, and make's output (ignored by git)
		}
		found := false
		for _, c := range firstCells {
			if strings.Contains(c, "`"+name+"/") || strings.Contains(c, "`"+name+"`") {
				found = true
			}
		}
		assert.True(t, found, "README's layout table has no row for %s/", name)
	}
}

// Every target of `make help` is in the README as `make <target>`.
func TestReadmeMentionsEveryMakeTarget(t *testing.T) {
	cmd := exec.Command("make", "--no-print-directory", "help")
	cmd.Dir = testenv.RepoRoot(t)
	out, err := cmd.Output()
	require.NoError(t, err)
	text := readme(t)
	targets := regexp.MustCompile(`(?m)^\s+([a-zA-Z0-9_-]+)\s`).FindAllStringSubmatch(string(out), -1)
	require.GreaterOrEqual(t, len(targets), 10, "make help lists the targets: %s", out)
	for _, m := range targets {
		assert.Regexp(t, regexp.MustCompile("`make "+regexp.QuoteMeta(m[1])+"[` ]"), text, "README does not mention make %s", m[1])
	}
}

// The README's overlay table says what overlays/overlays.yaml says: each
// overlay's namespace, storage and node port.
func TestReadmeOverlayTableMatchesTheOverlayTable(t *testing.T) {
	table, err := overlays.Load(testenv.RepoRoot(t))
	require.NoError(t, err)
	rows := map[string][]string{}
	for _, line := range strings.Split(readme(t), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) > 4 && strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			name := strings.Trim(strings.TrimSpace(cells[1]), "`")
			if _, seen := rows[name]; !seen { // the first table naming it: the overlays'
				rows[name] = cells
			}
		}
	}
	for _, o := range table {
		cells, ok := rows[o.Name]
		if !assert.True(t, ok, "README's overlay table has no row for %s", o.Name) {
			continue
		}
		assert.Equal(t, "`"+o.Namespace+"`", strings.TrimSpace(cells[2]), "%s's namespace", o.Name)
		assert.Equal(t, o.Storage, strings.TrimSpace(cells[3]), "%s's storage", o.Name)
		if o.NodePort != 0 {
			assert.Contains(t, cells[4], fmt.Sprint(o.NodePort), "%s's node port", o.Name)
		}
	}
}
