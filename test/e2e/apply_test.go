package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	networkingv1 "k8s.io/api/networking/v1"

	corev1 "k8s.io/api/core/v1"

	"github.com/hubkit/hubkit/internal/contract"
	hubfiles "github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/scenario"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// Applying renders and what they need (volumes, Secrets, CRDs) to the
// shared cluster, and deleting them again.

// applier applies objects to the shared cluster and deletes them
// (test/cluster.Applier).
func applier(t *testing.T) *cluster.Applier {
	t.Helper()
	a, err := e2e.cluster.NewApplier()
	require.NoError(t, err)
	return a
}

// applySecrets makes prod's Secrets as its documentation says: the files
// overlays/prod/secrets reads, filled in, built and applied.
func applySecrets(t *testing.T, ns string, deployment, store []byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "secrets")
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join(e2e.root, "overlays", "prod", "secrets"))))
	for name, body := range map[string][]byte{
		"deployment.json":             deployment,
		hubfiles.CertificateStoreFile: store,
		"git-backup-password":         []byte(e2ePassword),
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), body, 0o600))
	}
	// For a Hub in another namespace (a fleet's site), as its user does.
	runKustomize(t, dir, "edit", "set", "namespace", ns)
	out, err := render.Krusty(dir)
	require.NoError(t, err)
	objs, err := cluster.Objects(out)
	require.NoError(t, err)
	for _, o := range objs {
		require.Equal(t, ns, o.GetNamespace())
	}
	require.NoError(t, applier(t).Apply(context.Background(), objs, false))
}

// createVolumeFor creates a PersistentVolume called name, from source,
// bound ahead to the rendered claim (its size and access modes), and deletes
// it when the test ends.
func createVolumeFor(t *testing.T, claim *unstructured.Unstructured, name string, source corev1.PersistentVolumeSource, affinity *corev1.VolumeNodeAffinity) {
	t.Helper()
	var pvc corev1.PersistentVolumeClaim
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(claim.Object, &pvc))
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: pvc.Spec.Resources.Requests[corev1.ResourceStorage]},
			AccessModes:                   pvc.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        source,
			ClaimRef:                      &corev1.ObjectReference{Namespace: pvc.Namespace, Name: pvc.Name},
			NodeAffinity:                  affinity,
		},
	}
	_, err := e2e.client.CoreV1().PersistentVolumes().Create(context.Background(), pv, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = e2e.client.CoreV1().PersistentVolumes().Delete(context.Background(), pv.Name, metav1.DeleteOptions{})
	})
}

// provide creates what a real cluster provides and kwok does not: a volume
// for the claim (nothing provisions storage) and, for an Ingress, its class.
func provide(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for _, o := range objs {
		switch o.GetKind() {
		case "PersistentVolumeClaim":
			createVolumeFor(t, o, "e2e-"+o.GetNamespace()+"-"+o.GetName(),
				corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/hubkit-e2e/" + o.GetName()}}, nil)
		case "Ingress":
			class, _, err := unstructured.NestedString(o.Object, "spec", "ingressClassName")
			require.NoError(t, err)
			ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: class}, Spec: networkingv1.IngressClassSpec{Controller: "hubkit.dev/e2e"}}
			_, err = e2e.client.NetworkingV1().IngressClasses().Create(ctx, ic, metav1.CreateOptions{})
			if !apierrors.IsAlreadyExists(err) {
				require.NoError(t, err)
			}
		}
	}
}

// deploy applies an overlay for real and waits until the Hub is up.
func deploy(t *testing.T, objs []*unstructured.Unstructured) (*scenario.Hub, *corev1.Pod) {
	t.Helper()
	provide(t, objs)
	require.NoError(t, applier(t).Apply(context.Background(), objs, false))
	hub := hubIn(hubNamespace(t, objs))
	return hub, hub.WaitReady(t)
}

// undeploy deletes what an overlay applied, all but its Namespace, and waits
// until the pod and the claim are gone.
func undeploy(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	_, rest := split(objs)
	require.NoError(t, applier(t).Delete(ctx, rest))
	hubIn(hubNamespace(t, objs)).WaitGone(t)
}

// provideLocal gives each claim a `local` PersistentVolume on the real node
// (node affinity; fsGroup applies to it, unlike hostPath) and returns the
// host directories by claim name.
func provideLocal(t *testing.T, objs []*unstructured.Unstructured) map[string]string {
	t.Helper()
	dirs := map[string]string{}
	for _, o := range objs {
		if o.GetKind() != "PersistentVolumeClaim" {
			continue
		}
		name := fmt.Sprintf("e2e-real-%s-%s-%d", o.GetNamespace(), o.GetName(), time.Now().UnixNano())
		dir, err := e2e.cluster.Node.VolumeDir(name)
		require.NoError(t, err)
		createVolumeFor(t, o, name, corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: dir}},
			&corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{e2e.cluster.Node.Name()}}},
			}}}})
		dirs[o.GetName()] = dir
	}
	return dirs
}

// appliesWithoutWarning server-side applies objs as a dry run and wants no warning: the
// server warns of every field its schema does not know.
func appliesWithoutWarning(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	a := applier(t)
	require.NoError(t, a.Apply(context.Background(), objs, true))
	assert.Empty(t, a.Warnings())
}

// installCRD applies a CRD for real and waits until it is served.
func installCRD(t *testing.T, path string) {
	t.Helper()
	installCRDIn(t, e2e.cluster, path)
}

// installCRDIn is installCRD on cluster c (a fleet's site cluster).
func installCRDIn(t *testing.T, c *cluster.Cluster, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	objs, err := cluster.Objects(raw)
	require.NoError(t, err)
	ctx := context.Background()
	a, err := c.NewApplier()
	require.NoError(t, err)
	require.NoError(t, a.Apply(ctx, objs, false))
	dyn, err := dynamic.NewForConfig(c.Config)
	require.NoError(t, err)
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	for _, o := range objs {
		scenario.Until(t, "CRD "+o.GetName()+" Established", 30*time.Second, func(ctx context.Context) (bool, string, error) {
			u, err := crds.Get(ctx, o.GetName(), metav1.GetOptions{})
			if err != nil {
				return false, "", err
			}
			conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, c := range conditions {
				if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
					return true, "", nil
				}
			}
			return false, fmt.Sprintf("conditions %v", conditions), nil
		})
	}
}

func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	_, err := e2e.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
}

// applyDatabaseSecret makes the Secret prod-ha reads its database's JDBC
// URI from, as overlays/prod-ha/secrets does from jdbc-uri.
func applyDatabaseSecret(t *testing.T, ns, uri string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "secrets")
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join(e2e.root, "overlays", "prod-ha", "secrets"))))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "jdbc-uri"), []byte(uri), 0o600))
	out, err := render.Krusty(dir)
	require.NoError(t, err)
	objs, err := cluster.Objects(out)
	require.NoError(t, err)
	var db []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetName() == contract.HADatabaseSecret {
			db = append(db, o)
		}
	}
	require.Len(t, db, 1, "overlays/prod-ha/secrets makes hbih-db-app")
	db[0].SetNamespace(ns)
	require.NoError(t, applier(t).Apply(context.Background(), db, false))
}
