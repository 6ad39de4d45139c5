package resourcelist_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/hubkit/hubkit/plugin/resourcelist"
)

// touch is a function that reads every item and, when it is told a name,
// sets a label on the item of that name: what a rule's fix does.
type touch struct{ name string }

func (f touch) Process(rl *framework.ResourceList) error {
	for _, n := range rl.Items {
		if f.name != "" && n.GetName() == f.name {
			if err := n.PipeE(yaml.SetLabel("touched", "yes")); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f touch) ProcessItems(_ *yaml.RNode, items []*resourcelist.Item) ([]*resourcelist.Item, framework.Results, error) {
	for _, it := range items {
		n, err := it.Load()
		if err != nil {
			return nil, nil, err
		}
		if f.name != "" && n.GetName() == f.name {
			if err := n.PipeE(yaml.SetLabel("touched", "yes")); err != nil {
				return nil, nil, err
			}
			it.MarkChanged()
		}
		it.Release()
	}
	return items, nil, nil
}

// inputs are the function's golden inputs: ResourceLists as kustomize and
// kpt send them, and a few as people write them.
func inputs(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "singleton", "testdata", "*", "*", "input.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		out[p] = b
	}
	return out
}

// Every item nothing changes comes back as its very bytes; the output reads,
// as kyaml reads it, as the same function's on kyaml's reader and writer.
func TestUnchangedItemsComeBackAsTheirBytes(t *testing.T) {
	itemByItem := 0
	for path, input := range inputs(t) {
		t.Run(path, func(t *testing.T) {
			var out bytes.Buffer
			err := resourcelist.Execute(touch{}, bytes.NewReader(input), &out)
			onKyaml, kyamlErr := onKyaml(touch{}, input)
			require.Equal(t, kyamlErr == nil, err == nil, "fails as on kyaml: %v, %v", err, kyamlErr)
			if err != nil {
				return
			}
			assert.Equal(t, kyamlItems(t, onKyaml), kyamlItems(t, out.Bytes()))
			raws, ok := resourcelist.ItemByItem(input)
			if !ok {
				return
			}
			itemByItem++
			outRaws, ok := resourcelist.ItemByItem(out.Bytes())
			require.True(t, ok, "the output of an input read item by item is read so too")
			assert.Equal(t, raws, outRaws)
		})
	}
	assert.Greater(t, itemByItem, 10, "most golden inputs are read item by item")
}

// A changed item is written as kyaml writes it; its neighbours as they came.
func TestAChangedItemIsWrittenAsKyamlWritesIt(t *testing.T) {
	input := []byte(`apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a}   # kept as it is
  data: {"k": 'v'}
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: b
  data: {"k": 'v'}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: c}
`)
	_, ok := resourcelist.ItemByItem(input)
	require.True(t, ok)
	var out bytes.Buffer
	require.NoError(t, resourcelist.Execute(touch{name: "b"}, bytes.NewReader(input), &out))
	onKyaml, err := onKyaml(touch{name: "b"}, input)
	require.NoError(t, err)
	assert.Equal(t, kyamlItems(t, onKyaml), kyamlItems(t, out.Bytes()))
	got, ok := resourcelist.ItemByItem(out.Bytes())
	require.True(t, ok)
	require.Len(t, got, 3)
	assert.Contains(t, string(got[0]), "metadata: {name: a}   # kept as it is\n  data: {\"k\": 'v'}\n")
	assert.Equal(t, "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: b\n    labels:\n      touched: 'yes'\n  data: {\"k\": 'v'}\n", string(got[1]))
	assert.Equal(t, "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n", string(got[2]))
}

// undone changes every item, then takes its changes back: what the
// function does when one fix of many fails.
type undone struct{}

func (undone) Process(*framework.ResourceList) error { return nil }

func (undone) ProcessItems(_ *yaml.RNode, items []*resourcelist.Item) ([]*resourcelist.Item, framework.Results, error) {
	for _, it := range items {
		n, err := it.Load()
		if err != nil {
			return nil, nil, err
		}
		before := n.Copy()
		if err := n.PipeE(yaml.SetLabel("touched", "yes")); err != nil {
			return nil, nil, err
		}
		it.MarkChanged()
		it.Undo(before)
	}
	return items, nil, nil
}

// An item whose change is undone comes back as the bytes it came as; one
// that came as a node, as that node.
func TestAnUndoneItemComesBackAsItCame(t *testing.T) {
	input := []byte("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}   # kept as it is\n  data: {\"k\": 'v'}\n")
	var out bytes.Buffer
	require.NoError(t, resourcelist.Execute(undone{}, bytes.NewReader(input), &out))
	assert.Equal(t, string(input), out.String())

	n := yaml.MustParse("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
	_, _, err := undone{}.ProcessItems(nil, []*resourcelist.Item{resourcelist.NodeItem(n)})
	require.NoError(t, err)
	assert.Equal(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n", n.MustString())
}

// What cannot be read item by item for sure goes to kyaml, whose output it
// then is, byte for byte.
func TestUnusualInputsGoToKyaml(t *testing.T) {
	for name, input := range map[string]string{
		"flow style":              "{apiVersion: config.kubernetes.io/v1, kind: ResourceList, items: [{apiVersion: v1, kind: ConfigMap, metadata: {name: a}}]}\n",
		"carriage returns":        "apiVersion: config.kubernetes.io/v1\r\nkind: ResourceList\r\nitems:\r\n- apiVersion: v1\r\n  kind: ConfigMap\r\n  metadata:\r\n    name: a\r\n",
		"a comment between items": "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n# between\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n",
		"an alias across items":   "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- &a\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- *a\n",
		"legacy and internal path annotations that differ": "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n    annotations:\n      config.kubernetes.io/path: a.yaml\n      internal.config.kubernetes.io/path: b.yaml\n",
		"not yaml": "items: [: not yaml\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, ok := resourcelist.ItemByItem([]byte(input))
			assert.False(t, ok)
			var out bytes.Buffer
			err := resourcelist.Execute(touch{name: "a"}, strings.NewReader(input), &out)
			want, wantErr := onKyaml(touch{name: "a"}, []byte(input))
			assert.Equal(t, fmt.Sprint(wantErr), fmt.Sprint(err))
			assert.Equal(t, string(want), out.String())
		})
	}
}

func TestEmptyStdinIsAnError(t *testing.T) {
	var out bytes.Buffer
	err := resourcelist.Execute(touch{}, resourcelist.NewInput(strings.NewReader("")), &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stdin is empty")
}

func TestCheckItemsExplainsItemsThatAreNoList(t *testing.T) {
	for input, want := range map[string]string{
		"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: nope\n": "the ResourceList's items is a scalar !!str (line 3), not a list",
		"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n":   "",
		"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n":              "",
	} {
		in := resourcelist.NewInput(strings.NewReader(input))
		_, err := io.ReadAll(in)
		require.NoError(t, err)
		if err := in.CheckItems(); want == "" {
			assert.NoError(t, err, input)
		} else {
			assert.ErrorContains(t, err, want)
		}
	}
	var none *resourcelist.Input
	assert.NoError(t, none.CheckItems())
}

// An unreadable input is reported on one line, prefixed with the
// function's name, and exits 1; help is kyaml's command's, with the usage.
func TestMainPrintsWhatNeverReachedTheFunction(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := resourcelist.Main(touch{}, "fn", "usage text", nil, resourcelist.NewInput(strings.NewReader("items: [: not yaml")), &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Regexp(t, `^fn: error: failed to read ResourceList input`, stderr.String())

	stdout.Reset()
	code = resourcelist.Main(touch{}, "fn", "usage text", []string{"--help"}, resourcelist.NewInput(strings.NewReader("")), &stdout, &stderr)
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout.String(), "usage text")
}

func onKyaml(f framework.ResourceListProcessor, input []byte) ([]byte, error) {
	var out bytes.Buffer
	err := framework.Execute(f, &kio.ByteReadWriter{Reader: bytes.NewReader(input), Writer: &out, KeepReaderAnnotations: true})
	return out.Bytes(), err
}

// kyamlItems is each item of a ResourceList as kyaml reads and writes it,
// without kyaml's own bookkeeping annotation.
func kyamlItems(t *testing.T, rl []byte) []string {
	t.Helper()
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(rl)}).Read()
	require.NoError(t, err)
	out := make([]string, len(nodes))
	for i, n := range nodes {
		c := n.Copy()
		_, _ = c.Pipe(yaml.ClearAnnotation(kioutil.InternalAnnotationsMigrationResourceIDAnnotation))
		_ = yaml.ClearEmptyAnnotations(c)
		out[i] = c.MustString()
	}
	return out
}
