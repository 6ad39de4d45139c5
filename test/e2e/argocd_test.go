package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/test/scenario"
)

// The Hub under Argo CD: the kind overlay deployed by Argo CD v3.2.6's
// application controller, repo-server and hubkit's Config Management
// Plugin, from gitops/argocd as shipped, on the real node, while the
// runbooks and a person's kubectl act beside it. docs/gitops.md numbers
// these scenarios.
func TestHubUnderArgoCD(t *testing.T) {
	requireRealNode(t)
	a := argoCDFixture(t)
	t.Run("1 synced: the guard's Application and the kind overlay's as shipped, Synced and Healthy by Argo CD's own health assessment, the Hub serving on the real node", a.synced)
	t.Run("2 an upgrade is a commit: the new tag in Git reaches the pod by Recreate, the data kept", a.upgradeByCommit)
	t.Run("3 drift: a kubectl edit of the Hub's settings is put back by self-heal", a.settingsEditReverted)
	t.Run("4 Git asking for two replicas: the plugin's function renders one, Argo CD syncs that, the running Hub untouched", a.twoReplicasInGit)
	t.Run("5 the copy runbook and its restore, Argo CD paused and resumed as they say: every entry back, Synced and Healthy after, nothing re-created", a.copyRunbooks)
	t.Run("6 the overlay's path removed from Git: the sync fails, nothing is pruned", a.pathRemoved)
	t.Run("7 the Application deleted with its finalizer: the claim and the namespace stay; created again, the Hub is back on its data", a.deletedAndBack)
	t.Run("8 the snapshot runbook without its pause step: self-heal scales the Hub back up before its pod is gone", a.runbookWithoutPause)
	t.Run("9 dev too: hubkit-dev Synced and Healthy, its Hub serving; deleted, its claim kept", a.dev)
}

// argoHub is the Argo CD story's world: Argo CD, the user's fork it syncs,
// and the Hub it deploys.
type argoHub struct {
	argo *argoCD
	fork fork
	app  string
	hub  *scenario.Hub
	rev  string
	tag  string // kind's Hub's tag, as the last upgrade left it
	// pinned is the tag the fork pinned every overlay to
	pinned string
}

// argoCDFixture is the story before its first step: pods on the real node
// only, kind's storage, the Hub's image in its containerd, a fork of
// hubkit that pins it, Argo CD running; the namespace the Application
// leaves behind (by design: it keeps the claim) is deleted when it ends.
func argoCDFixture(t *testing.T) *argoHub {
	onlyRealNode(t)
	useKindStorage(t, e2e.cluster.Node)
	tag := "argocd-e2e"
	loadStandin(t, prodImage+":"+tag)
	f := userFork(t, tag, "kind", "dev")
	ns := overlayRow(t, "kind").Namespace
	t.Cleanup(func() { deleteNamespace(t, ns) })
	t.Cleanup(func() { deleteNamespace(t, overlayRow(t, "dev").Namespace) })
	t.Cleanup(func() { _ = applier(t).Delete(context.Background(), guardObjects(t)) })
	return &argoHub{argo: startArgoCD(t, f), fork: f, hub: hubIn(ns), tag: tag, pinned: tag}
}

func (a *argoHub) synced(t *testing.T) {
	guard := a.argo.apply(t, "guard.yaml")
	a.argo.waitSyncedHealthy(t, guard, "")
	a.app = a.argo.apply(t, "kind.yaml")
	a.argo.waitSyncedHealthy(t, a.app, a.fork.head(t))
	volume := a.hub.WaitBound(t)
	a.hub.AppData = localPathVolume(t, volume)
	pod := a.hub.WaitReady(t)
	assert.Equal(t, e2e.cluster.Node.Name(), pod.Spec.NodeName, "the Hub runs on the real node")
	a.hub.WaitServing(t, pod)
	assert.Equal(t, a.tag, a.hub.Status(t, pod).Version)
	waitForGuard(t, a.hub.Namespace)
}

