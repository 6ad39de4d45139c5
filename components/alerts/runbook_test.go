package alerts_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runbooks is where every alert's runbook_url points: docs/operating.md as
// GitHub shows it, at the alert's own section.
const runbooks = "https://github.com/hubkit/hubkit/blob/main/docs/operating.md#"

// Every alert says what broke and where to read on: a severity Alertmanager
// can route by, a summary, a description that names the Hub's namespace,
// and a runbook_url that reaches the heading named for it in
// docs/operating.md (GitHub's anchors), where the first thing to do is.
func TestEveryAlertSaysWhatBrokeAndWhereItsRunbookIs(t *testing.T) {
	h := rendered(t, root(t, operated))
	headings := anchors(t, root(t, "docs/operating.md"))
	for _, r := range h.file.alerts() {
		t.Run(r.Alert, func(t *testing.T) {
			assert.Contains(t, []string{"warning", "critical"}, r.Labels["severity"])
			assert.NotEmpty(t, r.Annotations["summary"])
			assert.Contains(t, r.Annotations["description"], "{{ $labels.namespace }}")
			url := r.Annotations["runbook_url"]
			require.True(t, strings.HasPrefix(url, runbooks), "%s is not in docs/operating.md", url)
			anchor := strings.TrimPrefix(url, runbooks)
			assert.Equal(t, strings.ToLower(r.Alert), anchor, "the runbook's section is named for the alert")
			assert.Contains(t, headings, anchor, "docs/operating.md has no heading %s", r.Alert)
		})
	}
}

// anchors are the fragments GitHub gives a page's headings.
func anchors(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	drop := regexp.MustCompile(`[^\p{L}\p{N} _-]`)
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(string(b), -1) {
		out = append(out, strings.ReplaceAll(strings.ToLower(drop.ReplaceAllString(m[1], "")), " ", "-"))
	}
	return out
}
