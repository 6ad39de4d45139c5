package fleet_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/fleet"
)

// repo is the repository these tests read fleet/ and the overlays from.
const repo = "../.."

// withSite is a copy of the repository's inventory (fleet.yaml and every
// site) in a temporary root, with site's file replaced by (or added as)
// content.
func withSite(t *testing.T, site, content string) string {
	t.Helper()
	root := t.TempDir()
	files, err := filepath.Glob(filepath.Join(repo, fleet.SitesDir, "*", fleet.SiteFile))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	files = append(files, filepath.Join(repo, fleet.FleetFile))
	for _, f := range files {
		rel, err := filepath.Rel(repo, f)
		require.NoError(t, err)
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		write(t, filepath.Join(root, rel), string(b))
	}
	write(t, filepath.Join(root, fleet.SitesDir, site, fleet.SiteFile), content)
	return root
}

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

const goodSite = `apiVersion: hubkit.dev/v1alpha1
kind: Site
metadata:
  name: lyon
spec:
  cluster: site-lyon
  wave: early
  mode: single
  host: hub.lyon.example.com
  central:
    url: wss://central.example.com/websocket
    tokenSecret: network-group-token-v1
`

// TestTheInventoryLoads holds the repository's own inventory to its rules,
// and a good site added to it is one more site; so is a second site on one
// cluster, in a namespace of its own.
func TestTheInventoryLoads(t *testing.T) {
	inv, err := fleet.Load(repo)
	require.NoError(t, err)
	require.NotEmpty(t, inv.Sites)
	more, err := fleet.Load(withSite(t, "lyon", goodSite))
	require.NoError(t, err)
	assert.Len(t, more.Sites, len(inv.Sites)+1)
	beside := strings.Replace(strings.Replace(goodSite, "cluster: site-lyon", "cluster: site-berlin", 1), "  mode: single\n", "  mode: single\n  namespace: hubkit-lyon\n", 1)
	more, err = fleet.Load(withSite(t, "lyon", beside))
	require.NoError(t, err)
	assert.Len(t, more.Sites, len(inv.Sites)+1)
	assert.Equal(t, "hubkit-lyon", more.Sites[slices.IndexFunc(more.Sites, func(s fleet.Site) bool { return s.Name == "lyon" })].Namespace())
}

// TestAMistakeNamesTheSiteTheFieldAndTheFix: each mistake in a site's file
// fails the whole inventory with an error that names the file, the field
// and what to do.
func TestAMistakeNamesTheSiteTheFieldAndTheFix(t *testing.T) {
	for _, tc := range []struct {
		name, site, from, to string
		want                 []string
	}{
		{"an unknown field", "lyon", "  wave: early\n", "  wave: early\n  waves: early\n",
			[]string{"fleet/sites/lyon/site.yaml", `unknown field "spec.waves"`, "remove or correct the field"}},
		{"a wave that does not exist", "lyon", "wave: early", "wave: earlyish",
			[]string{"fleet/sites/lyon/site.yaml", "spec.wave", `"earlyish"`, `supported values: "canary", "early", "rest"`}},
		{"a token written inline", "lyon", "    tokenSecret: network-group-token-v1\n", "    token: eyJhbGciOi\n",
			[]string{"fleet/sites/lyon/site.yaml", "spec.central.token", "never written in Git", "spec.central.tokenSecret"}},
		{"a name that is not its folder's (two sites of one name)", "lyon", "name: lyon", "name: berlin",
			[]string{"fleet/sites/lyon/site.yaml", "metadata.name", `"berlin"`, "its folder's (lyon)"}},
		{"a second site in one namespace of one cluster", "lyon", "cluster: site-lyon", "cluster: site-berlin",
			[]string{"fleet/sites/lyon/site.yaml", "spec.cluster", "site-berlin, namespace hubkit (site berlin's)", "give one of them spec.namespace"}},
		{"a namespace that is no name", "lyon", "  mode: single\n", "  mode: single\n  namespace: Hub_Lyon\n",
			[]string{"fleet/sites/lyon/site.yaml", "spec.namespace", `"Hub_Lyon"`}},
		{"an unknown mode", "lyon", "mode: single", "mode: pair",
			[]string{"fleet/sites/lyon/site.yaml", "spec.mode", `supported values: "single", "ha"`}},
		{"a central Hub that is not a websocket", "lyon", "wss://central", "https://central",
			[]string{"fleet/sites/lyon/site.yaml", "spec.central.url", "wss://<host>/websocket through its Ingress"}},
		{"no size", "lyon", "  mode: single\n", "  mode: single\n  storage:\n    size: 0Gi\n",
			[]string{"fleet/sites/lyon/site.yaml", "spec.storage.size", "above zero"}},
		{"two system variables of one name", "lyon", "  mode: single\n", "  mode: single\n  systemVariables:\n  - name: topic\n    value: a\n  - name: topic\n    value: b\n",
			[]string{"fleet/sites/lyon/site.yaml", "spec.systemVariables[1].name", `Duplicate value: "topic"`}},
		{"another kind", "lyon", "kind: Site", "kind: Sight",
			[]string{"fleet/sites/lyon/site.yaml", "apiVersion", "want apiVersion hubkit.dev/v1alpha1, kind Site"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, goodSite, tc.from)
			_, err := fleet.Load(withSite(t, tc.site, strings.Replace(goodSite, tc.from, tc.to, 1)))
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