func (a *argoHub) upgradeByCommit(t *testing.T) {
	next := a.tag + "-next"
	loadStandin(t, prodImage+":"+next)
	old := a.hub.Pod(t)
	before := a.hub.Append(t, old, "before the upgrade")
	begun := time.Now()
	rev := a.fork.setTag(t, "kind", next)
	a.argo.refresh(t, a.app)
	pod := a.hub.WaitReplaced(t, old)
	a.hub.WaitServing(t, pod)
	took := time.Since(begun)
	assert.Equal(t, next, a.hub.Status(t, pod).Version, "the new version serves")
	journal := a.hub.Journal(t)
	assert.Equal(t, before, journal.At(before.Seq), "data intact")
	stop, start := journal.FirstAfter(before.Seq, "stop "), journal.FirstAfter(before.Seq, "start ")
	require.NotZero(t, stop, "the old process stopped cleanly")
	assert.Less(t, stop, start, "Recreate: the old process stopped before the new one started")
	a.argo.waitSyncedHealthy(t, a.app, rev)
	a.tag = next
	t.Logf("Argo CD: commit to the new version serving in %s (a refresh, as its Git webhook asks)", took.Round(time.Millisecond))
	writeFigure(t, "gitops-argocd-upgrade", fmt.Sprintf("Argo CD: an upgrade as a commit (the image tag) to the new version serving, Argo CD refreshed as its Git webhook does: %s", took.Round(time.Millisecond)))
}

func (a *argoHub) settingsEditReverted(t *testing.T) {
	cm := settingsConfigMap(t, a.hub.Namespace)
	key := "intelligencehub-settings.json"
	want := cm.Data[key]
	require.NotEmpty(t, want)
	begun := time.Now()
	runAsUser(t, fmt.Sprintf(`kubectl -n %s patch configmap %s --type merge -p '{"data":{"%s":"{\"edited\": \"by hand\"}"}}'`, a.hub.Namespace, cm.Name, key))
	scenario.Until(t, "self-heal to put the settings back", time.Minute, func(ctx context.Context) (bool, string, error) {
		got, err := e2e.client.CoreV1().ConfigMaps(a.hub.Namespace).Get(ctx, cm.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return got.Data[key] == want, got.Data[key], nil
	})
	took := time.Since(begun)
	a.argo.waitSyncedHealthy(t, a.app, "")
	t.Logf("Argo CD: a kubectl edit of the settings put back by self-heal in %s", took.Round(time.Millisecond))
	writeFigure(t, "gitops-argocd-drift", fmt.Sprintf("Argo CD: a kubectl edit of the Hub's settings ConfigMap put back by self-heal (default --self-heal-timeout-seconds): %s", took.Round(time.Millisecond)))
}

func (a *argoHub) twoReplicasInGit(t *testing.T) {
	pod := a.hub.Pod(t)
	dir := filepath.Join(a.fork.Work, "overlays", "kind")
	runKustomize(t, dir, "edit", "set", "replicas", names.Hub+"=2")
	rev := a.fork.commit(t, "Two Hubs", a.fork.overlayFiles(t, "kind"))
	a.argo.refresh(t, a.app)
	a.argo.waitSyncedHealthy(t, a.app, rev)
	assert.Equal(t, int32(1), a.hub.Replicas(t), "the function set replicas to 1")
	assert.Equal(t, pod.UID, a.hub.Pod(t).UID, "the same pod serves")

	a.fork.revert(t)
	a.argo.refresh(t, a.app)
	a.argo.waitSyncedHealthy(t, a.app, a.fork.head(t))
}

func (a *argoHub) copyRunbooks(t *testing.T) {
	claim := a.hub.Claim(t).UID
	testCopyWithoutSnapshots(t, a.hub, byArgoCD)
	a.argo.waitSyncedHealthy(t, a.app, a.fork.head(t))
	assert.Equal(t, claim, a.hub.Claim(t).UID, "the claim is the one from before the runbooks")
}

func (a *argoHub) pathRemoved(t *testing.T) {
	pod := a.hub.Pod(t)
	claim := a.hub.Claim(t).UID
	a.fork.commit(t, "Remove the kind overlay", map[string][]byte{filepath.Join("overlays", "kind"): nil})
	a.argo.refresh(t, a.app)
	scenario.Until(t, "Argo CD to fail to build the removed path", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		s, err := a.argo.status(ctx, a.app)
		if err != nil {
			return false, "", err
		}
		return slices.ContainsFunc(s.Conditions, func(c string) bool { return strings.HasPrefix(c, "ComparisonError") }), fmt.Sprintf("%+v", s), nil
	})
	assert.Equal(t, claim, a.hub.Claim(t).UID, "the claim stays")
	assert.Equal(t, pod.UID, a.hub.Pod(t).UID, "the Hub runs on")
	a.fork.revert(t)
	a.argo.refresh(t, a.app)
	a.argo.waitSyncedHealthy(t, a.app, a.fork.head(t))
}

