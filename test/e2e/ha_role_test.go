package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/hubkit/hubkit/internal/names"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/pins"
	"github.com/hubkit/hubkit/test/render"
)

// An HA group on the real apiserver, without running it: prod-ha's render
// and its CloudNativePG database pass server-side dry-run with no warning
// (the Cluster against CloudNativePG v1.28.0's own CRD, which refuses a
// broken one), and the ha-role policy (guard/ha-role) holds the members'
// ServiceAccount, as the sidecar uses it (a token bound to its pod, the
// Role of components/high-availability), to its own pod's role label.
func TestHAGroupOnTheAPIServer(t *testing.T) {
	installCRD(t, filepath.Join(moduleDir(t, pins.Get(t, "CLOUDNATIVE_PG_MODULE")), "config", "crd", "bases", "postgresql.cnpg.io_clusters.yaml"))
	e2e.fns.OnPath(t)
	out, err := render.Krusty(filepath.Join(e2e.root, "overlays", "testdata", "ha-cloudnative-pg"))
	require.NoError(t, err)
	objs, err := cluster.Objects(out)
	require.NoError(t, err)
	namespaces, rest := split(objs)
	ctx := context.Background()
	require.NoError(t, applier(t).Apply(ctx, namespaces, false))

	t.Run("prod-ha with its CloudNativePG Cluster passes server-side dry-run with no warning", func(t *testing.T) {
		appliesWithoutWarning(t, rest)
	})
	t.Run("CloudNativePG's CRD refuses a broken Cluster", func(t *testing.T) {
		for _, o := range rest {
			if o.GetKind() != "Cluster" {
				continue
			}
			broken := o.DeepCopy()
			require.NoError(t, unstructured.SetNestedField(broken.Object, int64(0), "spec", "instances"))
			err := applier(t).Apply(ctx, []*unstructured.Unstructured{broken}, true)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "spec.instances")
			return
		}
		t.Fatal("no Cluster rendered")
	})
	t.Run("the ha-role policy holds the labeler to its own pod's role label", func(t *testing.T) { testHARolePolicy(t, rest) })
}

func testHARolePolicy(t *testing.T, rendered []*unstructured.Unstructured) {
	ctx := context.Background()
	installHARolePolicy(t)

	// The members' ServiceAccount and the component's Role, in a namespace of their own.
	const ns = "hubkit-ha-role-e2e"
	ensureNamespace(t, ns)
	t.Cleanup(func() { _ = e2e.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	var rbac []*unstructured.Unstructured
	for _, o := range rendered {
		if o.GetKind() == "Role" || o.GetKind() == "RoleBinding" {
			o = o.DeepCopy()
			o.SetNamespace(ns)
			if subjects, ok, _ := unstructured.NestedSlice(o.Object, "subjects"); ok {
				for _, s := range subjects {
					s.(map[string]any)["namespace"] = ns // the overlay's, as kustomize wrote it
				}
				require.NoError(t, unstructured.SetNestedSlice(o.Object, subjects, "subjects"))
			}
			rbac = append(rbac, o)
		}
	}
	require.Len(t, rbac, 2)
	_, err := e2e.client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "hbih"}, AutomountServiceAccountToken: ptr.To(false)}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, applier(t).Apply(ctx, rbac, false))
	pods := map[string]*corev1.Pod{}
	for _, name := range []string{"hbih-0", "hbih-1"} {
		spec := restrictedPod("hub")
		spec.ServiceAccountName = "hbih"
		spec.AutomountServiceAccountToken = ptr.To(false)
		spec.NodeSelector = map[string]string{"hubkit.dev/no-such-node": "true"} // never runs
		p, err := e2e.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/name": "intelligence-hub", names.HARoleLabel: "secondary"}},
			Spec:       spec,
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		pods[name] = p
	}

	// A client with the ServiceAccount's token, bound to pod hbih-0 as the
	// sidecar's projected token is, and one with a token bound to nothing.
	asMember := func(bound *corev1.Pod) kubernetes.Interface {
		req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}
		if bound != nil {
			req.Spec.BoundObjectRef = &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: bound.Name, UID: bound.UID}
		}
		tok, err := e2e.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "hbih", req, metav1.CreateOptions{})
		require.NoError(t, err)
		cfg := rest.AnonymousClientConfig(e2e.cluster.Config)
		cfg.BearerToken = tok.Status.Token
		c, err := kubernetes.NewForConfig(cfg)
		require.NoError(t, err)
		return c
	}
	member0, unbound := asMember(pods["hbih-0"]), asMember(nil)
	patch := func(c kubernetes.Interface, pod string, metadata map[string]any) error {
		body, err := json.Marshal(map[string]any{"metadata": metadata})
		require.NoError(t, err)
		_, err = c.CoreV1().Pods(ns).Patch(ctx, pod, types.MergePatchType, body, metav1.PatchOptions{})
		return err
	}
	role := func(r string) map[string]any {
		return map[string]any{"labels": map[string]string{names.HARoleLabel: r}}
	}

	last := untilRefused(t, "ha-role", "hbih-0's labeler labelling hbih-1", func(context.Context) error {
		return patch(member0, "hbih-1", role("primary"))
	})
	assert.Contains(t, last.Error(), "may label only its own pod primary (another member only secondary), and is pod hbih-0")
	require.NoError(t, patch(member0, "hbih-1", role("secondary")), "another member secondary: what a new primary's labeler does first")

	require.NoError(t, patch(member0, "hbih-0", role("primary")), "its own pod's role label")
	p, err := e2e.client.CoreV1().Pods(ns).Get(ctx, "hbih-0", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "primary", p.Labels[names.HARoleLabel])
	require.NoError(t, patch(member0, "hbih-0", role("secondary")), "and back")

	for _, tc := range []struct {
		name     string
		client   kubernetes.Interface
		pod      string
		metadata map[string]any
		want     string
	}{
		{"another label", member0, "hbih-0", map[string]any{"labels": map[string]string{"app.kubernetes.io/name": "other"}}, "may change only the label hubkit.dev/ha-role"},
		{"an annotation", member0, "hbih-0", map[string]any{"annotations": map[string]string{"x": "y"}}, "may change only the label hubkit.dev/ha-role"},
		{"a role that is none", member0, "hbih-0", role("boss"), "must stay primary or secondary"},
		{"the label removed", member0, "hbih-0", map[string]any{"labels": map[string]any{names.HARoleLabel: nil}}, "must stay primary or secondary"},
		{"a token bound to no pod", unbound, "hbih-0", role("primary"), "with a token bound to it"},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			err := patch(tc.client, tc.pod, tc.metadata)
			refused(t, err, "ha-role")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("RBAC: a pod that is no member is not the labeler's to patch", func(t *testing.T) {
		err := patch(member0, "other", role("primary"))
		require.Error(t, err)
		assert.True(t, apierrors.IsForbidden(err), "%v", err)
		assert.NotContains(t, err.Error(), "Refused by hubkit-ha-role", "RBAC refuses it before the policy")
	})
	t.Run("allowed: anyone else, an administrator say, is not matched", func(t *testing.T) {
		require.NoError(t, patch(e2e.client, "hbih-0", map[string]any{"annotations": map[string]string{"checked-by": "admin"}}))
	})
}
