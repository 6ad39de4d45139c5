package singleton_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/hubkit/hubkit/plugin/singleton"
)

// corpusConfigs are run over every corpus file: the defaults, and one that
// makes every Deployment and StatefulSet a singleton probed on the first port
// the file's first workload declares, so that real workloads are changed.
func corpusConfigs(t *testing.T, file string) map[string]string {
	t.Helper()
	configs := map[string]string{"defaults": ""}
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(b)}).Read()
	require.NoError(t, err)
	for _, n := range nodes {
		if n.GetKind() != "Deployment" && n.GetKind() != "StatefulSet" {
			continue
		}
		port, err := n.Pipe(yaml.Lookup("spec", "template", "spec", "containers", "0", "ports", "0", "containerPort"))
		if err == nil && port != nil {
			configs["every workload a singleton"] = `apiVersion: fn.hubkit.dev/v1alpha1
kind: Singleton
metadata:
  name: all
spec:
  singletons:
    select:
    - kinds: [Deployment, StatefulSet]
  probes:
    port: ` + port.YNode().Value + "\n"
		}
		break
	}
	return configs
}

// Nothing is lost: over hundreds of real manifests, every item the function
// does not target comes out byte for byte as an identity function on the same
// framework emits it; a targeted workload differs only in the fields the rules
// name; a removed item is an autoscaler; a failing run changes nothing; and a
// second run changes nothing.
func TestNothingLost(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*", "*.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 300)
	identity := framework.ResourceListProcessorFunc(func(*framework.ResourceList) error { return nil })
	changed, removed, runs := 0, 0, 0
	for _, file := range files {
		for name, config := range corpusConfigs(t, file) {
			runs++
			t.Run(filepath.Base(file)+"/"+name, func(t *testing.T) {
				rl := resourceList(t, file, config)
				want, err := execute(rl, identity)
				require.NoError(t, err)
				got, err := execute(rl, singleton.Processor{})
				if err != nil {
					assert.Equal(t, itemsOf(want), itemsOf(got), "a failing run changes nothing")
					return
				}
				c, r := onlyRuleFieldsChanged(t, want, got)
				changed, removed = changed+len(c), removed+r
				again, err := execute(got, singleton.Processor{})
				require.NoError(t, err)
				assert.Equal(t, itemsOf(got), itemsOf(again), "a second run changes nothing")
			})
		}
	}
	t.Logf("%d files, %d runs: %d workloads changed, %d autoscalers removed", len(files), runs, changed, removed)
	assert.NotZero(t, changed, "the corpus must exercise the rules, or this test proves little")
}

// resourceList wraps a manifest file's objects and a config as kustomize does.
func resourceList(t *testing.T, file, config string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(b), OmitReaderAnnotations: true}).Read()
	require.NoError(t, err)
	w := kio.ByteWriter{WrappingKind: kio.ResourceListKind, WrappingAPIVersion: kio.ResourceListAPIVersion}
	if config != "" {
		w.FunctionConfig = yaml.MustParse(config)
	}
	var out bytes.Buffer
	w.Writer = &out
	require.NoError(t, w.Write(nodes))
	return out.Bytes()
}

// onlyRuleFieldsChanged compares what the function emitted (got) with what
// an identity function emits for the same input (want): only autoscalers
// are removed, nothing is added, and an item that differs is a workload
// that differs only in the rules' fields. It returns the changed items, as
// "Kind namespace/name", and how many were removed.
func onlyRuleFieldsChanged(t *testing.T, want, got []byte) (changed []string, removed int) {
	t.Helper()
	wantItems, gotItems := byKey(t, want), byKey(t, got)
	for k, w := range wantItems {
		g, ok := gotItems[k]
		if !ok {
			assert.Contains(t, []string{"HorizontalPodAutoscaler", "ScaledObject"}, w.GetKind(), "only autoscalers are removed: %s", k)
			removed++
			continue
		}
		if w.MustString() == g.MustString() {
			continue
		}
		changed = append(changed, w.GetKind()+" "+w.GetNamespace()+"/"+w.GetName())
		require.Contains(t, []string{"Deployment", "StatefulSet"}, w.GetKind(), "only workloads change: %s", k)
		assert.Equal(t, withoutRuleFields(t, w), withoutRuleFields(t, g), "%s changed beyond the rules' fields", k)
	}
	assert.Len(t, gotItems, len(wantItems)-removed, "the function adds no item")
	return changed, removed
}

func byKey(t *testing.T, rl []byte) map[string]*yaml.RNode {
	t.Helper()
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(rl)}).Read()
	require.NoError(t, err)
	m := make(map[string]*yaml.RNode, len(nodes))
	for _, n := range nodes {
		m[n.GetApiVersion()+"/"+n.GetKind()+"/"+n.GetNamespace()+"/"+n.GetName()] = n
	}
	return m
}

// withoutRuleFields is the item without the fields the rules may set:
// spec.replicas, spec.strategy and each container's probes.
func withoutRuleFields(t *testing.T, n *yaml.RNode) string {
	t.Helper()
	c := n.Copy()
	spec, err := c.Pipe(yaml.Lookup("spec"))
	require.NoError(t, err)
	if spec != nil {
		require.NoError(t, spec.PipeE(yaml.Clear("replicas")))
		require.NoError(t, spec.PipeE(yaml.Clear("strategy")))
	}
	containers, err := c.Pipe(yaml.Lookup("spec", "template", "spec", "containers"))
	require.NoError(t, err)
	if containers != nil {
		elems, err := containers.Elements()
		require.NoError(t, err)
		for _, e := range elems {
			for _, f := range []string{"readinessProbe", "livenessProbe", "startupProbe"} {
				require.NoError(t, e.PipeE(yaml.Clear(f)))
			}
		}
	}
	return c.MustString()
}
