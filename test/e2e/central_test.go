package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/fleet"
	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/hubkit/hubkit/test/standin"
)

// A central Hub and its remotes on the real node: overlays/central, and two
// sites of a fleet, each rendered by the fleet's renderer into a namespace
// of its own on this one cluster (its Hub a remote of that central), each
// with its Network Group token in a Secret. The stand-in is taught the
// documented remote-hub contract (test/standin/central.go).
func TestCentralHubOnTheRealNode(t *testing.T) {
	requireRealNode(t)
	c := deployCentral(t)
	t.Run("the central lists each site's Hub once, by its site's client ID, connected out to its websocket", c.remotesListed)
	t.Run("each remote's pod and volume replaced: the same entry at the central, connected again", c.remoteVolumeReplaced)
}

// centralWorld is the story's world: the central, and the sites' Hubs.
type centralWorld struct {
	central *scenario.Hub
	pod     *corev1.Pod // the central's
	sites   []centralSite
}

type centralSite struct {
	site fleet.Site
	hub  *scenario.Hub
	objs []*unstructured.Unstructured
}

// networkGroupToken is the token of the central's one Network Group.
const networkGroupToken = "e2e-network-group-token"

// centralSites are the sites of the story: on this cluster, each in a
// namespace of its own.
var centralSites = []string{"north", "south"}

// deployCentral deploys overlays/central on the real node, with prod's
// Secrets, and its Network Group (made in its UI: the stand-in reads it
// from appData); then each site's render, with its Secrets and its token,
// connecting to the central's Service, which a NetworkPolicy opens to the
// sites' namespaces (through its Ingress, the way sites in other clusters
// come, it is open to the Ingress controller). Everything is deleted when
// the test ends.
func deployCentral(t *testing.T) *centralWorld {
	onlyRealNode(t)
	ctx := context.Background()
	row := overlayRow(t, "central")
	objs := realNodeRender(t, "central", "Deployment", prodTag, nil)
	loadStandin(t, hubImage(t, objs))
	store := make([]byte, 64)
	_, err := rand.Read(store)
	require.NoError(t, err)
	deployment := exampleDeployment(t)
	deploySecretsAnd(t, row.Namespace, objs, deployment, store)
	w := &centralWorld{central: hubIn(row.Namespace)}
	w.central.WaitBound(t)
	w.central.AppData = w.central.CSIVolumeDir(t)
	groups, err := json.Marshal([]standin.NetworkGroup{{Name: "plants", Token: networkGroupToken}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(w.central.AppData, standin.NetworkGroupsFile), groups, 0o644))
	w.pod = w.central.WaitReady(t)
	w.central.WaitServing(t, w.pod)
	require.True(t, w.central.Status(t, w.pod).Central, "overlays/central's settings make the Hub a central Hub")

	url := "ws://" + w.central.Address(t) + "/websocket"
	var sitesIn []string
	for _, name := range centralSites {
		sitesIn = append(sitesIn, "hubkit-"+name)
	}
	values, err := json.Marshal(sitesIn)
	require.NoError(t, err)
	policy, err := cluster.Objects(fmt.Appendf(nil, `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: hbih-from-sites, namespace: %s}
spec:
  podSelector: {matchLabels: {app.kubernetes.io/instance: %s}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: %s}]
    ports: [{port: http}]
`, row.Namespace, names.Hub, values))
	require.NoError(t, err)
	require.NoError(t, applier(t).Apply(ctx, policy, false))
	t.Cleanup(func() { assert.NoError(t, applier(t).Delete(context.Background(), policy)) })

	for _, name := range centralSites {
		s := centralSite{site: fleet.Site{
			TypeMeta:   metav1.TypeMeta{APIVersion: fleet.APIVersion, Kind: fleet.SiteKind},
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: fleet.SiteSpec{
				Cluster: "e2e", Namespace: "hubkit-" + name, Wave: "canary", Mode: fleet.ModeSingle,
				Host:    "hub." + name + ".example.com",
				Central: &fleet.Central{URL: url, TokenSecret: "network-group-token-v1", CentralConfig: true},
			},
		}}
		s.objs = siteForRealNode(t, s.site)
		// Last, after the site's objects and Secrets are deleted.
		t.Cleanup(func() { deleteNamespace(t, s.site.Namespace()) })
		namespaces, _ := split(s.objs)
		require.NoError(t, applier(t).Apply(ctx, namespaces, false))
		_, err := e2e.client.CoreV1().Secrets(s.site.Namespace()).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: s.site.Spec.Central.TokenSecret},
			StringData: map[string]string{"token": networkGroupToken},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		deploySecretsAnd(t, s.site.Namespace(), s.objs, deployment, store)
		s.hub = hubIn(s.site.Namespace())
		w.sites = append(w.sites, s)
	}
	for _, s := range w.sites {
		s.hub.WaitServing(t, s.hub.WaitReady(t))
	}
	return w
}

