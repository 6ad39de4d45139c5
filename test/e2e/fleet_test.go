package e2e

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
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
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/hubkit/hubkit/internal/fleet"
	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/gitops"
	"github.com/hubkit/hubkit/test/pins"
	"github.com/hubkit/hubkit/test/scenario"
)

// The fleet under Argo CD: a user's fork whose inventory names three
// sites, one per wave, each on a site cluster of its own (a kwok control
// plane beside the e2e cluster, its pods on a simulated node); Argo CD
// v3.2.6's ApplicationSet controller makes their Applications from
// gitops/argocd/fleet as shipped, and syncs them in waves with its
// application controller. docs/gitops.md numbers these scenarios;
// docs/fleet.md tells the fleet.
func TestFleetUnderArgoCD(t *testing.T) {
	f := fleetFixture(t)
	t.Run("18 one Application per site file, each reading its site's render on its site's cluster", f.applications)
	t.Run("19 the waves in order: no site is synced before every site of the waves before it is Healthy", f.waves)
	t.Run("20 one site's change in Git reaches that site alone", f.oneSiteChanged)
}

// fleetSites are the fork's inventory: one site per wave of fleet.yaml.
var fleetSites = []struct{ name, wave string }{{"north", "canary"}, {"south", "early"}, {"east", "rest"}}

// siteFile is a site of the fork's inventory, as a platform team writes it.
func siteFile(name, wave, topic string) []byte {
	return fmt.Appendf(nil, `apiVersion: hubkit.dev/v1alpha1
kind: Site
metadata:
  name: %[1]s
spec:
  cluster: site-%[1]s
  wave: %[2]s
  mode: single
  storage:
    size: 1Gi
  host: hub.%[1]s.example.com
  systemVariables:
  - name: mqttTopic
    value: %[3]s
  central:
    url: wss://central.example.com/websocket
    tokenSecret: network-group-token-v1
    centralConfig: true
`, name, wave, topic)
}

// siteCluster is a site's cluster and what the test reads of it.
type siteCluster struct {
	site    fleet.Site
	cluster *cluster.Cluster
	client  kubernetes.Interface
	hub     *scenario.Hub // the site's Hub, on its cluster
}

type fleetWorld struct {
	argo    *argoCD
	fork    fork
	sites   map[string]*siteCluster // by site name
	appSets dynamic.ResourceInterface
	samples *appSampler
	// generations are the sites' Deployments' generations once rolled out.
	generations map[string]int64
}

// fleetFixture is the story before its first step: the fork with its
// inventory rendered and committed, a cluster per site with what a
// platform team puts there before hubkit (the token's Secret, a volume
// for the claim, an ingress controller's part), Argo CD with its
// ApplicationSet controller, each site cluster registered by a cluster
// Secret labelled from the inventory, and a sampler of the Applications.
func fleetFixture(t *testing.T) *fleetWorld {
	w := &fleetWorld{fork: fleetFork(t), sites: map[string]*siteCluster{}}
	inv, err := fleet.Load(w.fork.Work)
	require.NoError(t, err)
	for _, s := range inv.Sites {
		w.sites[s.Name] = startSiteCluster(t, s)
	}

	w.argo = runArgoCD(t, w.fork, gitops.ArgoCDOptions{ApplicationSets: true})
	installCRD(t, filepath.Join(moduleDir(t, pins.Get(t, "ARGOCD_MODULE")), "manifests", "crds", "applicationset-crd.yaml"))
	for _, s := range w.sites {
		s.register(t)
	}
	w.labelClusters(t, inv)
	dyn, err := dynamic.NewForConfig(e2e.cluster.Config)
	require.NoError(t, err)
	w.appSets = dyn.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applicationsets"}).Namespace("argocd")
	w.samples = sampleApps(t, w.argo)
	w.createAppSet(t)
	return w
}

