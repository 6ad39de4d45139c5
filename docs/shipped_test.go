package docs_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/image"
	"github.com/hubkit/hubkit/test/testenv"
)

const module = "github.com/hubkit/hubkit"

// layoutShips reads the README's layout table: each path it names, and
// whether that path ships (its "ships" column, yes or no).
func layoutShips(t *testing.T) map[string]bool {
	t.Helper()
	ships := map[string]bool{}
	path := regexp.MustCompile("`([a-z][a-z0-9./-]*)`")
	for _, line := range strings.Split(sectionOf(t, readme(t), "Layout"), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.Contains(cells[1], "`") {
			continue
		}
		marker := strings.TrimSpace(cells[2])
		require.Contains(t, []string{"yes", "no"}, marker, "README's layout row %s says yes or no under ships", strings.TrimSpace(cells[1]))
		for _, m := range path.FindAllStringSubmatch(cells[1], -1) {
			ships[strings.TrimSuffix(m[1], "/")] = marker == "yes"
		}
	}
	require.NotEmpty(t, ships, "README's layout table has rows")
	return ships
}

// shipsAt is whether the package at dir (relative to the repository) ships,
// by the layout row of its longest path; ok is false when no row covers it.
func shipsAt(ships map[string]bool, dir string) (shipped, ok bool) {
	best := -1
	for p, s := range ships {
		if (dir == p || strings.HasPrefix(dir, p+"/")) && len(p) > best {
			best, shipped = len(p), s
		}
	}
	return shipped, best >= 0
}

// What never ships (the test harness, the benchmark, the tools, docs/) never
// reaches a user through a shipped binary: the images hubkit ships
// (internal/image's Shipped, the one list; `make build` builds the
// function's binary from the same package) compile in only packages under
// paths the README's layout table marks as shipping, and it marks test/,
// bench/ and tools/ as not.
func TestNoShippedBinaryCompilesInWhatNeverShips(t *testing.T) {
	ships := layoutShips(t)
	for _, never := range []string{"test", "bench", "tools", "docs"} {
		shipped, ok := ships[never]
		assert.True(t, ok && !shipped, "README's layout table says %s/ never ships", never)
	}
	root := testenv.RepoRoot(t)
	specs := image.Shipped()
	require.NotEmpty(t, specs)
	for _, spec := range specs {
		if spec.Package == "" {
			continue // files alone, no binary of ours
		}
		main := filepath.ToSlash(filepath.Clean(spec.Package))
		shipped, ok := shipsAt(ships, main)
		assert.True(t, ok && shipped, "image %s's binary is built from %s, which README's layout table does not say ships", spec.Name, main)

		cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", spec.Package)
		cmd.Dir = root
		out, err := cmd.Output()
		require.NoError(t, err, "go list -deps %s", spec.Package)
		var ours []string
		for _, pkg := range strings.Fields(string(out)) {
			if pkg == module || strings.HasPrefix(pkg, module+"/") {
				ours = append(ours, strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/"))
			}
		}
		sort.Strings(ours)
		require.Contains(t, ours, main, "go list -deps %s lists the package itself", spec.Package)
		for _, dir := range ours {
			shipped, ok := shipsAt(ships, dir)
			if assert.True(t, ok, "image %s compiles in %s, which README's layout table does not cover", spec.Name, dir) {
				assert.True(t, shipped, "image %s compiles in %s, which never ships (README's layout table)", spec.Name, dir)
			}
		}
		t.Logf("image %s compiles in %s", spec.Name, strings.Join(ours, ", "))
	}
}
