package singleton

import (
	"bytes"
	"io"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio"

	"github.com/hubkit/hubkit/bench/gen"
)

const benchItems = 10000

func benchInput(b *testing.B, config gen.Config) []byte {
	b.Helper()
	var buf bytes.Buffer
	if err := gen.ResourceList(&buf, benchItems, config); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// The whole function on 10k items, as kustomize calls it: read, process, write.
func BenchmarkProcess(b *testing.B) {
	for _, mode := range []gen.Config{gen.Enforce, gen.Audit} {
		input := benchInput(b, mode)
		b.Run(string(mode), func(b *testing.B) {
			b.SetBytes(int64(len(input)))
			for b.Loop() {
				_ = framework.Execute(Processor{}, &kio.ByteReadWriter{Reader: bytes.NewReader(input), Writer: io.Discard})
			}
		})
	}
}

// Each step on 10k items already read: building the index, then each rule.
func BenchmarkRules(b *testing.B) {
	input := benchInput(b, gen.Enforce)
	rw := &kio.ByteReadWriter{Reader: bytes.NewReader(input)}
	items, err := rw.Read()
	if err != nil {
		b.Fatal(err)
	}
	spec, err := LoadSpec(rw.FunctionConfig)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			buildIndex(items, &spec)
		}
	})
	ix := buildIndex(items, &spec)
	for _, r := range rules() {
		b.Run(r.id, func(b *testing.B) {
			for b.Loop() {
				r.check(ix)
			}
		})
	}
}
