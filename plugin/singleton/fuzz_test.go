package singleton_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/hubkit/hubkit/plugin/resourcelist"
	"github.com/hubkit/hubkit/plugin/singleton"
)

// seeds adds every golden input and every bad input as a seed.
func seeds(f *testing.F) {
	for _, glob := range []string{
		filepath.Join("testdata", "*", "*", "input.yaml"),
		filepath.Join("..", "testdata", "badinput", "*", "stdin.yaml"),
	} {
		paths, err := filepath.Glob(glob)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// The function never panics on any input; it gives the results, the error
// and the items (as kyaml reads them) that it gives on kyaml's reader and
// writer; an input it reads itself (resourcelist.ItemByItem) comes back with every
// item that no rule changed as its very bytes, all of them when it fails;
// and whatever it accepts, it accepts again unchanged: a second run on its
// output changes no item.
func FuzzProcessor(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, input []byte) {
		first, err := execute(input)
		onKyaml, kyamlErr := executeOnKyaml(input, singleton.Processor{})
		if raws, ok := resourcelist.ItemByItem(input); ok && kyamlDropsAKeyGivenTwice(input) {
			// kyaml's framework removed one of the two before the processor
			// ran; reading the bytes, the function sees both and refuses. (An
			// input it hands to kyaml's framework instead is read as kyaml
			// reads it, and held to kyaml's below.)
			if err == nil {
				t.Fatalf("a key given twice passed\ninput:\n%s", input)
			}
			passedThrough(t, input, raws, first, true)
			return
		}
		if (err == nil) != (kyamlErr == nil) {
			t.Fatalf("fails %v, on kyaml %v\ninput:\n%s", err, kyamlErr, input)
		}
		if a, b := resultsOf(first), resultsOf(onKyaml); a != b {
			t.Fatalf("results differ from kyaml's\ninput:\n%s\nresults:\n%s\non kyaml:\n%s", input, a, b)
		}
		if a, b := itemsOf(asKyamlWrites(first)), itemsOf(asKyamlWrites(onKyaml)); a != b {
			t.Fatalf("items differ from kyaml's\ninput:\n%s\nitems:\n%s\non kyaml:\n%s", input, a, b)
		}
		if raws, ok := resourcelist.ItemByItem(input); ok {
			passedThrough(t, input, raws, first, err != nil)
		}
		if err != nil {
			return
		}
		second, err := execute(first)
		if err != nil {
			t.Fatalf("the output of a successful run fails a second run: %v\ninput:\n%s\noutput:\n%s", err, input, first)
		}
		if a, b := itemsOf(first), itemsOf(second); a != b {
			t.Fatalf("a second run changed the items\nfirst:\n%s\nsecond:\n%s", a, b)
		}
	})
}

// passedThrough checks that every input item (raws, in order) that comes
// out as it went in, as kyaml reads it, comes out as its bytes; all of them
// when the run failed. An item that comes out as its very bytes passed
// through, whatever kyaml reads there: kyaml reads a last item's trailing
// comments differently once results follow it (its own functions' output
// reads the same way: FuzzProcessor holds the items to kyaml's).
func passedThrough(t *testing.T, input []byte, raws [][]byte, output []byte, failed bool) {
	t.Helper()
	outRaws, ok := resourcelist.ItemByItem(output)
	if !ok {
		t.Fatalf("the output of an input read as bytes is not\ninput:\n%s\noutput:\n%s", input, output)
	}
	in, out := kyamlItems(t, input), kyamlItems(t, output)
	if len(in) != len(raws) || len(out) != len(outRaws) {
		t.Fatalf("items split %d and %d, read %d and %d", len(raws), len(outRaws), len(in), len(out))
	}
	j := 0
	for i := range in {
		if j < len(out) && bytes.Equal(raws[i], outRaws[j]) {
			j++ // passed through as its bytes
			continue
		}
		if j < len(out) && in[i] == out[j] {
			t.Fatalf("item %d is unchanged but written anew\nin:\n%s\nout:\n%s", i, raws[i], outRaws[j])
		}
		if failed {
			t.Fatalf("a failing run changed item %d\nin:\n%s", i, raws[i])
		}
		if j < len(out) && sameObject(in[i], out[j]) {
			j++ // changed by a rule
		}
	}
}

// kyamlDropsAKeyGivenTwice reports whether kyaml's framework, before its
// processor reads the items, removes one of two keys given twice in an item:
// setting its bookkeeping annotation, it first clears an empty metadata, and
// an empty metadata.annotations (yaml.ClearEmptyAnnotations), so of an item
// that gives metadata twice, once empty, the processor sees one.
func kyamlDropsAKeyGivenTwice(input []byte) bool {
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(input), OmitReaderAnnotations: true}).Read()
	if err != nil {
		return false
	}
	for _, n := range nodes {
		cleared := n.Copy()
		if yaml.ClearEmptyAnnotations(cleared) == nil && keysGivenTwice(n) != keysGivenTwice(cleared) {
			return true
		}
	}
	return false
}