// createAppSet creates the ApplicationSet gitops/argocd/fleet as shipped
// (kustomize builds its waves in), with only the repository URL changed
// to the fork's.
func (w *fleetWorld) createAppSet(t *testing.T) {
	t.Helper()
	appSet := manifestsBuilt(t, filepath.Join(w.fork.Work, "gitops", "argocd", "fleet"))
	require.Len(t, appSet, 1)
	set := appSet[0]
	generators, _, err := unstructured.NestedSlice(set.Object, "spec", "generators")
	require.NoError(t, err)
	require.NoError(t, unstructured.SetNestedField(generators[0].(map[string]any), w.fork.URL, "git", "repoURL"))
	require.NoError(t, unstructured.SetNestedSlice(set.Object, generators, "spec", "generators"))
	require.NoError(t, unstructured.SetNestedField(set.Object, w.fork.URL, "spec", "template", "spec", "source", "repoURL"))
	_, err = w.appSets.Create(context.Background(), set, metav1.CreateOptions{})
	require.NoError(t, err, "create the ApplicationSet")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the ApplicationSet controller's log ends:\n%s", w.argo.Log("applicationset-controller"))
		}
	})
	// Deleted before Argo CD stops, and before its Applications are: else
	// the controller would make them again.
	t.Cleanup(func() {
		err := w.appSets.Delete(context.Background(), set.GetName(), metav1.DeleteOptions{})
		if !apierrors.IsNotFound(err) {
			assert.NoError(t, err)
		}
	})
}

// fleetFork is a user's fork of hubkit, served on loopback, whose
// inventory is fleetSites', rendered and committed.
func fleetFork(t *testing.T) fork {
	t.Helper()
	sites := map[string][]byte{}
	for _, s := range fleetSites {
		sites[s.name] = siteFile(s.name, s.wave, "plants/"+s.name)
	}
	f, files := forkWithSites(t, sites)
	f.commit(t, "The fleet: a site per wave", hydrateFleet(t, f, files))
	return f
}

// forkWithSites serves a user's fork of hubkit on loopback and returns it
// with the change that makes sites (by name) its inventory: its own sites'
// folders removed, each site's file, for a commit.
func forkWithSites(t *testing.T, sites map[string][]byte) (fork, map[string][]byte) {
	t.Helper()
	served, err := gitops.ServeFork(context.Background(), filepath.Join(e2e.root, "build", "gitops"), e2e.root)
	require.NoError(t, err, "serve a fork of hubkit on loopback")
	t.Cleanup(func() { assert.NoError(t, served.Stop()) })
	files := map[string][]byte{}
	old, err := filepath.Glob(filepath.Join(served.Work, fleet.SitesDir, "*"))
	require.NoError(t, err)
	for _, dir := range old {
		require.NoError(t, os.RemoveAll(dir))
		rel, err := filepath.Rel(served.Work, dir)
		require.NoError(t, err)
		files[rel] = nil
	}
	for name, b := range sites {
		files[filepath.Join(fleet.SitesDir, name, fleet.SiteFile)] = b
	}
	return fork{served}, files
}

// hydrateFleet is files written into the fork's working clone and what
// make hydrate then writes (the fleet's renderer, as a library), for a
// commit: each path's content, nil for a path it removed.
func hydrateFleet(t *testing.T, f fork, files map[string][]byte) map[string][]byte {
	t.Helper()
	work := f.Work
	for p, b := range files {
		if b != nil {
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(work, p)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(work, p), b, 0o644))
		}
	}
	e2e.fns.OnPath(t)
	_, out, err := fleet.Build(work, fleet.Options{Work: filepath.Join(t.TempDir(), "fleet")})
	require.NoError(t, err, "render the fork's fleet")
	changed, err := out.Write(work, true)
	require.NoError(t, err)
	all := maps.Clone(files)
	for _, p := range changed {
		b, err := os.ReadFile(filepath.Join(work, p))
		if os.IsNotExist(err) {
			all[p] = nil
			continue
		}
		require.NoError(t, err)
		all[p] = b
	}
	return all
}

