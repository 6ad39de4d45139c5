package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/gitops"
	"github.com/hubkit/hubkit/test/pins"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/scenario"
)

// The GitOps controllers, a harness file: a user's fork of hubkit served
// on loopback, and Argo CD and Flux, built from their modules by make
// tools, installed as a user installs them (their CRDs and configuration
// from their modules, hubkit's gitops/ files as shipped with only the
// repository URL and the destination changed) and run out of cluster. A
// test starts the controller it needs; both stop when it ends, or with the
// cluster if the run is interrupted first.

var (
	applications   = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	kustomizations = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
	gitRepos       = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
)

// userFork is a user's fork of hubkit, served over Git's smart HTTP on
// loopback, with the commit every user of the real node makes first: each
// overlay's Hub image pinned to the stand-in at tag (kustomize edit set
// image, as the README says to pin the Hub's version), a patch of its own
// that the real node needs (never pulled: the image is imported; a CPU
// request it can give), and deploy/ hydrated again for Flux, as make
// hydrate does.
func userFork(t *testing.T, tag string, overlayNames ...string) fork {
	t.Helper()
	ctx := context.Background()
	served, err := gitops.ServeFork(ctx, filepath.Join(e2e.root, "build", "gitops"), e2e.root)
	require.NoError(t, err, "serve a fork of hubkit on loopback")
	t.Cleanup(func() { assert.NoError(t, served.Stop()) })
	files := map[string][]byte{}
	for _, o := range overlayNames {
		for path, body := range pinnedForRealNode(t, served, o, tag) {
			files[path] = body
		}
	}
	f := fork{served}
	f.commit(t, "Pin the Hub's image for the real node", files)
	return f
}

// fork is the user's fork, for a test: a commit that fails fails the test.
type fork struct{ *gitops.Fork }

// commit commits files (nil: removed) and pushes; it returns the commit.
func (f fork) commit(t *testing.T, message string, files map[string][]byte) string {
	t.Helper()
	rev, err := f.Commit(context.Background(), message, files)
	require.NoError(t, err)
	return rev
}

// revert reverts the last commit and pushes; it returns the new commit.
func (f fork) revert(t *testing.T) string {
	t.Helper()
	rev, err := f.Revert(context.Background())
	require.NoError(t, err)
	return rev
}

// head is the commit the branch is at.
func (f fork) head(t *testing.T) string {
	t.Helper()
	rev, err := f.Head(context.Background())
	require.NoError(t, err)
	return rev
}

// setTag is an upgrade (or its rollback) as a commit: the Hub's tag in
// overlay's kustomization, and deploy/ hydrated again.
func (f fork) setTag(t *testing.T, overlay, tag string) string {
	t.Helper()
	runKustomize(t, filepath.Join(f.Work, "overlays", overlay), pinImage(tag)...)
	return f.commit(t, "The Hub at "+tag, hydrated(t, f.Fork, overlay))
}

// overlayFiles are overlay's files in the working clone, as edited, and
// its render hydrated again, for a commit.
func (f fork) overlayFiles(t *testing.T, overlay string) map[string][]byte {
	t.Helper()
	return hydrated(t, f.Fork, overlay)
}

// pinnedForRealNode is what pinning overlay's image to tag changes in the
// fork: its kustomization (the image, and a patch file of its own), the
// patch, and its hydrated render.
func pinnedForRealNode(t *testing.T, fork *gitops.Fork, overlay, tag string) map[string][]byte {
	t.Helper()
	dir := filepath.Join(fork.Work, "overlays", overlay)
	var kind string
	var containers, initContainers []string
	for _, o := range rendered(t, overlay) {
		if (o.GetKind() != "Deployment" && o.GetKind() != "StatefulSet") || o.GetName() != names.Hub {
			continue
		}
		kind = o.GetKind()
		for list, into := range map[string]*[]string{"containers": &containers, "initContainers": &initContainers} {
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", list)
			for _, c := range cs {
				*into = append(*into, c.(map[string]any)["name"].(string))
			}
		}
	}
	require.NotEmpty(t, kind, "overlays/%s renders the Hub's workload", overlay)
	var patch strings.Builder
	fmt.Fprintf(&patch, "# The real node imports the Hub's image and never pulls; it gives the Hub 100m of CPU.\n"+
		"apiVersion: apps/v1\nkind: %s\nmetadata:\n  name: %s\nspec:\n  template:\n    spec:\n", kind, names.Hub)
	for _, l := range []struct {
		name string
		cs   []string
	}{{"initContainers", initContainers}, {"containers", containers}} {
		if len(l.cs) == 0 {
			continue
		}
		fmt.Fprintf(&patch, "      %s:\n", l.name)
		for _, c := range l.cs {
			fmt.Fprintf(&patch, "      - name: %s\n        imagePullPolicy: IfNotPresent\n", c)
			if c == names.HubContainer {
				patch.WriteString("        resources:\n          requests:\n            cpu: 100m\n")
			}
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "real-node.yaml"), []byte(patch.String()), 0o644))
	for _, args := range [][]string{
		pinImage(tag),
		{"edit", "add", "patch", "--path", "real-node.yaml"},
	} {
		runKustomize(t, dir, args...)
	}
	return hydrated(t, fork, overlay)
}