func (a *argoHub) deletedAndBack(t *testing.T) {
	pod := a.hub.Pod(t)
	kept := a.hub.Append(t, pod, "before the Application is deleted")
	claim := a.hub.Claim(t).UID
	a.argo.delete(t, a.app)
	a.hub.WaitUndeployed(t)
	assert.Equal(t, claim, a.hub.Claim(t).UID, "the claim stays (Delete=false)")
	a.hub.NamespaceKept(t) // Delete=false

	a.app = a.argo.apply(t, "kind.yaml")
	a.argo.waitSyncedHealthy(t, a.app, a.fork.head(t))
	pod = a.hub.WaitReady(t)
	a.hub.WaitServing(t, pod)
	assert.Equal(t, kept, a.hub.Journal(t).At(kept.Seq), "back on its data")
	assert.Equal(t, claim, a.hub.Claim(t).UID, "on the same claim")
}

// runbookWithoutPause runs the snapshot runbook's steps as they were
// written before Argo CD ran against them (no pause): its scale to 0,
// which self-heal undoes before the pod the runbook waits for is gone.
func (a *argoHub) runbookWithoutPause(t *testing.T) {
	steps := readmeRunbook(t, runbookTitle)
	i := slices.IndexFunc(steps, func(s runbookStep) bool {
		return slices.ContainsFunc(s.commands, func(c string) bool { return strings.Contains(c, "--replicas=0") })
	})
	require.GreaterOrEqual(t, i, 0, "the runbook scales the Hub to 0")
	require.Greater(t, i, 0)
	require.True(t, slices.ContainsFunc(steps[i-1].commands, func(c string) bool { return strings.Contains(c, "-n argocd ") }), "the step before pauses Argo CD")
	pod := a.hub.Pod(t)
	scaled := time.Now()
	for _, c := range steps[i].commands {
		runAsUser(t, c)
	}
	a.hub.WaitReplicas(t, 1) // self-heal
	undone := time.Since(scaled)
	back := a.hub.WaitReady(t)
	a.hub.WaitServing(t, back)
	t.Logf("Argo CD scaled the Hub back to 1 replica %s after the runbook's scale to 0 (pod %s, then %s)", undone.Round(time.Millisecond), pod.Name, back.Name)
	writeFigure(t, "gitops-argocd-undo", fmt.Sprintf("Argo CD: the snapshot runbook's scale to 0, without its pause step, undone by self-heal (replicas 1 again) in %s", undone.Round(time.Millisecond)))
	a.argo.waitSyncedHealthy(t, a.app, "")
}

func (a *argoHub) dev(t *testing.T) {
	app := a.argo.apply(t, "dev.yaml")
	a.argo.waitSyncedHealthy(t, app, a.fork.head(t))
	hub := hubIn(overlayRow(t, "dev").Namespace)
	pod := hub.WaitReady(t)
	hub.WaitServing(t, pod)
	assert.Equal(t, a.pinned, hub.Status(t, pod).Version, "the tag the fork pinned for dev")
	a.argo.delete(t, app)
	hub.WaitUndeployed(t)
}
