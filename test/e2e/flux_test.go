package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/test/scenario"
)

// The Hub under Flux: the kind overlay's hydrated render (deploy/kind)
// applied by Flux v1.9.6's source- and kustomize-controller, from
// gitops/flux/git as shipped, on the real node, while the runbooks act
// beside it. docs/gitops.md numbers these scenarios.
func TestHubUnderFlux(t *testing.T) {
	requireRealNode(t)
	f := fluxFixture(t)
	t.Run("1 ready: the guard's Kustomization and the kind overlay's as shipped, Ready, the Hub serving on the real node", f.ready)
	t.Run("2 an upgrade is a commit: the new tag in Git, hydrated, reaches the pod by Recreate, the data kept", f.upgradeByCommit)
	t.Run("3 Git asking for two replicas in the hydrated render: the guard refuses the apply, its message in the Kustomization's Ready condition, the running Hub untouched", f.twoReplicasInGit)
	t.Run("4 the copy runbook and its restore, the Kustomization suspended and resumed as they say: every entry back, Ready after, nothing re-created", f.copyRunbooks)
	t.Run("5 the hydrated path removed from Git: the Kustomization fails, nothing is pruned", f.pathRemoved)
	t.Run("6 dev too: hubkit-dev Ready, its Hub serving; deleted, its claim kept", f.dev)
	t.Run("7 the Kustomization deleted: its objects pruned but the claim and the namespace; applied again, the Hub is back on its data", f.deletedAndBack)
}

// fluxHub is the Flux story's world.
type fluxHub struct {
	flux *flux
	fork fork
	ks   string
	hub  *scenario.Hub
	tag  string // kind's Hub's tag, as the last upgrade left it
	// pinned is the tag the fork pinned every overlay to
	pinned string
}

// fluxFixture is the story before its first step: pods on the real node
// only, kind's storage, the Hub's image in its containerd, a fork of
// hubkit that pins it (and its hydrated render), Flux running; the
// namespace pruning leaves behind (by design: it keeps the claim) is
// deleted when it ends.
func fluxFixture(t *testing.T) *fluxHub {
	onlyRealNode(t)
	useKindStorage(t, e2e.cluster.Node)
	tag := "flux-e2e"
	loadStandin(t, prodImage+":"+tag)
	f := userFork(t, tag, "kind", "dev")
	ns := overlayRow(t, "kind").Namespace
	t.Cleanup(func() { deleteNamespace(t, ns) })
	t.Cleanup(func() { deleteNamespace(t, overlayRow(t, "dev").Namespace) })
	return &fluxHub{flux: startFlux(t, f), fork: f, hub: hubIn(ns), tag: tag, pinned: tag}
}

func (f *fluxHub) ready(t *testing.T) {
	guard := f.flux.apply(t, "guard.yaml")
	f.flux.waitReady(t, guard, f.fork.head(t))
	f.ks = f.flux.apply(t, "kind.yaml")
	f.flux.waitReady(t, f.ks, f.fork.head(t))
	volume := f.hub.WaitBound(t)
	f.hub.AppData = localPathVolume(t, volume)
	pod := f.hub.WaitReady(t)
	assert.Equal(t, e2e.cluster.Node.Name(), pod.Spec.NodeName, "the Hub runs on the real node")
	f.hub.WaitServing(t, pod)
	assert.Equal(t, f.tag, f.hub.Status(t, pod).Version)
	waitForGuard(t, f.hub.Namespace)
}

func (f *fluxHub) upgradeByCommit(t *testing.T) {
	next := f.tag + "-next"
	loadStandin(t, prodImage+":"+next)
	old := f.hub.Pod(t)
	before := f.hub.Append(t, old, "before the upgrade")
	begun := time.Now()
	rev := f.fork.setTag(t, "kind", next)
	f.flux.reconcileSource(t)
	pod := f.hub.WaitReplaced(t, old)
	f.hub.WaitServing(t, pod)
	took := time.Since(begun)
	assert.Equal(t, next, f.hub.Status(t, pod).Version, "the new version serves")
	journal := f.hub.Journal(t)
	assert.Equal(t, before, journal.At(before.Seq), "data intact")
	stop, start := journal.FirstAfter(before.Seq, "stop "), journal.FirstAfter(before.Seq, "start ")
	require.NotZero(t, stop, "the old process stopped cleanly")
	assert.Less(t, stop, start, "Recreate: the old process stopped before the new one started")
	f.flux.waitReady(t, f.ks, rev)
	f.tag = next
	t.Logf("Flux: commit to the new version serving in %s (the source reconciled on request, as its webhook Receiver asks)", took.Round(time.Millisecond))
	writeFigure(t, "gitops-flux-upgrade", fmt.Sprintf("Flux: an upgrade as a commit (the image tag, deploy/ hydrated) to the new version serving, the GitRepository reconciled on request as a webhook Receiver does: %s", took.Round(time.Millisecond)))
}