// hydrated is overlay's files as they are in the fork's working clone
// (the kustomization, its patches), and its render written to
// deploy/<overlay>/hub.yaml, as make hydrate writes it.
func hydrated(t *testing.T, fork *gitops.Fork, overlay string) map[string][]byte {
	t.Helper()
	dir := filepath.Join(fork.Work, "overlays", overlay)
	e2e.fns.OnPath(t)
	out, err := render.Krusty(dir)
	require.NoError(t, err, "render the fork's %s", overlay)
	files := map[string][]byte{filepath.Join("deploy", overlay, "hub.yaml"): out}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			files[filepath.Join("overlays", overlay, e.Name())] = b
		}
	}
	return files
}

// pinImage is the kustomize edit that pins the Hub's image to the stand-in
// at tag: under the base's name, and under prod's registry name, as
// prod-ha sees it after prod's own images entry.
func pinImage(tag string) []string {
	return []string{"edit", "set", "image", prodImage + "=" + prodImage + ":" + tag,
		"registry.example.com/highbyte/intelligence-hub=" + prodImage + ":" + tag}
}

func runKustomize(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(e2eTool(t, "kustomize"), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "kustomize %s: %s", strings.Join(args, " "), out)
}

// runKustomizeOut runs the pinned kustomize and returns its output.
func runKustomizeOut(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	var stderr strings.Builder
	cmd := exec.Command(e2eTool(t, "kustomize"), args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// e2eTool is a tool make tools installs into bin/.
func e2eTool(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(e2e.root, "bin", name)
	_, err := os.Stat(p)
	require.NoError(t, err, "%s: run make tools, which builds it", p)
	return p
}

// argoCD is Argo CD running against the cluster.
type argoCD struct {
	*gitops.ArgoCD
	fork fork
	apps dynamic.ResourceInterface
}

// startArgoCD installs Argo CD as its install.yaml does, but for its
// workloads, which run out of cluster here (its application controller,
// repo-server and hubkit's plugin server, gitops/argocd/plugin.yaml as
// shipped), with the cluster Secret that names the API server's real
// address, and returns it with the fork its Applications will name.
func startArgoCD(t *testing.T, fork fork) *argoCD {
	t.Helper()
	return runArgoCD(t, fork, gitops.ArgoCDOptions{})
}

// runArgoCD is startArgoCD with o's choice of components (the
// ApplicationSet controller: its CRD the caller's).
func runArgoCD(t *testing.T, fork fork, o gitops.ArgoCDOptions) *argoCD {
	t.Helper()
	ctx := context.Background()
	ensureNamespace(t, "argocd")
	mod := moduleDir(t, pins.Get(t, "ARGOCD_MODULE"))
	raw, err := os.ReadFile(filepath.Join(mod, "manifests", "install.yaml"))
	require.NoError(t, err)
	objs, err := cluster.Objects(raw)
	require.NoError(t, err)
	var install []*unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "CustomResourceDefinition":
			install = append(install, o)
		case "ConfigMap", "Secret":
			o.SetNamespace("argocd")
			install = append(install, o)
		}
	}
	require.NoError(t, applier(t).Apply(ctx, install, false), "Argo CD's CRDs, ConfigMaps and Secrets from its install.yaml")
	for _, crd := range []string{"application-crd.yaml", "appproject-crd.yaml"} {
		installCRD(t, filepath.Join(mod, "manifests", "crds", crd))
	}
	project, err := cluster.Objects([]byte(`apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: default, namespace: argocd}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
  clusterResourceWhitelist: [{group: "*", kind: "*"}]
`))
	require.NoError(t, err)
	require.NoError(t, applier(t).Apply(ctx, project, false), "the default AppProject, as argocd-server makes it")
	// argocd-server writes server.secretkey on its first start; it does not run here.
	key := make([]byte, 32)
	_, err = rand.Read(key)
	require.NoError(t, err)
	_, err = e2e.client.CoreV1().Secrets("argocd").Patch(ctx, "argocd-secret", types.MergePatchType,
		[]byte(fmt.Sprintf(`{"data":{"server.secretkey":%q}}`, base64.StdEncoding.EncodeToString(key))), metav1.PatchOptions{})
	require.NoError(t, err)
	_, err = e2e.client.CoreV1().Secrets("argocd").Create(ctx, clusterSecret(t), metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}

	o.Parent = filepath.Join(e2e.root, "build", "gitops")
	o.Bin = e2eTool(t, "argocd")
	o.RedisServer = "redis-server"
	o.Kubeconfig = e2e.cluster.Kubeconfig
	o.Namespace = "argocd"
	o.PluginDir = filepath.Join(e2e.root, "gitops", "argocd")
	o.Path = e2e.fns.Dir(t) + ":" + filepath.Join(e2e.root, "bin")
	a, err := gitops.StartArgoCD(ctx, o)
	require.NoError(t, err, "start Argo CD")
	stop := e2e.cluster.Track("Argo CD", a.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			for _, c := range []string{"application-controller", "repo-server", "cmp-server", "applicationset-controller"} {
				t.Logf("Argo CD's %s log ends:\n%s", c, a.Log(c))
			}
		}
		assert.NoError(t, stop())
	})
	dyn, err := dynamic.NewForConfig(e2e.cluster.Config)
	require.NoError(t, err)
	argo := &argoCD{ArgoCD: a, fork: fork, apps: dyn.Resource(applications).Namespace("argocd")}
	// Before Argo CD stops: every Application the test left, deleted as a
	// user deletes it (its finalizer run by the controller).
	t.Cleanup(func() {
		list, err := argo.apps.List(context.Background(), metav1.ListOptions{})
		require.NoError(t, err)
		for _, app := range list.Items {
			argo.delete(t, app.GetName())
		}
	})
	return argo
}

