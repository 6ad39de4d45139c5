package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/internal/overlays"
	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/types"
)

// The renders the tests apply: each overlay built by kustomize and the
// function as users build it, and the changes the real nodes need.

// rendered builds an overlay as users do: the real CLI, the function on PATH.
func rendered(t *testing.T, overlay string) []*unstructured.Unstructured {
	t.Helper()
	e2e.fns.OnPath(t)
	out, _, err := render.CLI(context.Background(), testenv.Kustomize(t), filepath.Join(e2e.root, "overlays", overlay))
	require.NoError(t, err)
	objs, err := cluster.Objects(out)
	require.NoError(t, err)
	return objs
}

// realNodeRender renders overlays/<overlay> as a kustomization of the
// test's own that lists it: the stand-in under the Hub's image name at tag
// (imported into the nodes' containerd, as `kind load` does: never
// pulled), a CPU request the real nodes can give to the Hub's container in
// its workload of kind, and edit's further changes (it may write files
// into dir, the kustomization's).
func realNodeRender(t *testing.T, overlay, kind, tag string, edit func(dir string, k *types.Kustomization)) []*unstructured.Unstructured {
	t.Helper()
	dir := t.TempDir()
	k := types.Kustomization{
		TypeMeta:  types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind},
		Resources: []string{testenv.RelPath(t, dir, filepath.Join(e2e.root, "overlays", overlay))},
		Images:    []types.Image{{Name: "registry.example.com/highbyte/intelligence-hub", NewName: prodImage, NewTag: tag}},
		Patches: []types.Patch{{Patch: fmt.Sprintf(
			"{apiVersion: apps/v1, kind: %s, metadata: {name: %s}, spec: {template: {spec: {containers: [{name: %s, resources: {requests: {cpu: 100m}}}]}}}}",
			kind, names.Hub, names.HubContainer)}},
	}
	if edit != nil {
		edit(dir, &k)
	}
	raw, err := yaml.Marshal(&k)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), raw, 0o644))
	return renderedForRealNode(t, dir)
}

// renderedForRealNode builds dir as users do (the function on PATH), with
// every workload's images never pulled: the real nodes have them imported.
func renderedForRealNode(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	e2e.fns.OnPath(t)
	out, err := render.Krusty(dir)
	require.NoError(t, err)
	objs, err := cluster.Objects(out)
	require.NoError(t, err)
	for _, o := range objs {
		if o.GetKind() == "Deployment" || o.GetKind() == "StatefulSet" {
			neverPull(t, o)
		}
	}
	return objs
}

// overlayRow is one overlay's row of the table.
func overlayRow(t *testing.T, name string) overlays.Overlay {
	t.Helper()
	o, err := overlays.Find(overlayTable(t), name)
	require.NoError(t, err)
	return o
}

// overlayTable is overlays/overlays.yaml.
func overlayTable(t *testing.T) []overlays.Overlay {
	t.Helper()
	table, err := overlays.Load(e2e.root)
	require.NoError(t, err)
	return table
}

func split(objs []*unstructured.Unstructured) (namespaces, rest []*unstructured.Unstructured) {
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			namespaces = append(namespaces, o)
		} else {
			rest = append(rest, o)
		}
	}
	return namespaces, rest
}

// hubImage is the image the rendered overlay runs the Hub from.
func hubImage(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		require.NoError(t, err)
		for _, c := range containers {
			if m := c.(map[string]any); m["name"] == "hub" {
				return m["image"].(string)
			}
		}
	}
	t.Fatal("the render has no Deployment with a container hub")
	return ""
}

func readRepoFile(t *testing.T, path ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{e2e.root}, path...)...))
	require.NoError(t, err)
	return b
}

// exampleDeployment is prod's example deployment file with a token filled in.
func exampleDeployment(t *testing.T) []byte {
	t.Helper()
	b := readRepoFile(t, "overlays", "prod", "secrets", "deployment.example.json")
	require.Contains(t, string(b), "<token>")
	return bytes.ReplaceAll(b, []byte("<token>"), []byte(e2eToken))
}

func manifests(t *testing.T, glob string) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(e2e.root, glob))
	require.NoError(t, err)
	require.NotEmpty(t, files, glob)
	var objs []*unstructured.Unstructured
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		o, err := cluster.Objects(raw)
		require.NoError(t, err)
		objs = append(objs, o...)
	}
	return objs
}

// moduleDir downloads a module through the Go module proxy and returns its directory.
func moduleDir(t *testing.T, module string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", module).Output()
	require.NoError(t, err, "go mod download %s", module)
	var m struct{ Dir, Error string }
	require.NoError(t, json.Unmarshal(out, &m))
	require.Empty(t, m.Error)
	return m.Dir
}

// hubNamespace is the namespace an overlay puts the Hub's Deployment in.
func hubNamespace(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == "Deployment" && o.GetName() == names.Hub {
			return o.GetNamespace()
		}
	}
	require.FailNow(t, "the render has no Deployment "+names.Hub)
	return ""
}

// neverPull sets every container of a Deployment, init containers too, to
// run the image containerd has, as kind's overlay does for its one.
func neverPull(t *testing.T, d *unstructured.Unstructured) {
	t.Helper()
	for _, list := range []string{"initContainers", "containers"} {
		cs, _, err := unstructured.NestedSlice(d.Object, "spec", "template", "spec", list)
		require.NoError(t, err)
		for _, c := range cs {
			c.(map[string]any)["imagePullPolicy"] = string(corev1.PullIfNotPresent)
		}
		if cs != nil {
			require.NoError(t, unstructured.SetNestedSlice(d.Object, cs, "spec", "template", "spec", list))
		}
	}
}
