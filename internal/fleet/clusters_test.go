package fleet_test

import (
	"os"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/fleet"
)

// TestEachSiteClusterIsLabelledFromTheInventory: each site cluster's Argo
// CD cluster Secret gets the fleet's name, the first wave that touches the
// cluster and a key per site it runs; a cluster of two sites of two waves
// gets both sites and the earlier wave. The file names the Secret as the
// site files name the cluster and carries no credentials and not Argo CD's
// own label.
func TestEachSiteClusterIsLabelledFromTheInventory(t *testing.T) {
	// lyon, of wave canary, on austin's cluster (austin is of wave early).
	beside := strings.NewReplacer("cluster: site-lyon", "cluster: site-austin", "wave: early", "wave: canary",
		"  mode: single\n", "  mode: single\n  namespace: hubkit-lyon\n").Replace(goodSite)
	inv, err := fleet.Load(withSite(t, "lyon", beside))
	require.NoError(t, err)
	for _, tc := range []struct {
		cluster string
		want    map[string]string
	}{
		{"site-berlin", map[string]string{"hubkit.dev/fleet": "hubkit", "hubkit.dev/wave": "canary", "site.hubkit.dev/berlin": ""}},
		{"site-austin", map[string]string{"hubkit.dev/fleet": "hubkit", "hubkit.dev/wave": "canary",
			"site.hubkit.dev/austin": "", "site.hubkit.dev/lyon": ""}},
		{"site-osaka", map[string]string{"hubkit.dev/fleet": "hubkit", "hubkit.dev/wave": "rest", "site.hubkit.dev/osaka": ""}},
	} {
		t.Run(tc.cluster, func(t *testing.T) {
			assert.Equal(t, tc.want, inv.ClusterLabels()[tc.cluster])
			files, err := inv.ClusterFiles()
			require.NoError(t, err)
			var secret corev1.Secret
			require.NoError(t, yaml.UnmarshalStrict(files[path.Join(fleet.ClustersDir, tc.cluster+".yaml")], &secret))
			assert.Equal(t, corev1.Secret{
				TypeMeta:   secret.TypeMeta,
				ObjectMeta: secret.ObjectMeta,
			}, secret, "labels alone: no credentials")
			assert.Equal(t, "v1", secret.APIVersion)
			assert.Equal(t, "Secret", secret.Kind)
			assert.Equal(t, tc.cluster, secret.Name)
			assert.Equal(t, fleet.ArgoCDNamespace, secret.Namespace)
			assert.Equal(t, tc.want, secret.Labels, "and not argocd.argoproj.io/secret-type: applied first, the Secret is one Argo CD does not read")
		})
	}
	files, err := inv.ClusterFiles()
	require.NoError(t, err)
	assert.Len(t, files, 3, "one file per cluster, not per site")
}

// TestAFleetNameThatIsNoLabelIsAMistake: the fleet's name is a label value
// on its clusters.
func TestAFleetNameThatIsNoLabelIsAMistake(t *testing.T) {
	root := withSite(t, "lyon", goodSite)
	fleetFile := path.Join(root, fleet.FleetFile)
	b, err := os.ReadFile(fleetFile)
	require.NoError(t, err)
	require.Contains(t, string(b), "  name: hubkit\n")
	write(t, fleetFile, strings.Replace(string(b), "  name: hubkit\n", "  name: Hub Kit\n", 1))
	_, err = fleet.Load(root)
	require.Error(t, err)
	for _, w := range []string{"fleet/fleet.yaml", "metadata.name", `"Hub Kit"`, "a label on its site clusters"} {
		assert.Contains(t, err.Error(), w)
	}
}
