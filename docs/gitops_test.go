package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/test/testenv"
)

// docs/gitops.md numbers the GitOps scenarios as the end-to-end stories
// name their steps: under each story's heading (which names its test),
// one numbered item for each numbered step of that test, and no other.
func TestGitOpsScenariosAreTheTestsSteps(t *testing.T) {
	root := testenv.RepoRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "gitops.md"))
	require.NoError(t, err)
	heading := regexp.MustCompile("^\\*\\*.*\\*\\* \\(`(Test\\w+)`")
	item := regexp.MustCompile(`^(\d+)\. `)
	documented := map[string][]string{}
	story := ""
	for _, line := range strings.Split(string(doc), "\n") {
		if m := heading.FindStringSubmatch(line); m != nil {
			story = m[1]
			documented[story] = nil
		} else if strings.HasPrefix(line, "## ") {
			story = ""
		} else if m := item.FindStringSubmatch(line); m != nil && story != "" {
			documented[story] = append(documented[story], m[1])
		}
	}
	require.NotEmpty(t, documented, "docs/gitops.md has stories headed by their tests")

	files, err := filepath.Glob(filepath.Join(root, "test", "e2e", "*_test.go"))
	require.NoError(t, err)
	fn := regexp.MustCompile(`(?m)^func (Test\w+)\(t \*testing\.T\) \{$`)
	step := regexp.MustCompile(`t\.Run\("(\d+) `)
	tested := map[string][]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, loc := range fn.FindAllSubmatchIndex(src, -1) {
			name := string(src[loc[2]:loc[3]])
			body := src[loc[1]:]
			if end := strings.Index(string(body), "\n}\n"); end >= 0 {
				body = body[:end]
			}
			for _, m := range step.FindAllSubmatch(body, -1) {
				tested[name] = append(tested[name], string(m[1]))
			}
		}
	}
	for story, items := range documented {
		sort.Strings(items)
		steps := tested[story]
		sort.Strings(steps)
		assert.NotEmpty(t, steps, "docs/gitops.md heads a story with %s, which has no numbered steps", story)
		assert.Equal(t, steps, items, "docs/gitops.md's scenarios under %s are its numbered steps", story)
	}
	for name, steps := range tested {
		if _, ok := documented[name]; !ok && len(steps) > 0 {
			t.Errorf("%s numbers its steps, but docs/gitops.md has no story headed by it", name)
		}
	}
}
