// Package docs_test keeps the repository's front door true: the README is
// read in minutes (at most 300 lines, its sections in the reader's order,
// every page of docs/ linked, the function's rules left to fnspec), its
// layout table names every top-level directory and only paths that exist and
// says which ship, every target `make help` lists is mentioned, every link in
// the README and docs/ reaches a file and heading that exist, and the
// promise's figures are the measured ones.
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

// The README reads in the order its reader needs: what hubkit is and its
// promise, how to start, what it deploys, what keeps it single in the
// cluster, how to configure and back up the Hub (each in short, its page in
// docs/ linked), then how it reaches a cluster and how it is tested; the
// repository's layout last.
func TestReadmeSectionsComeInTheReadersOrder(t *testing.T) {
	want := []string{
		"Quickstart",
		"Overlays",
		"Components",
		"In the cluster: the guard",
		"Configuring the Hub",
		"Backup and restore",
		"GitOps and pipelines",
		"The `singleton` function",
		"How it is tested",
		"What it costs",
		"Layout",
		"Adapting hubkit to another app",
	}
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^## (.+)$`).FindAllStringSubmatch(readme(t), -1) {
		got = append(got, m[1])
	}
	// Sections may be added between these, never moved out of order.
	i := 0
	for _, h := range got {
		if i < len(want) && h == want[i] {
			i++
		}
	}
	assert.Equal(t, len(want), i, "README sections out of order: want %q in this order, got %q", want, got)
}

// A person reads the README in minutes: the long stories are pages of
// docs/, each linked from it.
func TestReadmeIsReadInMinutes(t *testing.T) {
	text := readme(t)
	lines := strings.Count(text, "\n")
	assert.LessOrEqual(t, lines, 300, "README.md has %d lines: move the long story to a page of docs/ and link it", lines)
	pages, err := filepath.Glob(filepath.Join(testenv.RepoRoot(t), "docs", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, pages)
	for _, page := range pages {
		link := "](docs/" + filepath.Base(page)
		assert.True(t, strings.Contains(text, link+")") || strings.Contains(text, link+"#"), "README.md does not link %s", "docs/"+filepath.Base(page))
	}
}

// The README's sections that have a page of their own say it in short and
// link the page: backup, configuration and the guard.
func TestLongSectionsLinkTheirPage(t *testing.T) {
	text := readme(t)
	for _, tc := range []struct{ section, page string }{
		{"In the cluster: the guard", "docs/guard.md"},
		{"Configuring the Hub", "docs/configuration.md"},
		{"Backup and restore", "docs/backup.md"},
	} {
		section := sectionOf(t, text, tc.section)
		assert.Contains(t, section, "]("+tc.page+")", "README's %q does not link %s", tc.section, tc.page)
		assert.LessOrEqual(t, strings.Count(section, "\n"), 20, "README's %q is the short of it; the rest belongs in %s", tc.section, tc.page)
	}
}

// The runbooks live in docs/backup.md, where the drills in test/e2e read them
// (a bold line, then numbered steps whose commands are code spans); the
// README only points there.
func TestRunbooksLiveInTheBackupPage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docs", "backup.md"))
	require.NoError(t, err)
	lines := strings.Split(string(b), "\n")
	runbooks := 0
	for i, l := range lines {
		if !strings.HasPrefix(l, "**The runbook: ") {
			continue
		}
		runbooks++
		steps := 0
		for _, next := range lines[i+1:] {
			if regexp.MustCompile(`^\d+\. `).MatchString(next) {
				steps++
			} else if strings.TrimSpace(next) != "" && !strings.HasPrefix(next, "   ") {
				break
			}
		}
		assert.GreaterOrEqual(t, steps, 3, "docs/backup.md: %s has its numbered steps right after it", l)
	}
	assert.Equal(t, 3, runbooks, "docs/backup.md has the snapshot runbook and the copy's two")
	assert.NotContains(t, readme(t), "**The runbook", "the runbooks live in docs/backup.md, not the README")
}

// The function's section points to fnspec/README.md, which documents every
// rule and config field, and copies none of it: no table of rules.
func TestFunctionSectionPointsToFnspec(t *testing.T) {
	section := sectionOf(t, readme(t), "The `singleton` function")
	assert.Contains(t, section, "](fnspec/README.md)")
	assert.NotContains(t, section, "\n|", "README's function section copies a table; fnspec/README.md holds it")
}

