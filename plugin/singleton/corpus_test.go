package singleton_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// Nothing is lost, and nothing is touched that no rule changes: over
// hundreds of real manifests, as kustomize sends them (written by kyaml) and
// as people write them (each document as it is in its file, as an entry of
// items), every item the function does not change comes out byte for byte
// as it went in; a changed item is a workload that differs only in the
// fields the rules name, written as kyaml writes it (byte for byte what the
// function on kyaml's reader and writer emits); a removed item is an
// autoscaler; both ways give the same results; a failing run changes
// nothing; and a second run changes nothing.
func TestNothingLost(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*", "*.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 300)
	changed, removed, runs, written := 0, 0, 0, 0
	for _, file := range files {
		if _, ok := writtenList(t, file, ""); ok {
			written++
		}
		for name, config := range corpusConfigs(t, file) {
			forms := map[string][]byte{"as kustomize sends it": resourceList(t, file, config)}
			if rl, ok := writtenList(t, file, config); ok {
				forms["as written"] = rl
			}
			for form, rl := range forms {
				runs++
				t.Run(filepath.Base(file)+"/"+name+"/"+form, func(t *testing.T) {
					got, err := execute(rl)
					onKyaml, kyamlErr := executeOnKyaml(rl, singleton.Processor{})
					assert.Equal(t, resultLines(t, onKyaml), resultLines(t, got), "the same results as on kyaml")
					if err != nil {
						require.Error(t, kyamlErr)
						assert.Equal(t, listItems(t, rl), listItems(t, got), "a failing run changes nothing, byte for byte")
						return
					}
					require.NoError(t, kyamlErr)
					c, r := onlyRuleFieldsChanged(t, rl, got)
					changedAsKyamlWrites(t, got, onKyaml, c)
					changed, removed = changed+len(c), removed+r
					again, err := execute(got)
					require.NoError(t, err)
					assert.Equal(t, listItems(t, got), listItems(t, again), "a second run changes nothing")
				})
			}
		}
	}
	t.Logf("%d files (%d also as written), %d runs: %d workloads changed, %d autoscalers removed", len(files), written, runs, changed, removed)
	assert.NotZero(t, changed, "the corpus must exercise the rules, or this test proves little")
	assert.Greater(t, written, len(files)*3/4, "most files must also run as written")
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

// writtenList wraps each document of a manifest file, as it is written, as
// an entry of a ResourceList's items: "- " before its first line and two
// spaces before the others. It reports false for a file whose documents do
// not read as the same objects that way (a kind: List, which kyaml unwraps
// in a file of its own).
func writtenList(t *testing.T, file, config string) ([]byte, bool) {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var out bytes.Buffer
	out.WriteString("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n")
	var doc []string
	flush := func() {
		if strings.TrimSpace(stripComments(doc)) != "" {
			for i, l := range doc {
				switch {
				case i == 0:
					out.WriteString("- " + l)
				case l == "\n":
					out.WriteString(l)
				default:
					out.WriteString("  " + l)
				}
			}
		}
		doc = nil
	}
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l == "" {
			continue
		}
		if !strings.HasSuffix(l, "\n") {
			l += "\n"
		}
		if l == "---\n" || strings.HasPrefix(l, "--- ") {
			flush()
			continue
		}
		doc = append(doc, l)
	}
	flush()
	if config != "" {
		out.WriteString("functionConfig:\n")
		for _, l := range strings.SplitAfter(config, "\n") {
			if l != "" {
				out.WriteString("  " + l)
			}
		}
	}
	want, err := (&kio.ByteReader{Reader: bytes.NewReader(b), OmitReaderAnnotations: true}).Read()
	require.NoError(t, err)
	got, err := (&kio.ByteReader{Reader: bytes.NewReader(out.Bytes()), OmitReaderAnnotations: true}).Read()
	if err != nil || len(got) != len(want) {
		return nil, false
	}
	for i := range want {
		if want[i].MustString() != got[i].MustString() {
			return nil, false
		}
	}
	return out.Bytes(), true
}

