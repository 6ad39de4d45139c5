package e2e

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/postrender"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/utils/ptr"

	"github.com/hubkit/hubkit/test/helmchart"
	"github.com/hubkit/hubkit/test/images"
	"github.com/hubkit/hubkit/test/pins"
	"github.com/hubkit/hubkit/test/scenario"
)

// MinIO's own Helm chart (chart 5.4.0, read at test time from MinIO's Go
// module at tools/pins.mk's MINIO_CHART_MODULE: it is AGPL-3.0, so nothing of
// it is committed) in standalone mode on a ReadWriteOncePod claim, with the
// values a user writes (helm/examples/minio/values.yaml), installed and then
// upgraded by Helm 3's own library (helm.sh/helm/v3/pkg/action, what `helm
// install` and `helm upgrade` run), on the real node, whose CSI driver is
// the cluster's default storage. The MinIO that runs is MinIO's stand-in
// (test/cmd/minio-standin) under the chart's image name.
//
// The upgrade is a new MinIO release, as users upgrade: `helm upgrade -f
// values.yaml --set image.tag=<a later release>`, whose image is the same
// stand-in under the later tag; it changes the pod template, so the
// Deployment rolls out.
//
// Helm alone: the chart's Deployment keeps its default rollout, RollingUpdate
// with maxSurge 100% and maxUnavailable 0, which starts the new pod before it
// stops the old one. On a ReadWriteOncePod claim the scheduler never places
// the new pod while the old one holds the claim, and the Deployment never
// stops the old one: the upgrade never completes. The story asserts that
// state once the scheduler has said so, and takes no time as proof.
//
// With the singleton function as Helm's post-renderer (`--post-renderer
// singleton --post-renderer-args helm/examples/minio/singleton.yaml`), the
// Deployment is Recreate, probed on MinIO's health checks: the old pod
// stops, the new one starts on the same claim, the upgrade completes, and
// MinIO's data (its drive's deployment ID) is the old one's.
func TestMinIOChartUpgrade(t *testing.T) {
	onlyRealNode(t)
	m := loadMinIOChart(t)
	loadImage(t, images.MinIO(), m.image(m.tag))
	loadImage(t, images.MinIO(), m.image(minioNextTag))

	t.Run("Helm alone: the chart's rolling upgrade never completes on its ReadWriteOncePod claim", func(t *testing.T) {
		r := m.release(t, "minio-helm", nil)
		old, id := r.installed(t)
		step(t, "its Deployment rolls out as the chart says: RollingUpdate, maxSurge 100%, maxUnavailable 0", func(t *testing.T) {
			d := r.Deployment(t)
			require.Equal(t, appsv1.RollingUpdateDeploymentStrategyType, d.Spec.Strategy.Type)
			require.NotNil(t, d.Spec.Strategy.RollingUpdate)
			assert.Equal(t, ptr.To(intstr.FromString("100%")), d.Spec.Strategy.RollingUpdate.MaxSurge)
			assert.Equal(t, ptr.To(intstr.FromInt32(0)), d.Spec.Strategy.RollingUpdate.MaxUnavailable)
		})
		var surge *corev1.Pod
		step(t, "helm upgrade to a later MinIO: the scheduler holds the new pod, for the ReadWriteOncePod claim the old one has", func(t *testing.T) {
			r.upgrade(t, minioNextTag)
			surge = r.WaitScheduling(t, old)
			reason := scenario.Unschedulable(surge)
			require.NotEmpty(t, reason, "the premise: without the function the new pod is never scheduled beside the old one; it was, on %q", surge.Spec.NodeName)
			assert.Contains(t, reason, "ReadWriteOncePod", "the scheduler says why")
			assert.Equal(t, m.image(minioNextTag), surge.Spec.Containers[0].Image)
			t.Logf("the scheduler: %s", reason)
		})
		step(t, "the old MinIO serves on and the rollout is stuck: the Deployment never stops the old pod to make room", func(t *testing.T) {
			r.assertServing(t, old)
			d := r.WaitCounted(t, 2)
			assert.EqualValues(t, 1, d.Status.UpdatedReplicas, "the held pod alone is the new version")
			assert.EqualValues(t, 1, d.Status.AvailableReplicas, "the old pod")
			assert.EqualValues(t, 1, d.Status.UnavailableReplicas, "the held pod")
			assert.Less(t, d.Status.UpdatedReplicas, d.Status.Replicas, "kubectl rollout status: old replicas pending termination")
			assert.NotEqual(t, "NewReplicaSetAvailable", progressing(d).Reason, "the rollout did not complete")
			assert.Contains(t, scenario.Unschedulable(r.Pod(t, surge)), "ReadWriteOncePod", "the new pod is still held")
			assert.Equal(t, id, r.driveID(t), "the drive is the old MinIO's, untouched")
		})
	})

	t.Run("the singleton function as Helm's post-renderer: the upgrade is Recreate and completes, on the same data", func(t *testing.T) {
		e2e.fns.OnPath(t)
		post, err := postrender.NewExec("singleton", filepath.Join(e2e.root, "helm", "examples", "minio", "singleton.yaml"))
		require.NoError(t, err)
		r := m.release(t, "minio-helm-singleton", post)
		old, id := r.installed(t)
		step(t, "its Deployment is Recreate, probed on MinIO's health checks", func(t *testing.T) {
			d := r.Deployment(t)
			assert.Equal(t, appsv1.RecreateDeploymentStrategyType, d.Spec.Strategy.Type)
			assert.Nil(t, d.Spec.Strategy.RollingUpdate)
			c := d.Spec.Template.Spec.Containers[0]
			for probe, path := range map[*corev1.Probe]string{c.LivenessProbe: "/minio/health/live", c.ReadinessProbe: "/minio/health/ready"} {
				require.NotNil(t, probe, "probe on %s", path)
				require.NotNil(t, probe.HTTPGet, "probe on %s", path)
				assert.Equal(t, path, probe.HTTPGet.Path)
				assert.Equal(t, intstr.FromString("http"), probe.HTTPGet.Port)
			}
		})
		step(t, "helm upgrade to a later MinIO: the old pod stops, the new one starts on the same claim, the rollout completes", func(t *testing.T) {
			claim := r.Claim(t)
			r.upgrade(t, minioNextTag)
			pod := r.WaitRolledOut(t, m.image(minioNextTag))
			assert.NotEqual(t, old.UID, pod.UID, "a new pod")
			assert.Equal(t, claim.UID, r.Claim(t).UID, "the same claim")
			assert.Equal(t, claim.Spec.VolumeName, r.Claim(t).Spec.VolumeName, "on the same volume")
			logged, how := r.loggedDriveID(t, pod)
			assert.Equal(t, id, logged, "the later MinIO runs on the earlier one's drive")
			assert.Equal(t, "found on the drive", how)
			assert.Equal(t, id, r.driveID(t), "the drive's deployment ID kept")
			r.assertServing(t, pod)
		})
	})
}

