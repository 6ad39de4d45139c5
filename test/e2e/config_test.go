package e2e

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/names"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/hubkit/hubkit/internal/contract"
	hubfiles "github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/overlays"
	"github.com/hubkit/hubkit/test/csidriver"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/hubkit/hubkit/test/standin"
)

// Credentials the test puts in prod's Secrets; no log may show them.
const (
	e2eToken    = "e2e-token-never-logged"
	e2ePassword = "e2e-password-never-logged"
)

// prod on the real node, on the storage a cluster has: its claim
// provisioned by a CSI driver (hubkit's test driver, the cluster's default
// StorageClass), ReadWriteOncePod enforced by the scheduler and, on the
// node, by the kubelet and the driver, the volume lost and restored from a
// snapshot by the README's runbook, the claim grown by a change in Git
// while the Hub runs; and the Hub's settings managed from Git, its project from a
// deployment file and its certificate store from Secrets, Git Backup's
// password from a Secret; with the stand-in, taught the Hub's documented
// contract, in place of the Hub. prod runs here as it renders, but for its
// image (the stand-in's, under a tag, where prod pins a digest) and its CPU
// request (the real node has two cores). The fixture (deployProd) is prod
// applied as a user applies it, its Hub Ready; each step then starts where
// the one before left it.
func TestProdOnTheRealNode(t *testing.T) {
	requireRealNode(t)
	fx := deployProd(t)
	t.Run("the claim is provisioned by the cluster's CSI driver, on the Hub's node, at prod's size", fx.testProdClaimProvisioned)
	t.Run("a fresh claim: settings from Git, the certificate store from its Secret, the image's defaults, all as the Hub's uid", fx.testProdFreshClaim)
	t.Run("the project from the deployment file, mounted read-only", fx.testProdDeploymentFile)
	t.Run("managed: a change made in the UI lasts until the next start, then Git's settings are back", fx.testProdManagedUIChange)
	t.Run("managed: a settings change in Git reaches the Hub after one rollout", fx.testProdManagedGitChange)
	t.Run("an invalid deployment file stops the start, as it stops the Hub's", fx.testProdInvalidDeploymentFile)
	t.Run("ReadWriteOncePod holds: a second pod on the claim is never scheduled while the Hub runs", fx.testProdSecondWriterUnscheduled)
	t.Run("ReadWriteOncePod holds on the node too: a second pod placed there, past the scheduler, is refused its mount by the kubelet, and by the CSI driver", fx.testProdSecondWriterOnNode)
	t.Run("volume lost: the README's runbook makes the claim again from a snapshot, every entry from before it back and none from after", fx.testProdVolumeLost)
	t.Run("upgrade rolled back: the old version refuses the new version's appData, and the README's runbook brings it back on its own data from the snapshot", fx.testProdUpgradeRolledBack)
	t.Run("growing the claim: prod's size raised in Git and applied, the volume grows while the Hub runs on, its data kept", fx.testProdClaimGrown)
	t.Run("kubectl hubkit: the runbooks as commands, each run as the roles its docs list allow, the guard installed", fx.testPlugin)
	t.Run("no credential is ever logged", fx.testProdNoCredentialLogged)
}

// prodFixture is prod on the real node, as TestProdOnTheRealNode's steps
// find and leave it.
type prodFixture struct {
	prod        overlays.Overlay // its row
	hub         *scenario.Hub
	pod         *corev1.Pod // the Hub's pod, as the last step left it
	objs        []*unstructured.Unstructured
	git         prodInGit // what the steps changed in Git so far
	gitSettings []byte    // the settings file prod has in Git
	store       []byte    // the certificate store in its Secret
	deployment  []byte    // the deployment file in its Secret
	volume      *corev1.PersistentVolume
	provisioned time.Duration // the claim's apply to Bound
}

