package singleton

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/hubkit/hubkit/bench/gen"
	"github.com/hubkit/hubkit/plugin/resourcelist"
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

// The whole function on 10k items, as kustomize calls it: read, process,
// write. resourcelist.Execute is what ships; on kyaml is the same processor on kyaml's
// reader and writer (framework.Execute), the path it falls back to.
func BenchmarkProcess(b *testing.B) {
	for _, mode := range []gen.Config{gen.Enforce, gen.Audit} {
		input := benchInput(b, mode)
		b.Run(string(mode), func(b *testing.B) {
			b.SetBytes(int64(len(input)))
			for b.Loop() {
				_ = resourcelist.Execute(Processor{}, bytes.NewReader(input), io.Discard)
			}
		})
	}
	input := benchInput(b, gen.Enforce)
	b.Run("enforce-on-kyaml", func(b *testing.B) {
		b.SetBytes(int64(len(input)))
		for b.Loop() {
			_ = framework.Execute(Processor{}, &kio.ByteReadWriter{Reader: bytes.NewReader(input), Writer: io.Discard})
		}
	})
}

// Each step on 10k items split from their ResourceList: building the index
// (which parses every item), then each rule.
func BenchmarkRules(b *testing.B) {
	l, ok := resourcelist.Split(benchInput(b, gen.Enforce))
	if !ok {
		b.Fatal("the bench input takes the slow path")
	}
	items := func() []*item { // as ProcessItems wraps them
		var out []*item
		for _, it := range l.Items() {
			out = append(out, &item{Item: it})
		}
		return out
	}
	spec, err := LoadSpec(l.FunctionConfig)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			if _, err := buildIndex(items(), &spec); err != nil {
				b.Fatal(err)
			}
		}
	})
	ix, err := buildIndex(items(), &spec)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range rules() {
		b.Run(r.id, func(b *testing.B) {
			for b.Loop() {
				r.check(ix)
			}
		})
	}
}

// Decoding the kinds the rules read on 10k items already read: into the
// views (objects.go), as buildIndex does, against k8s.io/api's types by the
// two roads an RNode has to them (k8s.io/api has no YAML tags, and its
// IntOrString no YAML decoder): its JSON through encoding/json, as
// sigs.k8s.io/yaml does, and its map through apimachinery's unstructured
// converter. objects.go's doc comment records the figures.
func BenchmarkDecode(b *testing.B) {
	rw := &kio.ByteReadWriter{Reader: bytes.NewReader(benchInput(b, gen.Enforce))}
	items, err := rw.Read()
	if err != nil {
		b.Fatal(err)
	}
	var decoded []*yaml.RNode
	for _, n := range items {
		switch n.GetKind() {
		case "Deployment", "StatefulSet", "Service", "Ingress":
			decoded = append(decoded, n)
		}
	}
	b.Run("views", func(b *testing.B) {
		for b.Loop() {
			for _, n := range decoded {
				var err error
				switch n.GetKind() {
				case "Deployment", "StatefulSet":
					var t podTemplate
					err = decodeField(n, &t, "spec", "template")
				case "Service":
					var s serviceSpec
					err = n.YNode().Decode(&s)
				case "Ingress":
					var s ingressSpec
					err = n.YNode().Decode(&s)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	apiObject := func(kind string) any {
		switch kind {
		case "Deployment":
			return &appsv1.Deployment{}
		case "StatefulSet":
			return &appsv1.StatefulSet{}
		case "Service":
			return &corev1.Service{}
		default:
			return &networkingv1.Ingress{}
		}
	}
	b.Run("k8s.io/api via JSON", func(b *testing.B) {
		for b.Loop() {
			for _, n := range decoded {
				j, err := n.MarshalJSON()
				if err == nil {
					err = json.Unmarshal(j, apiObject(n.GetKind()))
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("k8s.io/api via unstructured", func(b *testing.B) {
		for b.Loop() {
			for _, n := range decoded {
				m, err := n.Map()
				if err == nil {
					err = runtime.DefaultUnstructuredConverter.FromUnstructured(m, apiObject(n.GetKind()))
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