// deploySecretsAnd applies prod's Secrets in ns and then objs, as prod's
// documentation says, and deletes them when the test ends.
func deploySecretsAnd(t *testing.T, ns string, objs []*unstructured.Unstructured, deployment, store []byte) {
	t.Helper()
	ctx := context.Background()
	namespaces, _ := split(objs)
	require.NoError(t, applier(t).Apply(ctx, namespaces, false))
	applySecrets(t, ns, deployment, store)
	t.Cleanup(func() {
		for _, name := range []string{contract.DeploymentSecret, contract.CertificateStoreSecret, contract.GitBackupSecret} {
			assert.NoError(t, e2e.client.CoreV1().Secrets(ns).Delete(context.Background(), name, metav1.DeleteOptions{}))
		}
	})
	require.NoError(t, applier(t).Apply(ctx, objs, false))
	t.Cleanup(func() { undeploy(t, objs) })
}

// siteForRealNode is the site's render, made by the fleet's renderer from
// this checkout, with the Hub's image the stand-in's, never pulled, and the
// CPU the real node can give (as realNodeRender does for an overlay).
func siteForRealNode(t *testing.T, s fleet.Site) []*unstructured.Unstructured {
	t.Helper()
	e2e.fns.OnPath(t)
	overlay, err := fleet.RenderOverlay(e2e.root, s.Overlay())
	require.NoError(t, err)
	work := filepath.Join(e2e.root, "build", "e2e", "fleet", fmt.Sprintf("%s-%d", s.Name, os.Getpid()))
	t.Cleanup(func() { _ = os.RemoveAll(work) })
	render, err := s.Render(e2e.root, work, overlay)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "site.yaml"), render, 0o644))
	k := types.Kustomization{
		TypeMeta:  types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind},
		Resources: []string{"site.yaml"},
		Images:    []types.Image{{Name: "registry.example.com/highbyte/intelligence-hub", NewName: prodImage, NewTag: prodTag}},
		Patches: []types.Patch{{Patch: fmt.Sprintf(
			"{apiVersion: apps/v1, kind: Deployment, metadata: {name: %s, namespace: %s}, spec: {template: {spec: {containers: [{name: %s, resources: {requests: {cpu: 100m}}}]}}}}",
			names.Hub, s.Namespace(), names.HubContainer)}},
	}
	raw, err := yaml.Marshal(&k)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), raw, 0o644))
	return renderedForRealNode(t, dir)
}

// remotes waits until the central lists exactly the sites' Hubs, each by
// its site's client ID and name, every one connected, and returns them.
func (w *centralWorld) remotes(t *testing.T) []standin.RemoteHub {
	t.Helper()
	var hubs []standin.RemoteHub
	scenario.Until(t, "the central lists each site's Hub once, connected", 2*time.Minute, func(context.Context) (bool, string, error) {
		hubs = w.central.RemoteHubs(t, w.pod)
		for _, h := range hubs {
			if !h.Connected {
				return false, fmt.Sprintf("%+v", hubs), nil
			}
		}
		return len(hubs) == len(w.sites), fmt.Sprintf("%+v", hubs), nil
	})
	for _, s := range w.sites {
		i := slices.IndexFunc(hubs, func(h standin.RemoteHub) bool { return h.ClientID == s.site.ClientID() })
		require.GreaterOrEqual(t, i, 0, "site %s's Hub, by its client ID %s: %+v", s.site.Name, s.site.ClientID(), hubs)
		assert.Equal(t, s.site.Name, hubs[i].Name)
	}
	return hubs
}

func (w *centralWorld) remotesListed(t *testing.T) {
	w.remotes(t)
	for _, s := range w.sites {
		st := s.hub.Status(t, s.hub.Pod(t))
		require.NotNil(t, st.Remote, "site %s's Hub read its remote config", s.site.Name)
		assert.True(t, st.Remote.Connected)
		assert.Equal(t, s.site.ClientID(), st.Remote.ClientID)
	}
}

func (w *centralWorld) remoteVolumeReplaced(t *testing.T) {
	before := w.remotes(t)
	ctx := context.Background()
	for _, s := range w.sites {
		old := s.hub.Claim(t)
		s.hub.DeleteClaim(t)
		// Git applied again, as its controller does: a new claim, a new volume.
		require.NoError(t, applier(t).Apply(ctx, s.objs, false))
		pod := s.hub.WaitReady(t)
		s.hub.WaitServing(t, pod)
		assert.NotEqual(t, old.UID, s.hub.Claim(t).UID, "site %s: a new claim", s.site.Name)
		after := w.remotes(t)
		assert.Len(t, after, len(before), "site %s's Hub is the same entry, not a second", s.site.Name)
		for _, h := range before {
			assert.True(t, slices.ContainsFunc(after, func(a standin.RemoteHub) bool { return a.ClientID == h.ClientID && a.FirstSeen.Equal(h.FirstSeen) }),
				"entry %s kept", h.Name)
		}
	}
}
