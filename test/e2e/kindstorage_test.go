package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/images"
	"github.com/hubkit/hubkit/test/kindstorage"
	"github.com/hubkit/hubkit/test/node"
	"github.com/hubkit/hubkit/test/scenario"
)

// defaultClassAnnotation marks a cluster's default StorageClass.
const defaultClassAnnotation = "storageclass.kubernetes.io/is-default-class"

// useKindStorage gives the cluster kind's default storage for the rest of
// the test, as a kind cluster has it: kind's own manifest
// (test/kindstorage), its StorageClass `standard` the only default (the
// CSI driver's is not, until the test ends), its ConfigMap's node paths
// each real node's LocalPathDir, local-path-provisioner running on the
// host for all of them, and kind's helper image (busybox, built under its
// name) in each node's containerd. Only its Deployment is not applied: the
// provisioner runs on the host with the admin kubeconfig, as the CSI
// sidecars do.
func useKindStorage(t *testing.T, nodes ...*node.Node) {
	t.Helper()
	ctx := context.Background()
	n := nodes[0]
	dir, err := kindstorage.ModuleDir(ctx)
	require.NoError(t, err)
	manifest, err := kindstorage.Manifest(dir)
	require.NoError(t, err)
	objs, err := cluster.Objects(manifest)
	require.NoError(t, err)

	var apply []*unstructured.Unstructured
	var cm corev1.ConfigMap
	var sa string
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment":
			continue // runs on the host instead
		case "ServiceAccount":
			sa = o.GetName()
		case "ConfigMap":
			require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &cm))
			type nodePath struct {
				Node  string   `json:"node"`
				Paths []string `json:"paths"`
			}
			var config struct {
				NodePathMap []nodePath `json:"nodePathMap"`
			}
			require.NoError(t, json.Unmarshal([]byte(cm.Data["config.json"]), &config), "kind's config.json")
			require.NotEmpty(t, config.NodePathMap)
			for i := range config.NodePathMap {
				config.NodePathMap[i].Paths = []string{n.LocalPathDir()} // kind's /var/local-path-provisioner
			}
			for _, other := range nodes[1:] {
				config.NodePathMap = append(config.NodePathMap, nodePath{other.Name(), []string{other.LocalPathDir()}})
			}
			b, err := json.Marshal(config)
			require.NoError(t, err)
			cm.Data["config.json"] = string(b)
			o = o.DeepCopy()
			require.NoError(t, unstructured.SetNestedField(o.Object, string(b), "data", "config.json"))
		}
		apply = append(apply, o)
	}
	require.NotEmpty(t, sa, "kind's manifest has the provisioner's service account")

	// kind's helper image, never pulled: built and imported as kind load does.
	var helper corev1.Pod
	require.NoError(t, yaml.Unmarshal([]byte(cm.Data["helperPod.yaml"]), &helper), "kind's helperPod.yaml")
	require.Len(t, helper.Spec.Containers, 1)
	_, tar, err := buildImage(ctx, images.Busybox(), helper.Spec.Containers[0].Image)
	require.NoError(t, err)
	for _, each := range nodes {
		require.NoError(t, each.Import(ctx, tar), "import kind's helper image into %s", each.Name())
	}

	// One default class: kind's, for the test's duration.
	classes, err := e2e.client.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, c := range classes.Items {
		if c.Annotations[defaultClassAnnotation] == "true" {
			setDefaultClass(t, c.Name, false)
			t.Cleanup(func() { setDefaultClass(t, c.Name, true) })
		}
	}
	// A test before this one may have just deleted them: its namespace
	// must be gone before they are made again.
	for _, o := range apply {
		if o.GetKind() != "Namespace" {
			continue
		}
		scenario.Until(t, "namespace "+o.GetName()+" of an earlier test gone", 3*time.Minute, func(ctx context.Context) (bool, string, error) {
			ns, err := e2e.client.CoreV1().Namespaces().Get(ctx, o.GetName(), metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, "", nil
			}
			if err != nil {
				return false, "", err
			}
			return ns.DeletionTimestamp == nil, fmt.Sprintf("namespace %s %s", ns.Name, ns.Status.Phase), nil
		})
	}
	require.NoError(t, applier(t).Apply(ctx, apply, false))
	t.Cleanup(func() {
		// Gone before the next test looks: a StorageClass deleted in the
		// foreground is served, still the default, until the garbage
		// collector removes it (a CI run's next test saw it). Its
		// namespace's end is waited for where it is made again (above).
		a := applier(t)
		require.NoError(t, a.Delete(context.Background(), apply))
		var clusterWide []*unstructured.Unstructured
		for _, o := range apply {
			if o.GetNamespace() == "" && o.GetKind() != "Namespace" {
				clusterWide = append(clusterWide, o)
			}
		}
		scenario.Until(t, "kind's storage class and roles gone", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
			left, err := a.Remaining(ctx, clusterWide)
			return len(left) == 0, fmt.Sprintf("still there: %v", left), err
		})
	})
	stop, err := n.StartLocalPath(ctx, node.LocalPathOptions{
		Config: []byte(cm.Data["config.json"]), HelperPod: []byte(cm.Data["helperPod.yaml"]),
		Namespace: cm.Namespace, ServiceAccount: sa, ConfigMap: cm.Name,
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, stop()) })
}

func setDefaultClass(t *testing.T, name string, isDefault bool) {
	t.Helper()
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{defaultClassAnnotation: map[bool]string{true: "true", false: "false"}[isDefault]}}})
	require.NoError(t, err)
	_, err = e2e.client.StorageV1().StorageClasses().Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{})
	require.NoError(t, err, "StorageClass %s default=%t", name, isDefault)
}

// localPathVolume is the host directory of a local-path volume: the
// hostPath of its PersistentVolume, on the real node's LocalPathDir.
func localPathVolume(t *testing.T, pv *corev1.PersistentVolume) string {
	t.Helper()
	require.NotNil(t, pv.Spec.HostPath, "volume %s is local-path's hostPath volume", pv.Name)
	require.True(t, strings.HasPrefix(pv.Spec.HostPath.Path, e2e.cluster.Node.LocalPathDir()), "volume %s is on the real node's local-path directory", pv.Name)
	return pv.Spec.HostPath.Path
}