// deployProd renders prod for the real node, applies its Secrets and then
// the render, and waits for the Hub; everything is deleted when the test
// ends.
func deployProd(t *testing.T) *prodFixture {
	onlyRealNode(t)
	ctx := context.Background()
	prod := overlayRow(t, "prod")
	objs := renderProdForRealNode(t, prodInGit{})
	loadStandin(t, hubImage(t, objs))

	store := make([]byte, 64)
	_, err := rand.Read(store)
	require.NoError(t, err)
	deployment := exampleDeployment(t)
	namespaces, _ := split(objs)
	require.NoError(t, applier(t).Apply(ctx, namespaces, false))
	applySecrets(t, prod.Namespace, deployment, store)
	t.Cleanup(func() {
		for _, name := range []string{contract.DeploymentSecret, contract.CertificateStoreSecret, contract.GitBackupSecret} {
			assert.NoError(t, e2e.client.CoreV1().Secrets(prod.Namespace).Delete(context.Background(), name, metav1.DeleteOptions{}))
		}
	})

	hub := hubIn(prod.Namespace)
	applied := time.Now()
	require.NoError(t, applier(t).Apply(ctx, objs, false))
	t.Cleanup(func() { undeploy(t, objs) })
	volume := hub.WaitBound(t)
	provisioned := time.Since(applied)
	pod := hub.WaitReady(t)
	hub.AppData = hub.CSIVolumeDir(t)
	gitSettings := readRepoFile(t, "overlays", "prod", "settings", hubfiles.SettingsFile)

	return &prodFixture{prod: prod, hub: hub, pod: pod, objs: objs, gitSettings: gitSettings, store: store, deployment: deployment, volume: volume, provisioned: provisioned}
}

func (fx *prodFixture) testProdClaimProvisioned(t *testing.T) {
	require.NotNil(t, fx.volume.Spec.CSI, "a CSI volume, no static PersistentVolume")
	assert.Equal(t, csidriver.DriverName, fx.volume.Spec.CSI.Driver)
	assert.Equal(t, "hubkit-csi", fx.volume.Spec.StorageClassName, "the cluster's default class")
	assert.Equal(t, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}, fx.volume.Spec.AccessModes)
	assert.Equal(t, fx.prod.Storage, fx.volume.Spec.Capacity.Storage().String())
	require.NotNil(t, fx.volume.Spec.NodeAffinity, "the volume lives on its node")
	assert.Equal(t, []corev1.NodeSelectorRequirement{{Key: csidriver.TopologyKey, Operator: corev1.NodeSelectorOpIn, Values: []string{e2e.cluster.Node.Name()}}},
		fx.volume.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions)
	assert.Equal(t, e2e.cluster.Node.Name(), fx.pod.Spec.NodeName)
	assertVolumeLimit(t, fx.hub, fx.prod.Storage)
	t.Logf("claim applied to Bound (scheduled, then provisioned): %s", fx.provisioned.Round(time.Millisecond))
	writeFigure(t, "csi-provision", fmt.Sprintf("prod's claim on the CSI driver: applied to Bound in %s (WaitForFirstConsumer: the Hub's pod scheduled, then the volume provisioned)",
		fx.provisioned.Round(time.Millisecond)))
}

func (fx *prodFixture) testProdFreshClaim(t *testing.T) {
	st := fx.hub.Status(t, fx.pod)
	assert.Equal(t, filepath.Join(hubfiles.AppData, hubfiles.SettingsFile), st.Loaded.SettingsFile)
	assert.Equal(t, standin.Digest(fx.gitSettings), st.Loaded.SettingsSHA256, "the Hub read Git's settings")
	assert.Equal(t, standin.Digest(fx.store), st.Loaded.CertificateStoreSHA256, "the Hub read the Secret's certificate store")
	assert.False(t, st.Loaded.CertificateStoreCreated, "it did not have to make one")
	for _, f := range []string{hubfiles.SettingsFile, hubfiles.CertificateStoreFile, "intelligencehub-systemvariables.json.template"} {
		var fi syscall.Stat_t
		require.NoError(t, syscall.Stat(filepath.Join(fx.hub.AppData, f), &fi), "%s is in the claim", f)
		assert.EqualValues(t, hubfiles.UID, fi.Uid, "%s was written as the Hub's uid", f)
	}
	require.NotEmpty(t, fx.pod.Status.InitContainerStatuses, "prod's init containers prepared the claim")
	for _, s := range fx.pod.Status.InitContainerStatuses {
		require.NotNil(t, s.State.Terminated, s.Name)
		assert.Zero(t, s.State.Terminated.ExitCode, "init container %s", s.Name)
	}
}