func (f *fluxHub) twoReplicasInGit(t *testing.T) {
	pod := f.hub.Pod(t)
	path := filepath.Join("deploy", "kind", "hub.yaml")
	render, err := f.fork.Read(path)
	require.NoError(t, err)
	edited := strings.Replace(string(render), "  replicas: 1\n", "  replicas: 2\n", 1)
	require.NotEqual(t, string(render), edited, "the hydrated Deployment says replicas: 1")
	f.fork.commit(t, "Two Hubs, by hand in the hydrated render", map[string][]byte{path: []byte(edited)})
	f.flux.reconcileSource(t)
	var message string
	scenario.Until(t, "the guard to refuse Flux's apply", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		ready, _, m, err := f.flux.ready(ctx, f.ks)
		message = m
		return !ready && strings.Contains(m, "[replicas]"), fmt.Sprintf("ready %t: %s", ready, m), err
	})
	assert.Contains(t, message, "Refused by hubkit-replicas (hubkit guard)")
	t.Logf("Flux's Ready condition: %s", message)
	assert.Equal(t, int32(1), f.hub.Replicas(t), "the running Hub untouched")
	assert.Equal(t, pod.UID, f.hub.Pod(t).UID, "the same pod serves")

	f.fork.revert(t)
	f.flux.reconcileSource(t)
	f.flux.waitReady(t, f.ks, f.fork.head(t))
}

func (f *fluxHub) copyRunbooks(t *testing.T) {
	claim := f.hub.Claim(t).UID
	testCopyWithoutSnapshots(t, f.hub, byFlux)
	f.flux.waitReady(t, f.ks, f.fork.head(t))
	assert.Equal(t, claim, f.hub.Claim(t).UID, "the claim is the one from before the runbooks")
}

func (f *fluxHub) pathRemoved(t *testing.T) {
	pod := f.hub.Pod(t)
	claim := f.hub.Claim(t).UID
	f.fork.commit(t, "Remove the kind overlay's render", map[string][]byte{filepath.Join("deploy", "kind"): nil})
	f.flux.reconcileSource(t)
	scenario.Until(t, "the Kustomization to fail on the removed path", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		ready, _, m, err := f.flux.ready(ctx, f.ks)
		return !ready && strings.Contains(m, "kind"), fmt.Sprintf("ready %t: %s", ready, m), err
	})
	assert.Equal(t, claim, f.hub.Claim(t).UID, "the claim stays")
	assert.Equal(t, pod.UID, f.hub.Pod(t).UID, "the Hub runs on")
	f.fork.revert(t)
	f.flux.reconcileSource(t)
	f.flux.waitReady(t, f.ks, f.fork.head(t))
}

func (f *fluxHub) deletedAndBack(t *testing.T) {
	pod := f.hub.Pod(t)
	kept := f.hub.Append(t, pod, "before the Kustomization is deleted")
	claim := f.hub.Claim(t).UID
	f.flux.delete(t, f.ks)
	f.hub.WaitUndeployed(t)
	assert.Equal(t, claim, f.hub.Claim(t).UID, "the claim stays (prune: disabled)")
	f.hub.NamespaceKept(t) // prune: disabled

	f.ks = f.flux.apply(t, "kind.yaml")
	f.flux.waitReady(t, f.ks, f.fork.head(t))
	pod = f.hub.WaitReady(t)
	f.hub.WaitServing(t, pod)
	assert.Equal(t, kept, f.hub.Journal(t).At(kept.Seq), "back on its data")
	assert.Equal(t, claim, f.hub.Claim(t).UID, "on the same claim")
}

func (f *fluxHub) dev(t *testing.T) {
	ks := f.flux.apply(t, "dev.yaml")
	f.flux.waitReady(t, ks, f.fork.head(t))
	hub := hubIn(overlayRow(t, "dev").Namespace)
	pod := hub.WaitReady(t)
	hub.WaitServing(t, pod)
	assert.Equal(t, f.pinned, hub.Status(t, pod).Version, "the tag the fork pinned for dev")
	f.flux.delete(t, ks)
	hub.WaitUndeployed(t)
}