// startSiteCluster starts site's cluster, a kwok control plane with one
// simulated node, stopped when the test ends (or with the e2e cluster, on
// an interrupted run), and puts there what the platform team does before
// hubkit: the namespace with the Network Group token's Secret, a volume
// the claim binds to, and an ingress controller's part.
func startSiteCluster(t *testing.T, s fleet.Site) *siteCluster {
	t.Helper()
	ctx := context.Background()
	c, err := cluster.Start(ctx, cluster.Options{
		BinDir:  filepath.Join(e2e.root, "bin"),
		WorkDir: filepath.Join(e2e.root, "build", "kwok"),
		Nodes:   1,
		Suffix:  s.Spec.Cluster,
	})
	require.NoError(t, err, "start %s's cluster", s.Name)
	stop := e2e.cluster.Track("cluster "+c.Name, c.Stop)
	t.Cleanup(func() { assert.NoError(t, stop()) })
	client, err := kubernetes.NewForConfig(c.Config)
	require.NoError(t, err)
	sc := &siteCluster{site: s, cluster: c, client: client, hub: &scenario.Hub{Client: client, Namespace: s.Namespace()}}

	_, err = client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.Namespace()}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = client.CoreV1().Secrets(s.Namespace()).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.Spec.Central.TokenSecret},
		StringData: map[string]string{"token": "site-" + s.Name + "-token"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = client.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name + "-appdata"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: *s.Spec.Storage.Size},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod},
			StorageClassName:       s.Spec.Storage.ClassName,
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/hubkit/" + s.Name}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	publishIngresses(t, client)
	return sc
}