func (fx *prodFixture) testProdDeploymentFile(t *testing.T) {
	st := fx.hub.Status(t, fx.pod)
	assert.Equal(t, "/hubkit/deployment/deployment.json", st.Loaded.DeploymentFile)
	assert.Equal(t, standin.Digest(fx.deployment), st.Loaded.DeploymentSHA256)
	assert.Equal(t, 1, st.Loaded.DeploymentRepos)
	assert.Equal(t, 1, st.Loaded.DeploymentFragments)
	assert.True(t, mountHas(t, fx.hub.PID(t, fx.pod), "/hubkit/deployment", "ro"), "the Secret is mounted read-only")
}

func (fx *prodFixture) testProdManagedUIChange(t *testing.T) {
	ui := []byte(`{"directories": {"appData": "/usr/local/highbyte/appData"}, "settings": {"changed": "in the UI"}}`)
	fx.hub.PutSettings(t, fx.pod, ui)
	b, err := os.ReadFile(filepath.Join(fx.hub.AppData, hubfiles.SettingsFile))
	require.NoError(t, err)
	require.Equal(t, string(ui), string(b), "the Hub wrote the change back to appData")
	fx.pod = restartHub(t, fx.hub, fx.pod)
	assert.Equal(t, standin.Digest(fx.gitSettings), fx.hub.Status(t, fx.pod).Loaded.SettingsSHA256)
}

func (fx *prodFixture) testProdManagedGitChange(t *testing.T) {
	ctx := context.Background()
	changed := []byte(`{"directories": {"appData": "/usr/local/highbyte/appData"}, "settings": {"changed": "in Git"}}`)
	fx.git.settings = changed
	next := renderProdForRealNode(t, fx.git)
	pw := fx.hub.Watch(t)
	require.NoError(t, applier(t).Apply(ctx, next, false))
	fx.pod = fx.hub.WaitReplaced(t, fx.pod)
	assert.Equal(t, standin.Digest(changed), fx.hub.Status(t, fx.pod).Loaded.SettingsSHA256, "the new settings, from the new ConfigMap")
	pw.SawRunning(t, fx.pod)
	assert.Equal(t, 1, pw.MostRunning(), "one rollout, never two Hubs; events: %s", pw.Events())
	fx.objs = next
}

func (fx *prodFixture) testProdInvalidDeploymentFile(t *testing.T) {
	applySecrets(t, fx.prod.Namespace, []byte(`{"version": 0, "fragments": `), fx.store)
	fx.hub.DeletePod(t, fx.pod)
	broken := waitStartRefused(t, fx.hub, fx.pod, "the invalid deployment file", hubfiles.DeploymentFileEnv)

	applySecrets(t, fx.prod.Namespace, fx.deployment, fx.store)
	fx.hub.DeletePod(t, broken)
	fx.pod = fx.hub.WaitReady(t)
	assert.Equal(t, standin.Digest(fx.deployment), fx.hub.Status(t, fx.pod).Loaded.DeploymentSHA256, "back once the file is fixed")
}

func (fx *prodFixture) testProdSecondWriterUnscheduled(t *testing.T) {
	assertSecondWriterUnscheduled(t, fx.pod)
}

func (fx *prodFixture) testProdSecondWriterOnNode(t *testing.T) {
	ctx := context.Background()
	fx.pod = fx.hub.Pod(t)
	before := fx.hub.Append(t, fx.pod, "before a second pod on the node")
	second := secondWriter(fx.pod, "second-writer-on-node")
	second.Spec.NodeName = fx.pod.Spec.NodeName // no scheduler: the kubelet takes it as it is
	second = fx.hub.CreatePod(t, second)
	// The kubelet refuses it first, from what it has mounted (Kubernetes
	// 1.36's operation generator, for a volume whose only access mode
	// is ReadWriteOncePod), and never asks the driver.
	volume := fx.hub.Volume(t)
	e := fx.hub.WaitPodEvent(t, second.Name, "FailedMount", volume.Name, "ReadWriteOncePod", "already in use by another pod")
	t.Logf("the kubelet: %s", e.Message)
	// The driver refuses too when asked, as a kubelet that lost track of
	// the Hub's mount would ask it: the pod's path for the volume, as
	// SINGLE_NODE_SINGLE_WRITER, FAILED_PRECONDITION naming the Hub
	// pod's path, which has it.
	err := e2e.cluster.Node.CSIPublish(ctx, volume, string(second.UID))
	require.Equal(t, codes.FailedPrecondition, status.Code(err), "%v", err)
	msg := status.Convert(err).Message()
	assert.Contains(t, msg, "SINGLE_NODE_SINGLE_WRITER")
	assert.Contains(t, msg, string(fx.pod.UID), "it names the Hub pod's path")
	t.Logf("the driver: %s", msg)

	assert.Equal(t, corev1.PodPending, fx.hub.GetPod(t, second.Name).Status.Phase, "its container never started")
	assert.Empty(t, fx.hub.Refusals(t), "no second process ever opened the Hub's data")
	assert.Equal(t, before, fx.hub.Journal(t).At(before.Seq))
	fx.hub.WaitServing(t, fx.pod)
}