// minioNextTag is the later MinIO release the upgrade moves to, a tag of
// MinIO's image after the chart's.
const minioNextTag = "RELEASE.2025-04-22T22-12-26Z"

// step runs one step of a story and stops the story if it failed: each
// step starts where the one before left off.
func step(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

// minioChart is MinIO's chart, loaded, with the values a user gives it and
// its image's repository and tag.
type minioChart struct {
	chart      *chart.Chart
	values     map[string]any
	repository string
	tag        string
}

// loadMinIOChart loads MinIO's chart from its module at its pin, and
// helm/examples/minio/values.yaml, with what this cluster needs changed.
func loadMinIOChart(t *testing.T) *minioChart {
	t.Helper()
	dir, err := helmchart.ModuleChart(context.Background(), pins.Get(t, helmchart.MinIOModulePin), pins.Get(t, helmchart.MinIOPathPin))
	require.NoError(t, err)
	c, err := loader.Load(dir)
	require.NoError(t, err)
	values, err := chartutil.ReadValuesFile(filepath.Join(e2e.root, "helm", "examples", "minio", "values.yaml"))
	require.NoError(t, err)
	// The chart's post-install Job adds its default user through mc and
	// MinIO's admin API, which the stand-in does not stand in for; the
	// story is the server's rollout. (Helm would also wait for the Job.)
	values["users"] = []any{}
	img, err := chartutil.Values(c.Values).Table("image")
	require.NoError(t, err, "the chart's image values")
	return &minioChart{chart: c, values: values, repository: img["repository"].(string), tag: img["tag"].(string)}
}

// image is MinIO's image at tag, as the chart names it.
func (m *minioChart) image(tag string) string { return m.repository + ":" + tag }

// minioRelease is MinIO's chart installed as release minio in a namespace
// of its own, by Helm 3 with post as its post-renderer (nil: none).
type minioRelease struct {
	*scenario.Workload
	chart *minioChart
	cfg   *action.Configuration
	post  postrender.PostRenderer
}

// minioName is the release's name, and so the Deployment's and the
// claim's (the chart's fullname is the release's when it holds the chart's
// name).
const minioName = "minio"

// release makes namespace ns and a Helm configuration for it, from the
// cluster's kubeconfig, keeping releases in Secrets as helm does; when the
// test ends it uninstalls the release and deletes the namespace, and waits
// until both are gone, the claim's volume with them.
func (m *minioChart) release(t *testing.T, ns string, post postrender.PostRenderer) *minioRelease {
	t.Helper()
	ensureNamespace(t, ns)
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace = ptr.To(e2e.cluster.Kubeconfig), ptr.To(ns)
	cfg := new(action.Configuration)
	require.NoError(t, cfg.Init(flags, ns, "secret", t.Logf))
	w := &scenario.Workload{Client: e2e.client, Namespace: ns, Name: minioName, Selector: "app=minio,release=" + minioName, Node: e2e.cluster.Node}
	r := &minioRelease{Workload: w, chart: m, cfg: cfg, post: post}
	t.Cleanup(func() { r.uninstall(t) })
	return r
}

// install is `helm install minio <chart> -n ns -f values.yaml`, without
// --wait: the story watches the rollout itself.
func (r *minioRelease) install(t *testing.T) {
	t.Helper()
	require.NoError(t, r.tryInstall(), "helm install")
}

// installed is a story's first step: helm install, and MinIO serving on a
// fresh ReadWriteOncePod claim. It returns MinIO's pod and its drive's ID.
func (r *minioRelease) installed(t *testing.T) (pod *corev1.Pod, id string) {
	t.Helper()
	step(t, "helm install: MinIO serves, on a fresh ReadWriteOncePod claim", func(t *testing.T) {
		r.install(t)
		pod = r.WaitRolledOut(t, r.chart.image(r.chart.tag))
		id = r.assertFreshDrive(t, pod)
	})
	return pod, id
}

// tryInstall is install, returning what Helm said.
func (r *minioRelease) tryInstall() error {
	in := action.NewInstall(r.cfg)
	in.ReleaseName, in.Namespace, in.PostRenderer, in.Timeout = minioName, r.Namespace, r.post, time.Minute
	_, err := in.Run(r.chart.chart, r.chart.values)
	return err
}

// upgrade is `helm upgrade minio <chart> -n ns -f values.yaml --set
// image.tag=tag`.
func (r *minioRelease) upgrade(t *testing.T, tag string) {
	t.Helper()
	up := action.NewUpgrade(r.cfg)
	up.Namespace, up.PostRenderer, up.Timeout = r.Namespace, r.post, time.Minute
	values := maps.Clone(r.chart.values)
	values["image"] = map[string]any{"tag": tag}
	_, err := up.Run(minioName, r.chart.chart, values)
	require.NoError(t, err, "helm upgrade")
}

// uninstall is `helm uninstall minio`, then the namespace deleted; it waits
// until the namespace and the claim's volume are gone.
func (r *minioRelease) uninstall(t *testing.T) {
	t.Helper()
	if _, err := action.NewUninstall(r.cfg).Run(minioName); err != nil {
		t.Errorf("helm uninstall %s in %s: %v", minioName, r.Namespace, err)
	}
	r.DeleteNamespace(t)
}

// assertFreshDrive wants pod to run on the real node on a bound
// ReadWriteOncePod claim that it formatted, and returns the drive's
// deployment ID.
func (r *minioRelease) assertFreshDrive(t *testing.T, pod *corev1.Pod) string {
	t.Helper()
	assert.Equal(t, e2e.cluster.Node.Name(), pod.Spec.NodeName)
	c := r.Claim(t)
	assert.Equal(t, corev1.ClaimBound, c.Status.Phase)
	assert.Equal(t, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}, c.Spec.AccessModes)
	logged, how := r.loggedDriveID(t, pod)
	assert.Equal(t, "made: a fresh drive", how)
	id := r.driveID(t)
	assert.Equal(t, logged, id, "the drive's format.json holds the ID MinIO made")
	return id
}