// keysGivenTwice counts the keys given more than once in n and in its (first)
// metadata, the two mappings yaml.ClearEmptyAnnotations clears in.
func keysGivenTwice(n *yaml.RNode) int {
	count := func(m *yaml.RNode) int {
		if m == nil || m.YNode().Kind != yaml.MappingNode {
			return 0
		}
		seen, twice := map[string]bool{}, 0
		for i := 0; i+1 < len(m.YNode().Content); i += 2 {
			k := m.YNode().Content[i].Value
			if seen[k] {
				twice++
			}
			seen[k] = true
		}
		return twice
	}
	meta, _ := n.Pipe(yaml.Lookup("metadata"))
	return count(n) + count(meta)
}

// kyamlItems is each item of a ResourceList as kyaml reads and writes it,
// without kyaml's own bookkeeping annotation.
func kyamlItems(t *testing.T, rl []byte) []string {
	t.Helper()
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(rl)}).Read()
	if err != nil {
		t.Fatalf("unreadable: %v\n%s", err, rl)
	}
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = withoutBookkeeping(n).MustString()
	}
	return out
}

// sameObject reports whether two items, as kyamlItems gives them, name the
// same object.
func sameObject(a, b string) bool {
	id := func(s string) string {
		n, err := yaml.Parse(s)
		if err != nil {
			return s
		}
		return n.GetApiVersion() + "/" + n.GetKind() + "/" + n.GetNamespace() + "/" + n.GetName()
	}
	return id(a) == id(b)
}

// withoutBookkeeping is n without the annotation kyaml's framework sets and
// clears on every item (and so drops, when it came in).
func withoutBookkeeping(n *yaml.RNode) *yaml.RNode {
	c := n.Copy()
	_, _ = c.Pipe(yaml.ClearAnnotation(kioutil.InternalAnnotationsMigrationResourceIDAnnotation))
	_ = yaml.ClearEmptyAnnotations(c)
	return c
}

// resultsOf is a ResourceList's results, as kyaml reads them, sorted: the
// schema validator reports a config's problems in no fixed order.
func resultsOf(rl []byte) string {
	r := &kio.ByteReader{Reader: bytes.NewReader(rl)}
	if _, err := r.Read(); err != nil || r.Results == nil {
		return ""
	}
	elems, err := r.Results.Elements()
	if err != nil {
		return r.Results.MustString()
	}
	lines := make([]string, len(elems))
	for i, e := range elems {
		lines[i] = e.MustString()
	}
	slices.Sort(lines)
	return strings.Join(lines, "---\n")
}

// The config loader never panics, whatever functionConfig it is given.
func FuzzLoadSpec(f *testing.F) {
	seeds(f)
	f.Add([]byte("apiVersion: fn.hubkit.dev/v1alpha1\nkind: Singleton\nspec:\n  mode: audit\n"))
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\ndata:\n  port: \"8080\"\n"))
	f.Fuzz(func(t *testing.T, config []byte) {
		node, err := yaml.Parse(string(config))
		if err != nil {
			return
		}
		_, _ = singleton.LoadSpec(node)
	})
}

// execute runs the function on a ResourceList as it ships, as kustomize and
// kpt run it.
func execute(input []byte) ([]byte, error) {
	var out bytes.Buffer
	err := resourcelist.Execute(singleton.Processor{}, bytes.NewReader(input), &out)
	return out.Bytes(), err
}

// executeOnKyaml runs p on kyaml's reader and writer (framework.Execute),
// as kyaml's command.Build runs it.
func executeOnKyaml(input []byte, p framework.ResourceListProcessor) ([]byte, error) {
	var out bytes.Buffer
	err := framework.Execute(p, &kio.ByteReadWriter{Reader: bytes.NewReader(input), Writer: &out, KeepReaderAnnotations: true})
	return out.Bytes(), err
}

// itemsOf is the items of a ResourceList as kyaml reads and writes them,
// without kyaml's own bookkeeping annotation.
// asKyamlWrites is a ResourceList as kyaml's reader and writer give it back:
// yaml.v3 writes a comment inside an item differently inside the items list
// than on its own (a blank line in it is kept or not), so the function's
// output, which gives every unchanged item back as its bytes, is compared
// with kyaml's once kyaml has written both (passedThrough holds the bytes).
func asKyamlWrites(rl []byte) []byte {
	var out bytes.Buffer
	rw := &kio.ByteReadWriter{Reader: bytes.NewReader(rl), Writer: &out, KeepReaderAnnotations: true}
	nodes, err := rw.Read()
	if err != nil {
		return rl
	}
	if err := rw.Write(nodes); err != nil {
		return rl
	}
	return out.Bytes()
}

func itemsOf(rl []byte) string {
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(rl)}).Read()
	if err != nil {
		return "unreadable: " + err.Error()
	}
	for i, n := range nodes {
		nodes[i] = withoutBookkeeping(n)
	}
	var out bytes.Buffer
	if err := (kio.ByteWriter{Writer: &out}).Write(nodes); err != nil {
		return "unwritable: " + err.Error()
	}
	return out.String()
}