func (fx *prodFixture) testProdVolumeLost(t *testing.T) {
	testVolumeLost(t, fx.hub, byKubectl, fx.git.settingsOr(fx.gitSettings))
}

func (fx *prodFixture) testProdUpgradeRolledBack(t *testing.T) {
	ctx := context.Background()
	testUpgradeRolledBack(t, fx.hub, byKubectl, func(tag string) {
		next := fx.git
		next.tag = tag
		fx.objs = renderProdForRealNode(t, next)
		require.NoError(t, applier(t).Apply(ctx, fx.objs, false))
	})
}

func (fx *prodFixture) testProdClaimGrown(t *testing.T) {
	ctx := context.Background()
	fx.pod = fx.hub.Pod(t)
	before := fx.hub.Append(t, fx.pod, "before the claim grows")
	restarts := fx.pod.Status.ContainerStatuses[0].RestartCount
	fx.git.storage = "60Gi"
	next := renderProdForRealNode(t, fx.git)
	start := time.Now()
	require.NoError(t, applier(t).Apply(ctx, next, false))
	fx.objs = next
	claim := fx.hub.WaitCapacity(t, resource.MustParse(fx.git.storage))
	grown := time.Since(start)
	assert.Equal(t, fx.git.storage, claim.Status.Capacity.Storage().String())
	assert.Equal(t, fx.git.storage, fx.hub.Volume(t).Spec.Capacity.Storage().String(), "the volume")
	assertVolumeLimit(t, fx.hub, fx.git.storage)
	now := fx.hub.Pod(t)
	assert.Equal(t, fx.pod.UID, now.UID, "the same pod: the volume grew online")
	assert.Equal(t, restarts, now.Status.ContainerStatuses[0].RestartCount, "the Hub was not restarted")
	after := fx.hub.Append(t, now, "after the claim grew")
	journal := fx.hub.Journal(t)
	assert.Equal(t, before, journal.At(before.Seq), "the data is kept")
	assert.Equal(t, after, journal.At(after.Seq))
	t.Logf("claim grown from %s to %s in %s", fx.prod.Storage, fx.git.storage, grown.Round(time.Millisecond))
	writeFigure(t, "csi-expansion", fmt.Sprintf("prod's claim grown online from %s to %s: applied to the claim's status capacity in %s (external-resizer, ControllerExpandVolume; no node step)",
		fx.prod.Storage, fx.git.storage, grown.Round(time.Millisecond)))

	// A bound claim only grows: a smaller size in Git is refused.
	smaller := fx.git
	smaller.storage = fx.prod.Storage
	err := applier(t).Apply(ctx, renderProdForRealNode(t, smaller), false)
	require.Error(t, err, "a claim never shrinks")
	assert.Contains(t, err.Error(), "spec.resources.requests.storage")
	t.Logf("the API server, asked to shrink it: %v", err)
}

func (fx *prodFixture) testProdNoCredentialLogged(t *testing.T) {
	fx.pod = fx.hub.Pod(t)
	var logs strings.Builder
	for _, c := range append(fx.pod.Spec.InitContainers, fx.pod.Spec.Containers...) {
		logs.WriteString(fx.hub.Logs(fx.pod, c.Name, false))
	}
	require.NotEmpty(t, logs.String())
	assert.NotContains(t, logs.String(), e2eToken)
	assert.NotContains(t, logs.String(), e2ePassword)
	assert.NotContains(t, logs.String(), hex.EncodeToString(fx.store))
}