// Every path the layout table names exists: a moved directory moves its row.
func TestLayoutTableNamesOnlyPathsThatExist(t *testing.T) {
	root := testenv.RepoRoot(t)
	section := sectionOf(t, readme(t), "Layout")
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		for _, m := range regexp.MustCompile("`([a-z][a-z0-9./-]*)`").FindAllStringSubmatch(cells[1], -1) {
			_, err := os.Stat(filepath.Join(root, m[1]))
			assert.NoError(t, err, "README's layout table names %s", m[1])
		}
	}
}

// Every relative link in the README and in docs/*.md reaches a file that
// exists and, with a #fragment, a heading in it (GitHub's anchors).
func TestLinksReachFilesAndHeadings(t *testing.T) {
	root := testenv.RepoRoot(t)
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	pages = append(pages, filepath.Join(root, "README.md"))
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, page := range pages {
		b, err := os.ReadFile(page)
		require.NoError(t, err)
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, fragment, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
			}
			rel, _ := filepath.Rel(root, page)
			if _, err := os.Stat(path); !assert.NoError(t, err, "%s links to %s", rel, target) {
				continue
			}
			if fragment != "" && strings.HasSuffix(path, ".md") {
				assert.Contains(t, anchors(t, path), fragment, "%s links to %s: no such heading", rel, target)
			}
		}
	}
}

// The promise's figures at the top of the README are the ones make bench
// measured, as docs/benchmarks.md records them.
func TestPromiseFiguresAreTheMeasuredOnes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docs", "benchmarks.md"))
	require.NoError(t, err)
	measured := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) == 6 {
			measured[strings.TrimSpace(cells[1])] = strings.TrimSpace(cells[4])
		}
	}
	promise := sectionOf(t, "\n## Promise\n"+readme(t), "Promise")
	for _, tc := range []struct{ row, figure string }{
		{"first crash, kubelet defaults", `^(\d+(\.\d+)? s)$`},
		{"second crash within minutes, kubelet defaults", `^(\d+(\.\d+)? s) `},
		{"20 crashes, `crashLoopBackOff.maxContainerRestartPeriod: 1s`", `^median (\d+(\.\d+)? s)`},
		{"node loss, out-of-service taint", `^(\d+(\.\d+)?(–\d+(\.\d+)?)? s)$`},
	} {
		m := regexp.MustCompile(tc.figure).FindStringSubmatch(measured[tc.row])
		if assert.NotNil(t, m, "docs/benchmarks.md has no figure for %q (got %q)", tc.row, measured[tc.row]) {
			assert.True(t, strings.Contains(promise, m[1]), "the README's promise does not say %s for %q", m[1], tc.row)
		}
	}
}

// sectionOf is the text of the README section titled title, up to the next.
func sectionOf(t *testing.T, text, title string) string {
	t.Helper()
	start := strings.Index(text, "\n## "+title+"\n")
	require.GreaterOrEqual(t, start, 0, "no section %q", title)
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	return section
}

// anchors are the fragment names of a Markdown file's headings, as GitHub
// makes them: lower case, punctuation dropped, spaces as hyphens.
func anchors(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []string
	drop := regexp.MustCompile(`[^\p{L}\p{N} _-]`)
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(string(b), -1) {
		a := strings.ToLower(drop.ReplaceAllString(m[1], ""))
		out = append(out, strings.ReplaceAll(a, " ", "-"))
	}
	return out
}

// docs/testing.md counts the function's golden folders and hostile inputs
// as they are: a new case changes the count it states.
func TestTestingPageCountsTheCasesThereAre(t *testing.T) {
	root := testenv.RepoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "docs", "testing.md"))
	require.NoError(t, err)
	page := strings.Join(strings.Fields(string(b)), " ")
	golden := 0
	require.NoError(t, filepath.WalkDir(filepath.Join(root, "plugin", "singleton", "testdata"), func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == "realworld" {
			return filepath.SkipDir // its own count, its own README
		}
		if err == nil && d.Name() == "input.yaml" {
			golden++
		}
		return err
	}))
	bad, err := filepath.Glob(filepath.Join(root, "plugin", "testdata", "badinput", "*", "stdin.yaml"))
	require.NoError(t, err)
	for _, tc := range []struct {
		what    string
		pattern string
		count   int
	}{
		{"golden folders", `(\d+) golden folders`, golden},
		{"hostile inputs", `holds (\d+) hostile inputs`, len(bad)},
	} {
		m := regexp.MustCompile(tc.pattern).FindStringSubmatch(page)
		if assert.NotNil(t, m, "docs/testing.md states no count of %s", tc.what) {
			assert.Equal(t, fmt.Sprint(tc.count), m[1], "docs/testing.md's count of %s", tc.what)
		}
	}
}