// publishIngresses does a site's ingress controller's part, which no
// controller runs here to do: it publishes an address in the status of
// every Ingress it finds, as ingress-nginx does once it serves one. Argo
// CD reports an Ingress Healthy only then.
func publishIngresses(t *testing.T, client kubernetes.Interface) {
	ctx, cancel := context.WithCancel(context.Background())
	var done sync.WaitGroup
	done.Go(func() {
		for ctx.Err() == nil {
			list, err := client.NetworkingV1().Ingresses(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
			for i := range list.Items {
				ing := &list.Items[i]
				if err == nil && len(ing.Status.LoadBalancer.Ingress) == 0 {
					ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.1"}}
					_, _ = client.NetworkingV1().Ingresses(ing.Namespace).UpdateStatus(ctx, ing, metav1.UpdateOptions{})
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
	})
	t.Cleanup(func() { cancel(); done.Wait() })
}

// register declares the site cluster to Argo CD as the platform team
// does: a cluster Secret named as the site file's cluster, with its
// credentials and Argo CD's label alone; deleted when the test ends.
func (s *siteCluster) register(t *testing.T) {
	t.Helper()
	secrets := e2e.client.CoreV1().Secrets("argocd")
	_, err := secrets.Create(context.Background(), clusterSecretFor(t, s.site.Spec.Cluster, s.site.Spec.Cluster, s.cluster.Config), metav1.CreateOptions{})
	require.NoError(t, err, "register %s with Argo CD", s.site.Spec.Cluster)
	t.Cleanup(func() {
		assert.NoError(t, secrets.Delete(context.Background(), s.site.Spec.Cluster, metav1.DeleteOptions{}))
	})
}

// registration is the site cluster's Argo CD cluster Secret as it is now.
func (s *siteCluster) registration(t *testing.T) *corev1.Secret {
	t.Helper()
	secret, err := e2e.client.CoreV1().Secrets("argocd").Get(context.Background(), s.site.Spec.Cluster, metav1.GetOptions{})
	require.NoError(t, err)
	return secret
}

// labelClusters applies the fork's cluster files (make hydrate's
// gitops/argocd/fleet/clusters/) as docs/fleet.md says, server-side with
// the fleet's field manager: each cluster Secret gains the inventory's
// labels and keeps its credentials.
func (w *fleetWorld) labelClusters(t *testing.T, inv *fleet.Inventory) {
	t.Helper()
	out, err := kubectl(t, "apply", "--server-side", "--field-manager="+fleet.ClusterFieldManager,
		"-f", filepath.Join(w.fork.Work, fleet.ClustersDir))
	require.NoError(t, err, out)
	want := inv.ClusterLabels()
	require.Len(t, want, len(w.sites), "a cluster per site here")
	for _, s := range w.sites {
		secret := s.registration(t)
		for k, v := range want[s.site.Spec.Cluster] {
			assert.Equal(t, v, secret.Labels[k], "%s's label %s", secret.Name, k)
		}
		assert.Equal(t, "cluster", secret.Labels["argocd.argoproj.io/secret-type"], "the registration's label stays")
		assert.Equal(t, s.cluster.Config.Host, string(secret.Data["server"]), "the credentials stay")
		assert.NotEmpty(t, secret.Data["config"], "the credentials stay")
	}
}

func (w *fleetWorld) applications(t *testing.T) {
	scenario.Until(t, "an Application per site", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		list, err := w.argo.apps.List(ctx, metav1.ListOptions{LabelSelector: names.SiteLabel})
		if err != nil {
			return false, "", err
		}
		return len(list.Items) == len(w.sites), fmt.Sprintf("%d Applications", len(list.Items)), nil
	})
	for name, s := range w.sites {
		app, err := w.argo.apps.Get(context.Background(), "hubkit-"+name, metav1.GetOptions{})
		require.NoError(t, err)
		str := func(path ...string) string { v, _, _ := unstructured.NestedString(app.Object, path...); return v }
		assert.Equal(t, s.site.Spec.Cluster, str("spec", "destination", "name"))
		assert.Equal(t, s.site.RenderDir(), str("spec", "source", "path"))
		assert.Equal(t, map[string]string{names.SiteLabel: name, names.WaveLabel: s.site.Spec.Wave}, app.GetLabels())
		_, automated, _ := unstructured.NestedMap(app.Object, "spec", "syncPolicy", "automated")
		assert.False(t, automated, "RollingSync syncs the Applications itself")
	}
}

func (w *fleetWorld) waves(t *testing.T) {
	for name := range w.sites {
		w.argo.waitSyncedHealthy(t, "hubkit-"+name, "")
	}
	waves := map[string]int{}
	for i, s := range fleetSites {
		waves["hubkit-"+s.name] = i
	}
	samples := w.samples.take()
	// The first sample in which each Application has a sync operation:
	// every Application of an earlier wave is Synced and Healthy there.
	var order []string
	for _, s := range samples {
		for app, st := range s.apps {
			if st.Phase == "" || slices.Contains(order, app) {
				continue
			}
			order = append(order, app)
			for other, ost := range s.apps {
				if waves[other] < waves[app] {
					assert.True(t, ost.Sync == "Synced" && ost.Health == "Healthy",
						"at %s %s's sync had started while %s, of an earlier wave, was %s and %s", s.at.Format(time.TimeOnly), app, other, ost.Sync, ost.Health)
				}
			}
		}
	}
	require.Len(t, order, len(w.sites), "every Application's sync seen (%d samples)", len(samples))
	assert.True(t, slices.IsSortedFunc(order, func(a, b string) int { return waves[a] - waves[b] }), "synced in the waves' order: %v", order)
	// A sampler that saw every sync at once would judge nothing.
	assert.True(t, slices.ContainsFunc(samples, func(s appSample) bool {
		return s.apps["hubkit-north"].Phase != "" && s.apps["hubkit-east"].Phase == ""
	}), "a sample shows the first wave syncing before the last")

	w.generations = map[string]int64{}
	for name, s := range w.sites {
		d := s.hub.Deployment(t)
		assert.Equal(t, name, d.Labels[names.SiteLabel], "site %s's cluster runs its own site's render", name)
		w.generations[name] = d.Generation
		remote := s.hub.MountedConfigMap(t, names.RemoteConfigConfigMap).Data[hub.RemoteConfigFile]
		assert.Contains(t, remote, `"clientId": "`+s.site.ClientID()+`"`)
		assert.Contains(t, remote, `"token": "`+fleet.TokenPlaceholder+`"`, "the token stays in the site's Secret")
	}
}

func (w *fleetWorld) oneSiteChanged(t *testing.T) {
	require.NotEmpty(t, w.generations, "the waves' step rolled the fleet out")
	const changed = "east"
	rev := w.fork.commit(t, "east: a new MQTT topic", hydrateFleet(t, w.fork, map[string][]byte{
		filepath.Join(fleet.SitesDir, changed, fleet.SiteFile): siteFile(changed, "rest", "plants/east/line-2"),
	}))
	for name := range w.sites {
		w.argo.refresh(t, "hubkit-"+name)
	}
	for name := range w.sites {
		w.argo.waitSyncedHealthy(t, "hubkit-"+name, rev)
	}
	for name, s := range w.sites {
		d := s.hub.Deployment(t)
		vars := s.hub.MountedConfigMap(t, names.SystemVariablesConfigMap).Data[hub.SystemVariablesFile]
		if name == changed {
			assert.Greater(t, d.Generation, w.generations[name], "site %s's Hub rolled", name)
			assert.Contains(t, vars, "plants/east/line-2")
			continue
		}
		assert.Equal(t, w.generations[name], d.Generation, "site %s's Hub untouched", name)
		assert.Contains(t, vars, "plants/"+name)
	}
}

// manifestsBuilt is dir built with the pinned kustomize CLI, as `kubectl
// apply -k dir` applies it.
func manifestsBuilt(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	out, err := runKustomizeOut(t, "build", dir)
	require.NoError(t, err)
	objs, err := cluster.Objects(out)
	require.NoError(t, err)
	return objs
}

// appSample is every Application's status at one moment.
type appSample struct {
	at   time.Time
	apps map[string]application
}

// appSampler lists the Applications every 100 ms until the test ends.
type appSampler struct {
	mu      sync.Mutex
	samples []appSample
}

func sampleApps(t *testing.T, a *argoCD) *appSampler {
	s := &appSampler{}
	ctx, cancel := context.WithCancel(context.Background())
	var done sync.WaitGroup
	done.Go(func() {
		for ctx.Err() == nil {
			list, err := a.apps.List(ctx, metav1.ListOptions{LabelSelector: names.SiteLabel})
			if err == nil {
				sample := appSample{at: time.Now(), apps: map[string]application{}}
				for _, u := range list.Items {
					sample.apps[u.GetName()] = applicationOf(&u)
				}
				s.mu.Lock()
				s.samples = append(s.samples, sample)
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	t.Cleanup(func() { cancel(); done.Wait() })
	return s
}

func (s *appSampler) take() []appSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.samples)
}

// The fleet under Flux: the same fork's inventory; two of its site
// clusters each run Flux's source- and kustomize-controller of their own
// and apply their site's gitops/flux/sites file as shipped (only the URL
// changed to the fork's). docs/gitops.md numbers these scenarios.
func TestFleetUnderFlux(t *testing.T) {
	f := fleetFork(t)
	inv, err := fleet.Load(f.Work)
	require.NoError(t, err)
	var sites []*siteCluster
	for _, s := range inv.Sites[:2] {
		sites = append(sites, startSiteCluster(t, s))
	}
	t.Run("8 each site cluster's own Flux pulls its site's render alone and deploys it: Ready, its Hub its site's", func(t *testing.T) {
		for _, s := range sites {
			siteUnderFlux(t, s, f)
		}
		for _, s := range sites {
			d := s.hub.Deployment(t)
			assert.Equal(t, s.site.Name, d.Labels[names.SiteLabel], "site %s's cluster runs its own site's render", s.site.Name)
		}
	})
}

// siteUnderFlux starts Flux against the site's cluster (its CRDs from the
// controllers' modules), applies the site's gitops/flux/sites file with
// the fork's URL, and waits until its Kustomization is Ready at the fork's
// head, its GitRepository's artifact holding the site's render alone.
func siteUnderFlux(t *testing.T, s *siteCluster, f fork) {
	t.Helper()
	ctx := context.Background()
	installFluxCRDs(t, s.cluster)
	_, err := s.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "flux-system"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	fx, err := gitops.StartFlux(ctx, gitops.FluxOptions{
		Parent:              filepath.Join(e2e.root, "build", "gitops"),
		SourceController:    e2eTool(t, "source-controller"),
		KustomizeController: e2eTool(t, "kustomize-controller"),
		Kubeconfig:          s.cluster.Kubeconfig,
		Namespace:           "flux-system",
	})
	require.NoError(t, err, "start Flux for site %s", s.site.Name)
	stop := e2e.cluster.Track("Flux of site "+s.site.Name, fx.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			for _, c := range []string{"source-controller", "kustomize-controller"} {
				t.Logf("site %s's Flux's %s log ends:\n%s", s.site.Name, c, fx.Log(c))
			}
		}
		assert.NoError(t, stop())
	})
	dyn, err := dynamic.NewForConfig(s.cluster.Config)
	require.NoError(t, err)
	fl := &flux{Flux: fx, fork: f, ks: dyn.Resource(kustomizations).Namespace("flux-system"), gitRepos: dyn.Resource(gitRepos).Namespace("flux-system")}
	raw, err := os.ReadFile(filepath.Join(f.Work, fleet.FluxDir, s.site.Name+".yaml"))
	require.NoError(t, err)
	objs, err := cluster.Objects(raw)
	require.NoError(t, err)
	require.Len(t, objs, 2)
	for _, o := range objs {
		if o.GetKind() == "GitRepository" {
			require.NoError(t, unstructured.SetNestedField(o.Object, f.URL, "spec", "url"))
			_, err = fl.gitRepos.Create(ctx, o, metav1.CreateOptions{})
		} else {
			_, err = fl.ks.Create(ctx, o, metav1.CreateOptions{})
		}
		require.NoError(t, err, "apply %s %s", o.GetKind(), o.GetName())
	}
	fl.waitReady(t, objs[1].GetName(), f.head(t))

	repo, err := fl.gitRepos.Get(ctx, objs[0].GetName(), metav1.GetOptions{})
	require.NoError(t, err)
	url, _, _ := unstructured.NestedString(repo.Object, "status", "artifact", "url")
	require.NotEmpty(t, url, "the GitRepository's artifact")
	files := artifactFiles(t, url)
	assert.Equal(t, []string{filepath.Join(s.site.RenderDir(), "hub.yaml")}, files, "site %s's artifact holds its render alone", s.site.Name)
}

// artifactFiles lists the regular files of a source-controller artifact (a
// gzipped tarball), as the kustomize-controller downloads it.
func artifactFiles(t *testing.T, url string) []string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	gz, err := gzip.NewReader(resp.Body)
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	var files []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if h.Typeflag == tar.TypeReg {
			files = append(files, h.Name)
		}
	}
	slices.Sort(files)
	return files
}

// TestFleetAtScale (make bench, not make test: it measures) is hubkit's
// delivery of 1,000 sites, generator to Applications: a fork whose
// inventory has 1,000 site files, and gitops/argocd/fleet's ApplicationSet
// as shipped, by the real ApplicationSet controller alone (the application
// controller left out, so that it does not share the 2 cores): the time
// until every site has its Application, then, after a change to the
// template, until every Application has it, and the controller's peak RSS.
func TestFleetAtScale(t *testing.T) {
	const n = 1000
	ctx := context.Background()
	waves := []string{"canary", "early", "rest"}
	sites := map[string][]byte{}
	for i := range n {
		name := fmt.Sprintf("plant-%04d", i)
		sites[name] = siteFile(name, waves[min(i/10, 2)], "plants/"+name)
	}
	f, files := forkWithSites(t, sites)
	f.commit(t, "1,000 sites", files)

	argo := runArgoCD(t, f, gitops.ArgoCDOptions{ApplicationSets: true, NoApplicationController: true})
	// Each site's cluster registered, as the controller makes no
	// Application for a cluster it does not know; never contacted here.
	// (A client of its own: client-go's default 5 requests a second would
	// take minutes.)
	fast := rest.CopyConfig(e2e.cluster.Config)
	fast.QPS, fast.Burst = 500, 1000
	client, err := kubernetes.NewForConfig(fast)
	require.NoError(t, err)
	const scale = "hubkit.dev/bench=fleet-at-scale"
	for i := range n {
		name := fmt.Sprintf("site-plant-%04d", i)
		_, err := client.CoreV1().Secrets("argocd").Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd", Labels: map[string]string{
				"argocd.argoproj.io/secret-type": "cluster", "hubkit.dev/bench": "fleet-at-scale"}},
			StringData: map[string]string{"name": name, "server": "https://" + name + ".sites.invalid:6443"},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		assert.NoError(t, client.CoreV1().Secrets("argocd").DeleteCollection(context.Background(), metav1.DeleteOptions{},
			metav1.ListOptions{LabelSelector: scale}))
	})
	installCRD(t, filepath.Join(moduleDir(t, pins.Get(t, "ARGOCD_MODULE")), "manifests", "crds", "applicationset-crd.yaml"))
	dyn, err := dynamic.NewForConfig(e2e.cluster.Config)
	require.NoError(t, err)
	w := &fleetWorld{argo: argo, fork: f, appSets: dyn.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applicationsets"}).Namespace("argocd")}
	count := func(ctx context.Context, selector string) (int, error) {
		list, err := argo.apps.List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return 0, err
		}
		return len(list.Items), nil
	}
	// After the ApplicationSet is deleted: its Applications, at once.
	t.Cleanup(func() {
		ctx := context.Background()
		assert.NoError(t, argo.apps.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: names.SiteLabel}))
		scenario.Until(t, "the site Applications deleted", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
			left, err := count(ctx, names.SiteLabel)
			return left == 0, fmt.Sprintf("%d left", left), err
		})
	})
	start := time.Now()
	w.createAppSet(t)
	scenario.Until(t, "an Application per site", 5*time.Minute, func(ctx context.Context) (bool, string, error) {
		got, err := count(ctx, names.SiteLabel)
		return got == n, fmt.Sprintf("%d of %d", got, n), err
	})
	made := time.Since(start)

	start = time.Now()
	_, err = w.appSets.Patch(ctx, "hubkit-sites", types.MergePatchType,
		[]byte(`{"spec":{"template":{"metadata":{"labels":{"hubkit.dev/bench":"updated"}}}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	scenario.Until(t, "every Application updated", 5*time.Minute, func(ctx context.Context) (bool, string, error) {
		got, err := count(ctx, "hubkit.dev/bench=updated")
		return got == n, fmt.Sprintf("%d of %d", got, n), err
	})
	updated := time.Since(start)
	rss, err := argo.PeakRSS("applicationset-controller")
	require.NoError(t, err)
	line := fmt.Sprintf("fleet-applicationset: %d site Applications made in %s, all updated after a template change in %s, the ApplicationSet controller's peak RSS %d MiB",
		n, made.Round(100*time.Millisecond), updated.Round(100*time.Millisecond), rss>>20)
	t.Log(line)
	writeFigure(t, "fleet-applicationset", line)
}
