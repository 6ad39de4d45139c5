package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/pins"
	"github.com/hubkit/hubkit/test/scenario"
)

// Digests the test lists as verified, and one it does not (a changed layer
// gives another digest).
const (
	argoDigest     = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	functionDigest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	changedDigest  = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
)

// The guard's optional verified-images policy (guard/verified-images), on
// the real apiserver: in a namespace labelled for it, Argo CD's repo-server
// with hubkit's sidecar as shipped (images by tag, the function an image
// volume) is refused, and allowed once every image is pinned by a listed
// digest; an image a pod brings later (an update, kubectl debug's
// ephemeral container) is held to the list too, an update that brings none
// is not; a namespace without the label is not governed; without the list,
// a governed namespace admits no pod.
func TestGuardVerifiedImages(t *testing.T) {
	ctx := context.Background()
	installGuardPolicy(t, "verified-images", "hubkit-verified-images")
	ns := governedNamespace(t, "hubkit-verified-images")
	unlist := listVerified(t, "quay.io/argoproj/argocd@"+argoDigest, "ghcr.io/hubkit/singleton@"+functionDigest)
	pods := e2e.client.CoreV1().Pods(ns)

	t.Run("refused: the repo-server sidecar as shipped, its images by tag", func(t *testing.T) {
		err := untilRefused(t, "verified-images", "the shipped sidecar's pod", func(ctx context.Context) error {
			_, err := pods.Create(ctx, sidecarPod(t, "as-shipped", ""), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		})
		assert.Contains(t, err.Error(), "quay.io/argoproj/argocd:v3.2.6, ghcr.io/hubkit/singleton:dev,")
	})

	pinned := sidecarPod(t, "pinned", functionDigest)
	t.Run("allowed: every image pinned by a listed digest, a tag beside the argocd digest", func(t *testing.T) {
		_, err := pods.Create(ctx, pinned, metav1.CreateOptions{})
		require.NoError(t, err)
	})

	t.Run("refused: the function's image volume by a digest not on the list", func(t *testing.T) {
		_, err := pods.Create(ctx, sidecarPod(t, "changed", changedDigest), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		refused(t, err, "verified-images")
		assert.Contains(t, err.Error(), "ghcr.io/hubkit/singleton@"+changedDigest)
	})

	t.Run("refused: an update that brings an unlisted image; allowed: one that brings none", func(t *testing.T) {
		p, err := pods.Get(ctx, pinned.Name, metav1.GetOptions{})
		require.NoError(t, err)
		p.Spec.Containers[0].Image = "quay.io/argoproj/argocd@" + changedDigest
		_, err = pods.Update(ctx, p, metav1.UpdateOptions{})
		refused(t, err, "verified-images")

		p, err = pods.Get(ctx, pinned.Name, metav1.GetOptions{})
		require.NoError(t, err)
		p.Labels = map[string]string{"inspected": "yes"}
		_, err = pods.Update(ctx, p, metav1.UpdateOptions{})
		require.NoError(t, err)
	})

	t.Run("refused: kubectl debug's ephemeral container by tag; allowed: by a listed digest", func(t *testing.T) {
		debug := func(image string) error {
			p, err := pods.Get(ctx, pinned.Name, metav1.GetOptions{})
			require.NoError(t, err)
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debugger-" + string(rune('a'+len(p.Spec.EphemeralContainers))), Image: image, SecurityContext: restrictedContainer()}})
			_, err = pods.UpdateEphemeralContainers(ctx, p.Name, p, metav1.UpdateOptions{})
			return err
		}
		refused(t, debug("quay.io/argoproj/argocd:v3.2.6"), "verified-images")
		require.NoError(t, debug("quay.io/argoproj/argocd@"+argoDigest))
	})

	t.Run("allowed: the shipped sidecar in a namespace without the label", func(t *testing.T) {
		_, err := e2e.client.CoreV1().Pods("default").Create(ctx, sidecarPod(t, "ungoverned", ""), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		require.NoError(t, err)
	})

	t.Run("refused: any pod of a governed namespace once the list is gone", func(t *testing.T) {
		unlist()
		untilDenied(t, "a listed pod without the list", func(ctx context.Context) error {
			_, err := pods.Create(ctx, sidecarPod(t, "no-list", functionDigest), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		})
	})
}

// governedNamespace makes the namespace name, labelled for the
// verified-images policy, for the test.
func governedNamespace(t *testing.T, name string) string {
	t.Helper()
	namespaceWithLabels(t, name, map[string]string{names.VerifiedImagesLabel: names.VerifiedImagesEnforce})
	return name
}

// listVerified writes the cluster's list of verified images, one reference
// per key, for the test; the function it returns deletes the list.
func listVerified(t *testing.T, refs ...string) (unlist func()) {
	t.Helper()
	data := map[string]any{}
	for i, r := range refs {
		data[fmt.Sprintf("image-%d", i)] = r
	}
	list := []*unstructured.Unstructured{{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": names.VerifiedImagesList, "namespace": names.VerifiedImagesNamespace},
		"data":     data,
	}}}
	require.NoError(t, applier(t).Apply(context.Background(), list, false))
	unlist = func() {
		if err := applier(t).Delete(context.Background(), list); !apierrors.IsNotFound(err) {
			assert.NoError(t, err, "delete the list")
		}
	}
	t.Cleanup(unlist)
	return unlist
}

// sidecarPod is a pod of the repo-server's hubkit sidecar as shipped
// (gitops/argocd/repo-server/sidecar.yaml). With a digest, its argocd image
// keeps its tag beside the listed digest and the function's image volume is
// pinned by digest. The pod is gated: no node ever runs it.
func sidecarPod(t *testing.T, name, digest string) *corev1.Pod {
	t.Helper()
	objs := manifests(t, filepath.Join("gitops", "argocd", "repo-server", "sidecar.yaml"))
	require.Len(t, objs, 1)
	var d appsv1.Deployment
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(objs[0].Object, &d))
	spec := d.Spec.Template.Spec
	if digest != "" {
		for i := range spec.Containers {
			spec.Containers[i].Image += "@" + argoDigest
		}
		for i := range spec.Volumes {
			if v := spec.Volumes[i].Image; v != nil {
				repo, _, _ := strings.Cut(v.Reference, ":")
				v.Reference = repo + "@" + digest
			}
		}
	}
	// The volumes Argo CD's own repo-server gives the sidecar's mounts.
	for _, m := range spec.Containers[0].VolumeMounts {
		if !slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name }) {
			spec.Volumes = append(spec.Volumes, corev1.Volume{Name: m.Name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		}
	}
	spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "hubkit.dev/never-scheduled"}}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
}

