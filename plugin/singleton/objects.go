package singleton

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/hubkit/hubkit/internal/portref"
)

// The views below hold only the fields the rules read. They are decoded
// straight from the YAML nodes, once, and only for the kinds that matter.
//
// Why not k8s.io/api's types: they carry JSON tags only, and their
// IntOrString has no YAML decoder, so an RNode reaches them through its JSON
// (RNode.MarshalJSON, then encoding/json, as sigs.k8s.io/yaml does) or its
// map (RNode.Map, then apimachinery's unstructured converter), and either
// costs several times what decoding the views does. BenchmarkDecode, on the
// 10k-item bench input (its 2,000 Deployments, 1,000 StatefulSets, 1,000
// Services and 1,000 Ingresses), on a shared, loaded 2-core machine (times
// are noisy, bytes and allocations are not):
//
//	views                          42-71 ms    8.4 MB    275k allocs
//	k8s.io/api via unstructured   153-253 ms  53.1 MB   1.03M allocs
//	k8s.io/api via JSON           0.9-2.0 s    498 MB   3.33M allocs
//
// against 184-199 ms, 30.6 MB and 782k allocs for the whole index
// (BenchmarkRules/index, before the index parsed the items itself) and
// 2.7 s, 1.31 GB for the whole enforce run (BenchmarkProcess, when the
// function ran on kyaml's reader and writer: now its enforce-on-kyaml). The
// cheaper road would add 45 MB and 0.76M allocations
// to every run, most of them for fields no rule reads, and both lose what the YAML decoder
// gives: a type error that names its line. The views' leaf types are
// apimachinery's where one fits (intstr.IntOrString, a metav1.LabelSelector
// built from the decoded selector), and their ports are checked with its
// validation (rule_input.go).

// ref names an item in results and messages.
type ref struct {
	APIVersion, Kind, Namespace, Name string
}

func refOf(n *yaml.RNode) ref {
	return ref{APIVersion: n.GetApiVersion(), Kind: n.GetKind(), Namespace: n.GetNamespace(), Name: n.GetName()}
}

func (r ref) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// key is an object's namespace and name.
type key struct{ namespace, name string }

// podTemplate is spec.template of a Deployment or StatefulSet.
type podTemplate struct {
	Metadata struct {
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec struct {
		Containers []container `yaml:"containers"`
		Volumes    []volume    `yaml:"volumes"`
	} `yaml:"spec"`
}

type container struct {
	Name           string          `yaml:"name"`
	Ports          []containerPort `yaml:"ports"`
	ReadinessProbe *probe          `yaml:"readinessProbe"`
	LivenessProbe  *probe          `yaml:"livenessProbe"`
	StartupProbe   *probe          `yaml:"startupProbe"`
}

type containerPort struct {
	Name          string `yaml:"name"`
	ContainerPort int32  `yaml:"containerPort"`
}

// hasPort reports whether the container declares port p (by name or number).
func (c container) hasPort(p intstr.IntOrString) bool {
	for _, cp := range c.Ports {
		if portref.Names(p, cp.Name, cp.ContainerPort) {
			return true
		}
	}
	return false
}

type probe struct {
	HTTPGet   *probeAction `yaml:"httpGet"`
	TCPSocket *probeAction `yaml:"tcpSocket"`
	GRPC      *probeAction `yaml:"grpc"`
}

type probeAction struct {
	Host string       `yaml:"host"`
	Port *intOrString `yaml:"port"`
}

type volume struct {
	Name                  string `yaml:"name"`
	PersistentVolumeClaim *struct {
		ClaimName string `yaml:"claimName"`
	} `yaml:"persistentVolumeClaim"`
}

type claimSpec struct {
	Spec struct {
		AccessModes []string `yaml:"accessModes"`
	} `yaml:"spec"`
}

type serviceSpec struct {
	Spec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []servicePort     `yaml:"ports"`
	} `yaml:"spec"`
}

type servicePort struct {
	Name       string       `yaml:"name"`
	Port       int32        `yaml:"port"`
	TargetPort *intOrString `yaml:"targetPort"`
	NodePort   int32        `yaml:"nodePort"`
}

// target is the pod port p sends to: targetPort, or unset, port.
func (p servicePort) target() intstr.IntOrString {
	var t intstr.IntOrString
	if p.TargetPort != nil {
		t = p.TargetPort.IntOrString
	}
	return portref.ServiceTarget(p.Port, t)
}

