package overlays_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/overlays"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

// hubContainer is the Hub's container of the one workload in m.
func hubContainer(t *testing.T, m *contract.Manifest) corev1.Container {
	t.Helper()
	var pods []corev1.PodSpec
	for _, d := range m.Deployments {
		pods = append(pods, d.Spec.Template.Spec)
	}
	for _, s := range m.StatefulSets {
		pods = append(pods, s.Spec.Template.Spec)
	}
	require.Len(t, pods, 1)
	for _, c := range pods[0].Containers {
		if c.Name == "hub" {
			return c
		}
	}
	t.Fatal("no container hub")
	return corev1.Container{}
}

func probePath(p *corev1.Probe) string {
	switch {
	case p == nil:
		return "none"
	case p.HTTPGet != nil:
		return "GET " + p.HTTPGet.Path
	case p.TCPSocket != nil:
		return "TCP"
	}
	return "other"
}

// Which health endpoints a Hub version has is one setting: an overlay lists
// components/health-v2 or it does not. The overlays without it keep the
// probes for Hubs without /v2/* (GET / and TCP, the function's), those with
// it probe /v2/livez for liveness, never /v2/readyz; and health-v2 on a
// single Hub (a copy of dev) keeps the contract, ready on /v2/readyz.
func TestHealthEndpointsAreOneSetting(t *testing.T) {
	root := testenv.RepoRoot(t)
	for _, o := range table(t, root) {
		t.Run(o.Name, func(t *testing.T) {
			k, err := os.ReadFile(filepath.Join(o.Dir(root), "kustomization.yaml"))
			require.NoError(t, err)
			v2 := strings.Contains(string(k), "components/health-v2")
			m, err := contract.Parse(builders()[0].build(t, o.Dir(root)))
			require.NoError(t, err)
			hub := hubContainer(t, m)
			got := []string{probePath(hub.ReadinessProbe), probePath(hub.LivenessProbe), probePath(hub.StartupProbe)}
			switch {
			case !v2:
				assert.Equal(t, []string{"GET /", "TCP", "TCP"}, got, "a Hub without /v2/*")
			case o.Members > 0:
				assert.Equal(t, []string{"GET " + contract.Livez, "GET " + contract.Livez, "GET " + contract.Livez}, got, "an HA member: Ready while alive")
			default:
				assert.Equal(t, []string{"GET " + contract.Readyz, "GET " + contract.Livez, "GET " + contract.Livez}, got)
			}
		})
	}

	t.Run("a single Hub with /v2/*", func(t *testing.T) {
		dir := t.TempDir()
		for _, d := range []string{"base", "components", "functions", "overlays"} {
			require.NoError(t, os.CopyFS(filepath.Join(dir, d), os.DirFS(filepath.Join(root, d))))
		}
		v2 := filepath.Join(dir, "overlays", "dev-v2")
		require.NoError(t, os.MkdirAll(v2, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(v2, "kustomization.yaml"), []byte(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../dev
components:
- ../../components/health-v2
transformers:
- ../../functions/singleton
`), 0o644))
		dev, err := overlays.Find(table(t, root), "dev")
		require.NoError(t, err)
		m := keepsItsPromises(t, builders()[0].build(t, v2), dev.Expect)
		hub := hubContainer(t, m)
		assert.Equal(t, []string{"GET " + contract.Readyz, "GET " + contract.Livez, "GET " + contract.Livez},
			[]string{probePath(hub.ReadinessProbe), probePath(hub.LivenessProbe), probePath(hub.StartupProbe)})
	})
}

// components/cloudnative-pg gives prod-ha a CloudNativePG Cluster whose
// <cluster>-app Secret is the one every member reads its JDBC URI from, and
// prod-ha keeps its contract with it.
func TestCloudNativePGWiresTheHub(t *testing.T) {
	root := testenv.RepoRoot(t)
	ha, err := overlays.Find(table(t, root), "prod-ha")
	require.NoError(t, err)
	out := builders()[0].build(t, filepath.Join(root, "overlays", "testdata", "ha-cloudnative-pg"))
	m := keepsItsPromises(t, out, ha.Expect)
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(out), OmitReaderAnnotations: true}).Read()
	require.NoError(t, err)
	var clusters []string
	for _, n := range nodes {
		if n.GetApiVersion() == "postgresql.cnpg.io/v1" && n.GetKind() == "Cluster" {
			clusters = append(clusters, n.GetName())
			assert.Equal(t, ha.Namespace, n.GetNamespace())
		}
	}
	require.Len(t, clusters, 1)
	assert.Equal(t, contract.HADatabaseSecret, clusters[0]+"-app", "CloudNativePG names its application Secret <cluster>-app")
	var ref *corev1.SecretKeySelector
	for _, e := range hubContainer(t, m).Env {
		if e.Name == contract.HAJDBCEnv && e.ValueFrom != nil {
			ref = e.ValueFrom.SecretKeyRef
		}
	}
	require.NotNil(t, ref)
	assert.Equal(t, clusters[0]+"-app", ref.Name)
	assert.Equal(t, "jdbc-uri", ref.Key, "the key CloudNativePG writes the JDBC URI to")
}

// overlays/prod-ha/secrets makes the database's Secret from a git-ignored
// file, under the name and key the members read.
func TestProdHASecretsFromIgnoredFiles(t *testing.T) {
	root := testenv.RepoRoot(t)
	src := filepath.Join(root, "overlays", "prod-ha", "secrets")
	out, err := exec.Command("git", "-C", root, "check-ignore", "-q", filepath.Join(src, "jdbc-uri")).CombinedOutput()
	assert.NoError(t, err, "jdbc-uri must be git-ignored: it holds the database's password %s", out)
	dir := filepath.Join(t.TempDir(), "secrets")
	require.NoError(t, os.CopyFS(dir, os.DirFS(src)))
	example, err := os.ReadFile(filepath.Join(src, "jdbc-uri.example"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(example), "jdbc:postgresql://"), "a PostgreSQL JDBC URI")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "jdbc-uri"), example, 0o600))
	rendered, err := render.Krusty(dir)
	require.NoError(t, err)
	var s corev1.Secret
	require.NoError(t, yaml.UnmarshalStrict(rendered, &s))
	ha, err := overlays.Find(table(t, root), "prod-ha")
	require.NoError(t, err)
	assert.Equal(t, ha.Namespace, s.Namespace)
	assert.Equal(t, contract.HADatabaseSecret, s.Name)
	assert.Equal(t, string(example), string(s.Data[contract.HADatabaseKey]))
}

// The init container ha-create, as prod-ha renders it, run by /bin/sh with
// a java that records its arguments (and appData in a temporary folder):
// HAMain create runs on ordinal 0 only, once per claim (the marker), again
// after a failed create, never on another member, and -j is the literal
// ${HUB_JDBC_URI} for the Hub to expand: argv holds the reference, never
// the URI.
func TestHACreateRunsOnceOnThePreferredPrimary(t *testing.T) {
	root := testenv.RepoRoot(t)
	m, err := contract.Parse(builders()[0].build(t, filepath.Join(root, "overlays", "prod-ha")))
	require.NoError(t, err)
	require.Len(t, m.StatefulSets, 1)
	var script string
	for _, c := range m.StatefulSets[0].Spec.Template.Spec.InitContainers {
		if c.Name == "ha-create" {
			require.Len(t, c.Command, 3)
			require.Equal(t, []string{"/bin/sh", "-c"}, c.Command[:2])
			script = c.Command[2]
		}
	}
	require.NotEmpty(t, script, "prod-ha has the init container ha-create")
	require.Contains(t, script, hub.AppData)

	run := func(t *testing.T, appData, pod string, javaFails bool) []string {
		t.Helper()
		bin := t.TempDir()
		calls := filepath.Join(bin, "calls")
		exit := "0"
		if javaFails {
			exit = "1"
		}
		java := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> " + calls + "\nexit " + exit + "\n"
		require.NoError(t, os.WriteFile(filepath.Join(bin, "java"), []byte(java), 0o755))
		cmd := exec.Command("/bin/sh", "-c", strings.ReplaceAll(script, hub.AppData, appData))
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "POD_NAME=" + pod, "HUB_JDBC_URI=jdbc:postgresql://db:5432/hub?user=hub&password=hunter2"}
		out, err := cmd.CombinedOutput()
		if javaFails {
			require.Error(t, err, "a failed create fails the init container: %s", out)
		} else {
			require.NoError(t, err, "%s", out)
		}
		b, err := os.ReadFile(calls)
		if os.IsNotExist(err) {
			return nil
		}
		require.NoError(t, err)
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	create := "-cp intelligencehub-runtime.jar:lib/* com.highbyte.intelligencehub.runtime.HAMain create -n hbih-0 -j ${HUB_JDBC_URI}"

	t.Run("the preferred primary's first start, then its restarts", func(t *testing.T) {
		appData := t.TempDir()
		assert.Equal(t, []string{create}, run(t, appData, "hbih-0", false))
		assert.FileExists(t, filepath.Join(appData, ".hubkit-ha-created"))
		assert.Empty(t, run(t, appData, "hbih-0", false), "a restart finds the marker")
	})
	t.Run("a failed create is tried again at the next start", func(t *testing.T) {
		appData := t.TempDir()
		assert.Equal(t, []string{create}, run(t, appData, "hbih-0", true))
		assert.NoFileExists(t, filepath.Join(appData, ".hubkit-ha-created"))
		assert.Equal(t, []string{create}, run(t, appData, "hbih-0", false))
	})
	t.Run("another member never runs create", func(t *testing.T) {
		for _, pod := range []string{"hbih-1", "hbih-10", "hbih-2"} {
			assert.Empty(t, run(t, t.TempDir(), pod, false), pod)
		}
	})
}

// components/high-availability needs components/certificate-store before it:
// members with stores of their own would find the primary's secrets
// unreadable after a failover. An overlay that lists HA without it fails to
// render, and the error names the certificate store's init container; with
// it (and nothing else of prod), it renders.
func TestHAWithoutTheCertificateStoreFailsTheRender(t *testing.T) {
	root := testenv.RepoRoot(t)
	overlay := func(t *testing.T, components ...string) string {
		dir := t.TempDir()
		k := "namespace: plant-7\nresources:\n- " + testenv.RelPath(t, dir, filepath.Join(root, "base")) + "\ncomponents:\n"
		for _, c := range components {
			k += "- " + testenv.RelPath(t, dir, filepath.Join(root, "components", c)) + "\n"
		}
		k += "transformers:\n- " + testenv.RelPath(t, dir, filepath.Join(root, "functions", "singleton")) + "\n"
		require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644))
		return dir
	}
	fns.OnPath(t)
	for _, components := range [][]string{
		{"health-v2", "high-availability"},
		{"appdata-defaults", "health-v2", "high-availability"},
	} {
		out, err := render.Krusty(overlay(t, components...))
		if assert.Error(t, err, "%v rendered:\n%s", components, out) {
			assert.Contains(t, err.Error(), "spec.template.spec.initContainers.[name=certificate-store].name` is missing", "%v", components)
		}
	}
	_, err := render.Krusty(overlay(t, "certificate-store", "health-v2", "high-availability"))
	assert.NoError(t, err)
}