// driveID is the deployment ID in the drive's format.json, read on the host
// from the directory of the claim's CSI volume.
func (r *minioRelease) driveID(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.CSIVolumeDir(t), ".minio.sys", "format.json"))
	require.NoError(t, err)
	var f struct{ ID string }
	require.NoError(t, json.Unmarshal(data, &f))
	require.NotEmpty(t, f.ID)
	return f.ID
}

// startLine is the line MinIO's stand-in logs when it serves.
var startLine = regexp.MustCompile(`deployment ID (\S+) \(([^)]*)\)`)

// loggedDriveID is the deployment ID pod's MinIO logged when it started,
// and whether it made it or found it.
func (r *minioRelease) loggedDriveID(t *testing.T, pod *corev1.Pod) (id, how string) {
	t.Helper()
	m := startLine.FindStringSubmatch(r.WaitLog(t, pod, "minio", startLine.MatchString))
	return m[1], m[2]
}

// assertServing wants pod still there, Ready, and answering MinIO's
// readiness check, from this host, which reaches the node's pods.
func (r *minioRelease) assertServing(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	p := r.Pod(t, pod)
	assert.Nil(t, p.DeletionTimestamp, "pod %s is not going", p.Name)
	assert.True(t, scenario.PodReady(p), "pod %s Ready", p.Name)
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + p.Status.PodIP + ":9000/minio/health/ready")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "pod %s answers MinIO's readiness check", p.Name)
}

// progressing is the Deployment's Progressing condition.
func progressing(d *appsv1.Deployment) appsv1.DeploymentCondition {
	i := slices.IndexFunc(d.Status.Conditions, func(c appsv1.DeploymentCondition) bool { return c.Type == appsv1.DeploymentProgressing })
	if i < 0 {
		return appsv1.DeploymentCondition{}
	}
	return d.Status.Conditions[i]
}