// clusterSecret declares the cluster to Argo CD at the API server's real
// address, with the admin's credentials: out of cluster, the destination
// https://kubernetes.default.svc has no in-cluster configuration to use.
func clusterSecret(t *testing.T) *corev1.Secret {
	t.Helper()
	return clusterSecretFor(t, "e2e-cluster", "e2e", e2e.cluster.Config)
}

// clusterSecretFor is Argo CD's cluster Secret (argocd namespace) of the
// cluster config reaches, named name to Argo CD, with the admin's
// credentials.
func clusterSecretFor(t *testing.T, secret, name string, c *rest.Config) *corev1.Secret {
	t.Helper()
	read := func(data []byte, file string) []byte {
		if len(data) == 0 && file != "" {
			var err error
			data, err = os.ReadFile(file)
			require.NoError(t, err)
		}
		return data
	}
	config, err := json.Marshal(map[string]any{"tlsClientConfig": map[string]any{
		"caData": read(c.CAData, c.CAFile), "certData": read(c.CertData, c.CertFile), "keyData": read(c.KeyData, c.KeyFile),
	}})
	require.NoError(t, err)
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: secret, Namespace: "argocd", Labels: map[string]string{"argocd.argoproj.io/secret-type": "cluster"}},
		StringData: map[string]string{"name": name, "server": c.Host, "config": string(config)},
	}
}

// apply creates the Application gitops/argocd/applications/<file> as
// shipped, with only the repository URL and the destination changed.
func (a *argoCD) apply(t *testing.T, file string) string {
	t.Helper()
	app := manifests(t, filepath.Join("gitops", "argocd", "applications", file))[0]
	require.NoError(t, unstructured.SetNestedField(app.Object, a.fork.URL, "spec", "source", "repoURL"))
	require.NoError(t, unstructured.SetNestedField(app.Object, e2e.cluster.Config.Host, "spec", "destination", "server"))
	_, err := a.apps.Create(context.Background(), app, metav1.CreateOptions{})
	require.NoError(t, err, "create Application %s", app.GetName())
	return app.GetName()
}

// delete deletes an Application and waits until its finalizer has run.
func (a *argoCD) delete(t *testing.T, name string) {
	t.Helper()
	err := a.apps.Delete(context.Background(), name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	require.NoError(t, err)
	scenario.WaitObjectGone(t, a.apps, name)
}

// application is the Application's status, as `kubectl get application` shows it.
type application struct {
	Sync, Health, Revision, Phase, Message string
	Conditions                             []string
}

func (a *argoCD) status(ctx context.Context, name string) (application, error) {
	u, err := a.apps.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return application{}, err
	}
	return applicationOf(u), nil
}

