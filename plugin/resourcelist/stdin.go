package resourcelist

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// errEmptyInput is what reading an empty stdin returns: kustomize and kpt
// always send a ResourceList, and an empty one back would drop every resource.
var errEmptyInput = errors.New("stdin is empty: the function reads a ResourceList on stdin, as kustomize and kpt send it")

// inputHead is how much of stdin Input keeps, to explain an input that
// yields no items; a ResourceList that small is read twice at most.
const inputHead = 1 << 20

// Input is stdin as the function reads a ResourceList from it. Reading it to
// the end without a single byte is an error instead of an empty input, and
// it keeps the start of what it read, so that a ResourceList whose items
// come out empty can be checked for an items field that is not a list:
// kyaml reads `items: nope` as no items, and an empty render is what a GitOps
// tool with pruning turns into deleting the app.
type Input struct {
	r    io.Reader
	n    int64
	head bytes.Buffer
}

// NewInput wraps r.
func NewInput(r io.Reader) *Input { return &Input{r: r} }

func (in *Input) Read(p []byte) (int, error) {
	k, err := in.r.Read(p)
	if room := inputHead - in.head.Len(); room > 0 {
		in.head.Write(p[:min(k, room)])
	}
	in.n += int64(k)
	if err == io.EOF && in.n == 0 {
		return k, errEmptyInput
	}
	return k, err
}

// CheckItems explains a ResourceList that yielded no items: nil when its
// items field is absent, null or a list, or in is nil.
func (in *Input) CheckItems() error {
	if in == nil || in.n > inputHead {
		return nil
	}
	rl, err := yaml.Parse(in.head.String())
	if err != nil || rl.YNode().Kind != yaml.MappingNode {
		return nil // kyaml read it; whatever it is, it is not a ResourceList with bad items
	}
	items := rl.Field("items")
	if items == nil {
		return nil
	}
	if v := items.Value.YNode(); v.Kind == yaml.SequenceNode || (v.Kind == yaml.ScalarNode && v.Tag == yaml.NodeTagNull) {
		return nil
	}
	return fmt.Errorf("the ResourceList's items is a %s (line %d), not a list: send items as a list of objects (items: [] for none)",
		kindName(items.Value.YNode()), items.Value.YNode().Line)
}

// kindName names a YAML node's kind for a message.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "map"
	case yaml.ScalarNode:
		return "scalar " + n.ShortTag()
	case yaml.AliasNode:
		return "alias"
	default:
		return n.ShortTag()
	}
}

// ReadFiles reads resource files as `singleton config.yaml a.yaml b.yaml`
// names them: each file is its own stream, as `kubectl -f` reads them, so
// the last document of one never merges with the first of the next, and a
// file without a final newline is whole. "-" is stdin. A parse error names
// the file.
func ReadFiles(paths []string, stdin io.Reader) (*Stream, error) {
	s := &Stream{}
	for _, path := range paths {
		if err := readFile(s, path, stdin); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// readFile adds one stream of objects from path ("-": stdin) to s.
func readFile(s *Stream, path string, stdin io.Reader) error {
	if path == "-" {
		err := s.read(path, stdin)
		if errors.Is(err, errEmptyInput) {
			return errors.New("stdin is empty: give the manifests to fix on stdin (as Helm's post-renderer does) or as files after the config")
		}
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.read(path, f)
}

// Standalone runs p as `singleton config.yaml [file|-]...` does: the config
// from the first file, the items from the others (ReadFiles), or from stdin
// when there are none, as Helm's post-renderers are run (kyaml's standalone
// mode would read nothing, and print nothing: a post-renderer that prints
// nothing empties the release). It writes the items, not a ResourceList, to
// out, each item p left as it came as the bytes it came as (Stream), and
// returns p's error.
func Standalone(p framework.ResourceListProcessor, args []string, stdin io.Reader, out io.Writer) error {
	raw, err := os.ReadFile(args[0])
	if err != nil {
		return fmt.Errorf("functionConfig: %w", err)
	}
	fc, err := yaml.Parse(string(raw))
	if err != nil {
		return fmt.Errorf("functionConfig %s: %w", args[0], err)
	}
	files := args[1:]
	if len(files) == 0 {
		files = []string{"-"}
	}
	stream, err := ReadFiles(files, stdin)
	if err != nil {
		return err
	}
	rl := &framework.ResourceList{Items: stream.Items, FunctionConfig: fc}
	processErr := p.Process(rl)
	if err := stream.Write(out, rl.Items); err != nil {
		return errors.Join(processErr, fmt.Errorf("write the items: %w", err))
	}
	return processErr
}
