package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	hubfiles "github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/hubctl"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/hubkit/hubkit/test/standin"
)

// prod under Argo CD, on the tests' CSI storage: the snapshot runbook, for
// a lost volume and for an upgrade rolled back, run as docs/backup.md
// writes it while Argo CD's automated sync and self-heal run, paused and
// resumed by the runbook's own steps. docs/gitops.md numbers these
// scenarios after the kind overlay's.
func TestProdUnderArgoCD(t *testing.T) {
	requireRealNode(t)
	p := argoCDProdFixture(t)
	t.Run("10 prod synced: Synced and Healthy on the CSI driver's claim, its Secrets made by the user beside Git, its Ingress admitted, the Hub serving", p.synced)
	t.Run("11 volume lost: the snapshot runbook with Argo CD paused and resumed, every entry from before the snapshot back, none after; Synced and Healthy after, the claim from the snapshot kept", p.volumeLost)
	t.Run("12 upgrade rolled back: the old tag set back by a commit, then the runbook; the old version on its own data, Synced and Healthy after", p.upgradeRolledBack)
	t.Run("13 kubectl hubkit restore while Argo CD reconciles: refused, nothing changed; with --pause-owner paused, restored and resumed, Synced and Healthy after on the claim from the restore point", p.restoreThroughThePlugin)
	t.Run("14 handed to Flux: the Application deleted, the claim kept; Flux's hubkit-prod Ready on the same claim, the Hub serving its data", p.handedToFlux)
}

// argoProd is prod's Argo CD story's world.
type argoProd struct {
	argo        *argoCD
	fork        fork
	app         string
	hub         *scenario.Hub
	gitSettings []byte
}

// argoCDProdFixture: pods on the real node only, the Hub's image in its
// containerd, a fork that pins it, prod's Secrets made in its namespace as
// its docs say (they are never in Git), Argo CD running.
func argoCDProdFixture(t *testing.T) *argoProd {
	onlyRealNode(t)
	loadStandin(t, prodImage+":"+prodTag)
	f := userFork(t, prodTag, "prod")
	ns := overlayRow(t, "prod").Namespace
	t.Cleanup(func() { deleteNamespace(t, ns) })
	t.Cleanup(func() { _ = applier(t).Delete(context.Background(), guardObjects(t)) })
	ensureNamespace(t, ns)
	store := make([]byte, 64)
	_, err := rand.Read(store)
	require.NoError(t, err)
	applySecrets(t, ns, exampleDeployment(t), store)
	return &argoProd{argo: startArgoCD(t, f), fork: f, hub: hubIn(ns), gitSettings: readRepoFile(t, "overlays", "prod", "settings", hubfiles.SettingsFile)}
}

func (p *argoProd) synced(t *testing.T) {
	guard := p.argo.apply(t, "guard.yaml")
	p.argo.waitSyncedHealthy(t, guard, "")
	p.app = p.argo.apply(t, "prod.yaml")
	admitIngress(t, p.hub.Namespace)
	p.argo.waitSyncedHealthy(t, p.app, p.fork.head(t))
	p.hub.WaitBound(t)
	pod := p.hub.WaitReady(t)
	p.hub.AppData = p.hub.CSIVolumeDir(t)
	p.hub.WaitServing(t, pod)
	assert.Equal(t, prodTag, p.hub.Status(t, pod).Version)
}

func (p *argoProd) volumeLost(t *testing.T) {
	testVolumeLost(t, p.hub, byArgoCD, p.gitSettings)
	restored := p.hub.Claim(t).UID
	p.argo.refresh(t, p.app)
	p.argo.waitSyncedHealthy(t, p.app, p.fork.head(t))
	claim := p.hub.Claim(t)
	assert.Equal(t, restored, claim.UID, "self-heal kept the claim made from the snapshot")
	require.NotNil(t, claim.Spec.DataSource, "its dataSource, which Git never set, is kept")
}