func stripComments(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// listItems is the bytes of each item of a ResourceList whose items start
// at column 0, as kyaml, the function and these tests write them.
func listItems(t *testing.T, rl []byte) []string {
	t.Helper()
	var items []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			items = append(items, cur.String())
			cur.Reset()
		}
	}
	in := false
	for _, l := range strings.SplitAfter(string(rl), "\n") {
		switch {
		case l == "items:\n":
			in = true
		case !in || l == "":
		case strings.HasPrefix(l, "- ") || l == "-\n":
			flush()
			cur.WriteString(l)
		case l == "\n" || l[0] == ' ':
			cur.WriteString(l)
		default:
			flush()
			in = false
		}
	}
	flush()
	return items
}

// changedAsKyamlWrites checks that each changed item (by "Kind
// namespace/name") is written as the function on kyaml's reader and writer
// writes it.
func changedAsKyamlWrites(t *testing.T, got, onKyaml []byte, changed []string) {
	t.Helper()
	gotItems, kyamlItems := listItems(t, got), listItems(t, onKyaml)
	gotNodes, kyamlNodes := nodes(t, got), nodes(t, onKyaml)
	require.Len(t, gotItems, len(gotNodes))
	require.Len(t, kyamlItems, len(gotItems))
	for i, n := range gotNodes {
		if slices.Contains(changed, n.GetKind()+" "+n.GetNamespace()+"/"+n.GetName()) {
			assert.Equal(t, kyamlItems[i], gotItems[i], "a changed item is written as kyaml writes it")
			assert.Equal(t, kyamlNodes[i].MustString(), n.MustString())
		}
	}
}

func nodes(t *testing.T, rl []byte) []*yaml.RNode {
	t.Helper()
	n, err := (&kio.ByteReader{Reader: bytes.NewReader(rl), OmitReaderAnnotations: true}).Read()
	require.NoError(t, err)
	return n
}

// onlyRuleFieldsChanged compares what the function emitted (got) with its
// input (in): only autoscalers are removed, nothing is added, every item is
// its input's bytes, or is a workload that differs only in the rules'
// fields. It returns the changed items, as "Kind namespace/name", and how
// many were removed.
func onlyRuleFieldsChanged(t *testing.T, in, got []byte) (changed []string, removed int) {
	t.Helper()
	inItems, gotItems := listItems(t, in), listItems(t, got)
	inNodes, gotNodes := nodes(t, in), nodes(t, got)
	require.Len(t, inItems, len(inNodes), "the input splits into its items")
	require.Len(t, gotItems, len(gotNodes), "the output splits into its items")
	j := 0
	for i, w := range inNodes {
		k := w.GetApiVersion() + "/" + w.GetKind() + "/" + w.GetNamespace() + "/" + w.GetName()
		if j == len(gotNodes) || key(gotNodes[j]) != k {
			assert.Contains(t, []string{"HorizontalPodAutoscaler", "ScaledObject"}, w.GetKind(), "only autoscalers are removed: %s", k)
			removed++
			continue
		}
		g := gotNodes[j]
		if gotItems[j] != inItems[i] {
			assert.NotEqual(t, w.MustString(), g.MustString(), "%s is written anew, but nothing in it changed", k)
			changed = append(changed, w.GetKind()+" "+w.GetNamespace()+"/"+w.GetName())
			require.Contains(t, []string{"Deployment", "StatefulSet"}, w.GetKind(), "only workloads change: %s", k)
			assert.Equal(t, withoutRuleFields(t, w), withoutRuleFields(t, g), "%s changed beyond the rules' fields", k)
		}
		j++
	}
	assert.Len(t, gotNodes, j, "the function adds no item")
	return changed, removed
}

func key(n *yaml.RNode) string {
	return n.GetApiVersion() + "/" + n.GetKind() + "/" + n.GetNamespace() + "/" + n.GetName()
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