// assertVolumeLimit wants the capacity the node's disk enforces for the
// Hub's CSI volume, its btrfs qgroup limit read on the host, to be size (a
// Kubernetes quantity): df in the pod shows the whole disk.
func assertVolumeLimit(t *testing.T, hub *scenario.Hub, size string) {
	t.Helper()
	_, limit, err := e2e.cluster.Node.CSIVolumeUsage(context.Background(), hub.Volume(t).Spec.CSI.VolumeHandle)
	require.NoError(t, err)
	want := resource.MustParse(size)
	assert.Equal(t, want.Value(), limit, "the volume's qgroup limit is %s", size)
}

// The kind overlay's settings are seeded: on a fresh claim they are Git's,
// and a change the Hub itself wrote survives a restart; the image's
// defaults, once copied, are never copied over. (TestRealNode deploys kind
// on a fresh claim first.)
func (r *realHub) seededSettings(t *testing.T) {
	hub := r.hub
	pod := hub.Pod(t)
	gitSettings := readRepoFile(t, "overlays", "kind", "settings", hubfiles.SettingsFile)
	st := hub.Status(t, pod)
	assert.Equal(t, standin.Digest(gitSettings), st.Loaded.SettingsSHA256, "a fresh claim got Git's settings, not the image's default")
	assert.True(t, st.Loaded.CertificateStoreCreated, "without a certificate store from a Secret, the Hub made its own")
	template := filepath.Join(hub.AppData, "intelligencehub-systemvariables.json.template")
	require.FileExists(t, template, "the image's defaults were copied into the claim")
	require.NoError(t, os.WriteFile(template, []byte("[]\n"), 0o640))

	ui := []byte(`{"directories": {"appData": "/usr/local/highbyte/appData"}, "settings": {"changed": "in the UI"}}`)
	hub.PutSettings(t, pod, ui)
	pod = restartHub(t, hub, pod)
	assert.Equal(t, standin.Digest(ui), hub.Status(t, pod).Loaded.SettingsSHA256, "the Hub's own change survived the restart")
	b, err := os.ReadFile(template)
	require.NoError(t, err)
	assert.Equal(t, "[]\n", string(b), "the image's defaults never overwrite the claim's files")
}

// prodInGit is what a scenario changed in prod's folder, as a user's
// commit would: its settings file, its claim's size (storage-50gi.yaml's
// value). A zero field is prod's own.
type prodInGit struct {
	settings []byte
	storage  string
	tag      string // the Hub's image tag; "": prodTag
}

// prodImage is the stand-in's name as prod runs it on the real node;
// prodTag its tag, the overlay's Hub version; nextTag a later version's
// (images.StandinNext).
const (
	prodImage = "docker.io/library/highbyte"
	prodTag   = "prod-e2e"
	nextTag   = "prod-e2e-next"
)

// settingsOr is the settings file in Git: the changed one, or prod's own.
func (git prodInGit) settingsOr(prod []byte) []byte {
	if git.settings != nil {
		return git.settings
	}
	return prod
}

// renderProdForRealNode is prod's render for the real node (realNodeRender)
// with git's changes to prod: its claim's size, its settings file.
func renderProdForRealNode(t *testing.T, git prodInGit) []*unstructured.Unstructured {
	t.Helper()
	return realNodeRender(t, "prod", "Deployment", cmp.Or(git.tag, prodTag), func(dir string, k *types.Kustomization) {
		if git.storage != "" {
			k.Patches = append(k.Patches, types.Patch{Patch: fmt.Sprintf(
				"{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: %s}, spec: {resources: {requests: {storage: %s}}}}", names.AppDataClaim, git.storage)})
		}
		if git.settings != nil {
			require.NoError(t, os.WriteFile(filepath.Join(dir, hubfiles.SettingsFile), git.settings, 0o644))
			k.ConfigMapGenerator = append(k.ConfigMapGenerator, types.ConfigMapArgs{GeneratorArgs: types.GeneratorArgs{
				Name: contract.SettingsConfigMap, Behavior: "replace", KvPairSources: types.KvPairSources{FileSources: []string{hubfiles.SettingsFile}}}})
		}
	})
}

// restartHub deletes the Hub's pod, as a node drain or an eviction does,
// and returns its replacement once it serves.
func restartHub(t *testing.T, hub *scenario.Hub, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	hub.DeletePod(t, pod)
	return hub.WaitReplaced(t, pod)
}