func (p *argoProd) upgradeRolledBack(t *testing.T) {
	testUpgradeRolledBack(t, p.hub, byArgoCD, func(tag string) {
		p.fork.setTag(t, "prod", tag)
		p.argo.refresh(t, p.app)
	})
	restored := p.hub.Claim(t).UID
	p.argo.refresh(t, p.app)
	p.argo.waitSyncedHealthy(t, p.app, p.fork.head(t))
	assert.Equal(t, restored, p.hub.Claim(t).UID, "self-heal kept the claim made from the snapshot")
}

func (p *argoProd) handedToFlux(t *testing.T) {
	pod := p.hub.Pod(t)
	kept := p.hub.Append(t, pod, "before the handover")
	claim := p.hub.Claim(t).UID
	p.argo.delete(t, p.app)
	p.hub.WaitUndeployed(t)
	fl := startFlux(t, p.fork)
	ks := fl.apply(t, "prod.yaml")
	fl.waitReady(t, ks, p.fork.head(t))
	pod = p.hub.WaitReady(t)
	p.hub.WaitServing(t, pod)
	assert.Equal(t, claim, p.hub.Claim(t).UID, "the same claim")
	assert.Equal(t, kept, p.hub.Journal(t).At(kept.Seq), "its data")
}

func (p *argoProd) restoreThroughThePlugin(t *testing.T) {
	ctx := context.Background()
	ns, hub := p.hub.Namespace, p.hub
	grantPluginRoles(t)
	pauser := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "hubkit-operators-gitops-pauser", Namespace: "argocd"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "hubkit-gitops-pauser"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: operators}},
	}
	_, err := e2e.client.RbacV1().RoleBindings(pauser.Namespace).Create(ctx, pauser, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, e2e.client.RbacV1().RoleBindings(pauser.Namespace).Delete(context.Background(), pauser.Name, metav1.DeleteOptions{}))
	})
	dyn, err := dynamic.NewForConfig(e2e.cluster.Config)
	require.NoError(t, err)

	s, code := hubkitStatus(t, ns)
	require.Equal(t, hubctl.Done, code)
	require.NotNil(t, s.Owner, "the Hub's owner found from Argo CD's tracking annotation")
	assert.Equal(t, hubctl.Owner{Tool: "Argo CD", Namespace: "argocd", Name: p.app, Reconciles: true, SelfHeals: true}, *s.Owner)

	pod := hub.Pod(t)
	var kept []standin.Entry
	for i := range 2 {
		kept = append(kept, hub.Append(t, pod, fmt.Sprintf("before the restore point under Argo CD, %d", i+1)))
	}
	name, _ := hubkitSnapshot(t, dyn, ns)
	after := hub.Append(t, pod, "after the restore point under Argo CD")
	claim := hub.Claim(t)

	out, code := hubkit(t, ns, "restore", "--from-snapshot", name)
	assert.Equal(t, hubctl.Refused, code, "Argo CD would scale the Hub back up and make the claim anew")
	assert.Contains(t, out, "Argo CD argocd/"+p.app+" applies "+ns+"/deployment/hbih and reconciles")
	assert.Equal(t, pod.UID, hub.Pod(t).UID, "refused: the Hub untouched")
	assert.Equal(t, claim.UID, hub.Claim(t).UID, "refused: the claim untouched")

	out, code = hubkit(t, ns, "restore", "--from-snapshot", name, "--pause-owner")
	require.Equal(t, hubctl.Done, code, out)
	assert.Contains(t, out, "pause Argo CD argocd/"+p.app)
	assert.Contains(t, out, "resume Argo CD argocd/"+p.app)
	s, _ = hubkitStatus(t, ns)
	require.NotNil(t, s.Owner)
	assert.True(t, s.Owner.Reconciles, "resumed")
	restored := hub.Claim(t)
	require.NotNil(t, restored.Spec.DataSource)
	assert.Equal(t, name, restored.Spec.DataSource.Name)
	hub.AppData = hub.CSIVolumeDir(t)
	assertRestored(t, hub, kept, after)
	p.argo.refresh(t, p.app)
	p.argo.waitSyncedHealthy(t, p.app, p.fork.head(t))
	assert.Equal(t, restored.UID, hub.Claim(t).UID, "self-heal kept the claim made from the restore point")
}