// applicationOf is an Application's status.
func applicationOf(u *unstructured.Unstructured) application {
	s := func(path ...string) string { v, _, _ := unstructured.NestedString(u.Object, path...); return v }
	app := application{
		Sync: s("status", "sync", "status"), Health: s("status", "health", "status"), Revision: s("status", "sync", "revision"),
		Phase: s("status", "operationState", "phase"), Message: s("status", "operationState", "message"),
	}
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		m := c.(map[string]any)
		app.Conditions = append(app.Conditions, fmt.Sprintf("%v: %v", m["type"], m["message"]))
	}
	return app
}

// waitSyncedHealthy waits until the Application is Synced to revision
// (any, when empty) and Healthy, by Argo CD's own health assessment.
func (a *argoCD) waitSyncedHealthy(t *testing.T, name, revision string) {
	t.Helper()
	scenario.Until(t, "Application "+name+" Synced and Healthy", 4*time.Minute, func(ctx context.Context) (bool, string, error) {
		app, err := a.status(ctx, name)
		if err != nil {
			return false, "", err
		}
		return app.Sync == "Synced" && app.Health == "Healthy" && (revision == "" || app.Revision == revision), fmt.Sprintf("%+v", app), nil
	})
}

// refresh asks Argo CD to compare the Application with Git now, as its Git
// webhook does on a push (the refresh annotation, which the webhook
// handler sets).
func (a *argoCD) refresh(t *testing.T, name string) {
	t.Helper()
	_, err := a.apps.Patch(context.Background(), name, types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"argocd.argoproj.io/refresh":"normal"}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
}

// installFluxCRDs installs every CRD of the source- and
// kustomize-controller's modules in c (the source-controller watches them
// all).
func installFluxCRDs(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	for _, mod := range []string{"FLUX_SOURCE_MODULE", "FLUX_KUSTOMIZE_MODULE"} {
		crds, err := filepath.Glob(filepath.Join(moduleDir(t, pins.Get(t, mod)), "config", "crd", "bases", "*.yaml"))
		require.NoError(t, err)
		require.NotEmpty(t, crds, "%s's CRDs", mod)
		for _, crd := range crds {
			installCRDIn(t, c, crd)
		}
	}
}

// flux is Flux running against the cluster.
type flux struct {
	*gitops.Flux
	fork         fork
	ks, gitRepos dynamic.ResourceInterface
}

// startFlux installs the source- and kustomize-controller's CRDs from their
// modules (every one: the source-controller watches them all), starts both out of cluster and applies gitops/flux/git/source.yaml
// as shipped, with only its URL changed to the fork.
func startFlux(t *testing.T, fork fork) *flux {
	t.Helper()
	ctx := context.Background()
	installFluxCRDs(t, e2e.cluster)
	ensureNamespace(t, "flux-system")
	f, err := gitops.StartFlux(ctx, gitops.FluxOptions{
		Parent:              filepath.Join(e2e.root, "build", "gitops"),
		SourceController:    e2eTool(t, "source-controller"),
		KustomizeController: e2eTool(t, "kustomize-controller"),
		Kubeconfig:          e2e.cluster.Kubeconfig,
		Namespace:           "flux-system",
	})
	require.NoError(t, err, "start Flux")
	stop := e2e.cluster.Track("Flux", f.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			for _, c := range []string{"source-controller", "kustomize-controller"} {
				t.Logf("Flux's %s log ends:\n%s", c, f.Log(c))
			}
		}
		assert.NoError(t, stop())
	})
	dyn, err := dynamic.NewForConfig(e2e.cluster.Config)
	require.NoError(t, err)
	fl := &flux{Flux: f, fork: fork, ks: dyn.Resource(kustomizations).Namespace("flux-system"), gitRepos: dyn.Resource(gitRepos).Namespace("flux-system")}
	repo := manifests(t, filepath.Join("gitops", "flux", "git", "source.yaml"))[0]
	require.NoError(t, unstructured.SetNestedField(repo.Object, fork.URL, "spec", "url"))
	_, err = fl.gitRepos.Create(ctx, repo, metav1.CreateOptions{})
	require.NoError(t, err)
	// Before Flux stops: every Kustomization the test left, deleted (its
	// finalizer prunes), then the GitRepository.
	t.Cleanup(func() {
		list, err := fl.ks.List(context.Background(), metav1.ListOptions{})
		require.NoError(t, err)
		for _, k := range list.Items {
			fl.delete(t, k.GetName())
		}
		_ = fl.gitRepos.Delete(context.Background(), repo.GetName(), metav1.DeleteOptions{})
		scenario.WaitObjectGone(t, fl.gitRepos, repo.GetName())
	})
	return fl
}

