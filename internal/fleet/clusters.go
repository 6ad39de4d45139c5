package fleet

import (
	"fmt"
	"maps"
	"path"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/names"
)

// ClustersDir holds each site cluster's labels for its Argo CD cluster
// Secret, one file per cluster, <cluster>.yaml.
const ClustersDir = "gitops/argocd/fleet/clusters"

// ArgoCDNamespace is where Argo CD reads its cluster Secrets.
const ArgoCDNamespace = "argocd"

// ClusterFieldManager is the field manager the cluster files are applied
// with (server-side apply): the labels it applied and the inventory no
// longer gives are removed by the next apply, and no other manager's
// field (the Secret's credentials) is touched.
const ClusterFieldManager = "hubkit-fleet"

// ClusterLabels are the labels the inventory gives each site cluster's
// Argo CD cluster Secret, by the cluster's name: the fleet's, the first
// wave that touches the cluster (names.WaveLabel), and a key per site it
// runs (names.SiteLabelPrefix + site). They select clusters by fleet, wave
// or site, as Argo CD's cluster generator and `argocd cluster list` do.
func (inv *Inventory) ClusterLabels() map[string]map[string]string {
	waves := inv.Fleet.WaveNames()
	out := map[string]map[string]string{}
	for _, s := range inv.Sites {
		l, ok := out[s.Spec.Cluster]
		if !ok {
			l = map[string]string{names.FleetLabel: inv.Fleet.Name, names.WaveLabel: s.Spec.Wave}
			out[s.Spec.Cluster] = l
		}
		if slices.Index(waves, s.Spec.Wave) < slices.Index(waves, l[names.WaveLabel]) {
			l[names.WaveLabel] = s.Spec.Wave
		}
		l[names.SiteLabelPrefix+s.Name] = ""
	}
	return out
}

// ClusterFiles are the files under ClustersDir: for each site cluster, its
// Argo CD cluster Secret (named as the site files' cluster, in namespace
// argocd) with the inventory's labels and nothing else, to apply
// server-side with ClusterFieldManager onto the Secret the platform team
// registered the cluster with. It carries no credentials, and not Argo
// CD's own label: applied before that Secret exists, it makes an empty
// Secret Argo CD does not read.
func (inv *Inventory) ClusterFiles() (Output, error) {
	out := Output{}
	all := inv.ClusterLabels()
	for _, cluster := range slices.Sorted(maps.Keys(all)) {
		secret := corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: cluster, Namespace: ArgoCDNamespace, Labels: all[cluster]},
		}
		body, err := yaml.Marshal(secret)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", cluster, err)
		}
		head := fmt.Sprintf("# Made by hubkit's fleet renderer from %s: the labels of site cluster %s's\n"+
			"# Argo CD cluster Secret. Apply server-side onto the Secret that registers it:\n"+
			"#   kubectl apply --server-side --field-manager=%s -f %s\n",
			SitesDir, cluster, ClusterFieldManager, ClustersDir)
		out[path.Join(ClustersDir, cluster+".yaml")] = append([]byte(head), body...)
	}
	return out, nil
}