func restrictedContainer() *corev1.SecurityContext {
	return &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false),
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
}

// untilDenied repeats try until the apiserver refuses it for the
// verified-images binding, as it does once it sees the list gone.
func untilDenied(t *testing.T, what string, try func(context.Context) error) {
	t.Helper()
	var last error
	scenario.Until(t, "the binding to deny "+what, 30*time.Second, func(ctx context.Context) (bool, string, error) {
		last = try(ctx)
		return last != nil, "allowed", nil
	})
	assert.True(t, apierrors.IsInvalid(last) || apierrors.IsForbidden(last), "refused by admission, not %v", last)
	assert.Contains(t, last.Error(), "hubkit-verified-images")
}

// The webhook verifiers' policies hubkit ships
// (guard/verified-images/verifiers) are what their own CRDs accept, at the
// releases pinned: policy-controller's ClusterImagePolicy and Kyverno's
// ImageValidatingPolicy, server-side dry-run with no warning (an unknown field is
// one). Their servers are not run: policy-controller's CRD converts between
// its versions through its webhook, so it is installed here with no
// conversion, which leaves each version's schema as it ships.
func TestImageVerifiersAcceptHubkitsPolicies(t *testing.T) {
	policyController := filepath.Join(moduleDir(t, pins.Get(t, "POLICY_CONTROLLER_MODULE")), "config", "300-clusterimagepolicy.yaml")
	installCRDWithoutConversion(t, policyController)
	installCRD(t, filepath.Join(moduleDir(t, pins.Get(t, "KYVERNO_MODULE")), "config", "crds", "policies.kyverno.io", "policies.kyverno.io_imagevalidatingpolicies.yaml"))
	for file, kind := range map[string]string{"policy-controller.yaml": "ClusterImagePolicy", "kyverno.yaml": "ImageValidatingPolicy"} {
		t.Run(file, func(t *testing.T) {
			objs := manifests(t, filepath.Join("guard", "verified-images", "verifiers", file))
			require.NotEmpty(t, objs)
			for _, o := range objs {
				assert.Equal(t, kind, o.GetKind())
			}
			appliesWithoutWarning(t, objs)
		})
	}
}

// installCRDWithoutConversion installs the CRD at path with its conversion
// strategy None: the webhook it names is not run here.
func installCRDWithoutConversion(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	objs, err := cluster.Objects(raw)
	require.NoError(t, err)
	require.Len(t, objs, 1)
	require.NoError(t, unstructured.SetNestedMap(objs[0].Object, map[string]any{"strategy": "None"}, "spec", "conversion"))
	dir := t.TempDir()
	b, err := sigsyaml.Marshal(objs[0].Object)
	require.NoError(t, err)
	converted := filepath.Join(dir, filepath.Base(path))
	require.NoError(t, os.WriteFile(converted, b, 0o644))
	installCRD(t, converted)
}