// scaleTarget is the workload an autoscaler acts on.
type scaleTarget struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Name       string `yaml:"name"`
}

type ingressSpec struct {
	Spec struct {
		DefaultBackend *ingressBackend `yaml:"defaultBackend"`
		Rules          []struct {
			HTTP *struct {
				Paths []struct {
					Backend ingressBackend `yaml:"backend"`
				} `yaml:"paths"`
			} `yaml:"http"`
		} `yaml:"rules"`
	} `yaml:"spec"`
}

type ingressBackend struct {
	Service *struct {
		Name string `yaml:"name"`
		Port struct {
			Name   string `yaml:"name"`
			Number int32  `yaml:"number"`
		} `yaml:"port"`
	} `yaml:"service"`
}

type labelSelector struct {
	MatchLabels      map[string]string `yaml:"matchLabels"`
	MatchExpressions []struct {
		Key      string   `yaml:"key"`
		Operator string   `yaml:"operator"`
		Values   []string `yaml:"values"`
	} `yaml:"matchExpressions"`
}

// intOrString decodes a port or a count, which YAML gives as a number or a
// string, into apimachinery's intstr.IntOrString (the YAML library the
// views are decoded with does not know that type).
type intOrString struct{ intstr.IntOrString }

func (v *intOrString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a number or a string", n.Line)
	}
	if n.Tag == yaml.NodeTagInt {
		i, err := strconv.ParseInt(n.Value, 10, 32)
		if err != nil {
			return fmt.Errorf("line %d: %q is not a 32-bit integer", n.Line, n.Value)
		}
		v.IntOrString = intstr.FromInt32(int32(i))
		return nil
	}
	v.IntOrString = intstr.FromString(n.Value)
	return nil
}

// isSet reports whether v holds a number or a non-empty string.
func isSet(v intstr.IntOrString) bool { return v.Type == intstr.Int || v.StrVal != "" }

// reaches reports whether Kubernetes can reach port p of the container: a
// number always (a probe or a Service targets it whether or not it is
// declared), a name only when the container declares it.
func (c container) reaches(p intstr.IntOrString) bool {
	return p.Type == intstr.Int || c.hasPort(p)
}

// stringMap decodes the map at path of n (metadata.labels, data); missing is
// empty. kyaml's own GetLabels and GetDataMap panic on a map that is really
// a list (a fuzzer found it), so the rules read these through here.
func stringMap(n *yaml.RNode, path ...string) (map[string]string, error) {
	var m map[string]string
	if err := decodeField(n, &m, path...); err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(path, "."), err)
	}
	return m, nil
}

// decodeField decodes the field at path of n into v; a missing field leaves v
// as it is.
func decodeField(n *yaml.RNode, v any, path ...string) error {
	f, err := n.Pipe(yaml.Lookup(path...))
	if err != nil || f == nil {
		return err
	}
	return f.YNode().Decode(v)
}

// lookupCreate is yaml.LookupCreate that also fills a field given as null
// (`strategy:` with nothing after it): kyaml's returns the null node itself,
// and a field then set under it is never written (a fuzzer found it). The
// last field of path is made a kind, the others mappings; comments stay.
func lookupCreate(n *yaml.RNode, kind yaml.Kind, path ...string) (*yaml.RNode, error) {
	cur := n
	for i, name := range path {
		k, tag := yaml.MappingNode, yaml.NodeTagMap
		if i == len(path)-1 && kind == yaml.SequenceNode {
			k, tag = yaml.SequenceNode, yaml.NodeTagSeq
		}
		if f := cur.Field(name); f != nil && yaml.IsMissingOrNull(f.Value) {
			v := f.Value.YNode()
			v.Kind, v.Tag, v.Value, v.Style, v.Content = k, tag, "", 0, nil
		}
		next, err := cur.Pipe(yaml.LookupCreate(k, name))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", strings.Join(path[:i+1], "."), err)
		}
		cur = next
	}
	return cur, nil
}

func intNode(v int64) *yaml.RNode {
	return yaml.NewRNode(&yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagInt, Value: strconv.FormatInt(v, 10)})
}

func containerNames(cs []container) []string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return names
}