// apply creates the Kustomization gitops/flux/git/<file> as shipped.
func (f *flux) apply(t *testing.T, file string) string {
	t.Helper()
	k := manifests(t, filepath.Join("gitops", "flux", "git", file))[0]
	_, err := f.ks.Create(context.Background(), k, metav1.CreateOptions{})
	require.NoError(t, err, "create Kustomization %s", k.GetName())
	return k.GetName()
}

// delete deletes a Kustomization and waits until its finalizer has pruned
// what it applied.
func (f *flux) delete(t *testing.T, name string) {
	t.Helper()
	err := f.ks.Delete(context.Background(), name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	require.NoError(t, err)
	scenario.WaitObjectGone(t, f.ks, name)
}

// waitReady waits until the Kustomization is Ready at revision (the Git
// commit; any, when empty).
func (f *flux) waitReady(t *testing.T, name, revision string) {
	t.Helper()
	scenario.Until(t, "Kustomization "+name+" Ready", 6*time.Minute, func(ctx context.Context) (bool, string, error) {
		ready, applied, message, err := f.ready(ctx, name)
		if err != nil {
			return false, "", err
		}
		return ready && (revision == "" || strings.HasSuffix(applied, revision)), fmt.Sprintf("ready %t at %s: %s", ready, applied, message), nil
	})
}

// ready is the Kustomization's Ready condition and last applied revision.
func (f *flux) ready(ctx context.Context, name string) (ready bool, applied, message string, err error) {
	u, err := f.ks.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, "", "", err
	}
	applied, _, _ = unstructured.NestedString(u.Object, "status", "lastAppliedRevision")
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		if m := c.(map[string]any); m["type"] == "Ready" {
			return m["status"] == "True" && m["observedGeneration"] == u.GetGeneration(), applied, fmt.Sprint(m["message"]), nil
		}
	}
	return false, applied, "no Ready condition", nil
}

// reconcileSource asks the source-controller to fetch Git now, as `flux
// reconcile source git` and Flux's webhook Receiver do (the requestedAt
// annotation); the kustomize-controller applies a new revision as soon as
// the source has it.
func (f *flux) reconcileSource(t *testing.T) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, time.Now().Format(time.RFC3339Nano))
	_, err := f.gitRepos.Patch(context.Background(), "hubkit", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(t, err)
}

// settingsConfigMap is the Hub's settings ConfigMap in ns (the one its
// Deployment mounts: the generator's name has a hash).
func settingsConfigMap(t *testing.T, ns string) *corev1.ConfigMap {
	t.Helper()
	list, err := e2e.client.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	for i := range list.Items {
		if strings.HasPrefix(list.Items[i].Name, "hbih-settings-") {
			return &list.Items[i]
		}
	}
	t.Fatalf("no hbih-settings ConfigMap in %s", ns)
	return nil
}

// deleteNamespace deletes ns and waits until it is gone: the claims a
// GitOps tool leaves behind by design go with it.
func deleteNamespace(t *testing.T, ns string) {
	t.Helper()
	err := e2e.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	require.NoError(t, err)
	scenario.Until(t, "namespace "+ns+" gone", 3*time.Minute, func(ctx context.Context) (bool, string, error) {
		_, err := e2e.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		return false, "terminating", err
	})
}

// admitIngress does an ingress controller's part for the Hub's Ingress in
// ns, which no controller runs here to do: it publishes an address in the
// Ingress's status, as ingress-nginx does once it serves it. Argo CD
// reports an Ingress Healthy only then (Progressing before).
func admitIngress(t *testing.T, ns string) {
	t.Helper()
	var ing *networkingv1.Ingress
	scenario.Until(t, "the Hub's Ingress in "+ns, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		var err error
		ing, err = e2e.client.NetworkingV1().Ingresses(ns).Get(ctx, names.Hub, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, "not yet applied", nil
		}
		return err == nil, "", err
	})
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "127.0.0.1"}}
	_, err := e2e.client.NetworkingV1().Ingresses(ns).UpdateStatus(context.Background(), ing, metav1.UpdateOptions{})
	require.NoError(t, err)
}
