package singleton_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

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

// The processor never panics on any input, and whatever it accepts, it
// accepts again unchanged: a second run on its output changes no item.
func FuzzProcessor(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, input []byte) {
		first, err := execute(input)
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

// execute runs p (default: the function) on a ResourceList, as kustomize and kpt do.
func execute(input []byte, p ...framework.ResourceListProcessor) ([]byte, error) {
	var proc framework.ResourceListProcessor = singleton.Processor{}
	if len(p) > 0 {
		proc = p[0]
	}
	var out bytes.Buffer
	err := framework.Execute(proc, &kio.ByteReadWriter{Reader: bytes.NewReader(input), Writer: &out})
	return out.Bytes(), err
}

func itemsOf(rl []byte) string {
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(rl)}).Read()
	if err != nil {
		return "unreadable: " + err.Error()
	}
	var out bytes.Buffer
	if err := (kio.ByteWriter{Writer: &out}).Write(nodes); err != nil {
		return "unwritable: " + err.Error()
	}
	return out.String()
}
