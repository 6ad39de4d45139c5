package resourcelist

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Function is what Execute runs: a processor on kyaml's reader and writer
// (the slow path), which also takes the items Execute reads itself.
type Function interface {
	framework.ResourceListProcessor
	// ProcessItems is Process on the items Execute read item by item, with
	// the functionConfig fc: it returns the items to write, in order, the
	// results, and its error (the run failed). Its error is ErrUnusual,
	// before it has reported anything, for an item that kyaml would read
	// otherwise (Item.Load): Execute then hands the input to kyaml.
	ProcessItems(fc *yaml.RNode, items []*Item) ([]*Item, framework.Results, error)
}

// Execute runs f as kustomize and kpt run a function: a ResourceList on
// in, the ResourceList with its results on out. It returns f's error.
//
// The ResourceList as kustomize and kpt send it (a block mapping whose
// items are a block sequence, one entry per item) is split into the items'
// bytes without parsing the whole of it (Split). Each item is parsed on
// its own when f reads it, and let go when f is done with it; an item no fix
// changes is written back as the bytes it came as, a changed one as kyaml
// writes it, and the functionConfig and results as kyaml writes them.
//
// Whatever the split cannot be sure to read as kyaml does goes to kyaml's
// own reader and writer (framework.Execute, the slow path), which then
// answers as it always has, errors included: a ResourceList in JSON or flow
// style, comments or other lines between the items, a carriage return, an
// item that does not parse on its own (malformed YAML, an alias of an anchor
// in another item), that is not a map, whose metadata or annotations are not
// maps, or whose path, index and id annotations kyaml would reconcile
// (legacy and internal forms that differ or are used inconsistently).
func Execute(f Function, in io.Reader, out io.Writer) error {
	input, err := io.ReadAll(in)
	if err != nil {
		return slowPath(f, bytes.NewReader(input), err, out)
	}
	l, ok := Split(input)
	if !ok {
		return slowPath(f, bytes.NewReader(input), nil, out)
	}
	kept, results, processErr := f.ProcessItems(l.FunctionConfig, l.Items())
	if errors.Is(processErr, ErrUnusual) {
		return slowPath(f, bytes.NewReader(input), nil, out)
	}
	resultsNode := l.results // kyaml keeps the input's results when there are no new ones
	if len(results) > 0 {
		b, err := yaml.Marshal(results)
		if err != nil {
			return err
		}
		if resultsNode, err = yaml.Parse(string(b)); err != nil {
			return err
		}
	}
	bw := bufio.NewWriterSize(out, 1<<16)
	if err := l.write(bw, kept, resultsNode); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return processErr
}

// ItemByItem reports whether Execute reads input item by item rather than
// through kyaml, with a function that reads every item, and then the bytes
// of each of its items: those Execute writes back as they came unless a fix
// changes them.
func ItemByItem(input []byte) ([][]byte, bool) {
	l, ok := Split(bytes.Clone(input))
	if !ok {
		return nil, false
	}
	for _, it := range l.Items() {
		if _, err := it.Load(); err != nil {
			return nil, false
		}
	}
	return l.raws, true
}

// slowPath runs f through kyaml's reader and writer, as command.Build
// does. readErr is what reading stdin ended with: kyaml reports it.
func slowPath(f Function, input io.Reader, readErr error, out io.Writer) error {
	if readErr != nil {
		input = io.MultiReader(input, errReader{readErr})
	}
	return framework.Execute(f, &kio.ByteReadWriter{Reader: input, Writer: out, KeepReaderAnnotations: true})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// List is a ResourceList split into its items' bytes (Split).
type List struct {
	// raws are the items' bytes, each from its "-" line to its last line;
	// lines are their first lines in the input (1-based).
	raws  [][]byte
	lines []int
	// dash is the column of the items' "-".
	dash int
	// last is what follows the last item: a key, or the end of input.
	last int
	// FunctionConfig as kyaml reads it.
	FunctionConfig *yaml.RNode
	// results as kyaml reads them; apiVersion and kind of the list, as
	// kyaml writes them back.
	results          *yaml.RNode
	apiVersion, kind string
}

// Split splits a ResourceList into its items' bytes. It reports false
// for any input it cannot be sure to split as YAML reads it: then kyaml reads
// the input whole.
//
// The input is a block mapping at column 0, each key at the start of a line.
// items is a block sequence whose entries each start with "-" at one column
// (0 as kustomize and kpt write it, or more); every line that is neither
// blank nor more indented than that column ends the item before it, and
// must be a key at column 0. A line at column 0 that starts anything but a
// key ("---", a tab, a quoted key, a flow mapping), a comment at column 0
// after the items' first entry, or a line between column 0 and the entries'
// column makes it false. What is not items (apiVersion, kind, functionConfig,
// results, comments before the items) is read by kyaml, with the items
// replaced by "items: []" and as many empty lines, so that its line numbers
// stay the input's.
func Split(input []byte) (*List, bool) {
	if len(input) == 0 || input[len(input)-1] != '\n' || bytes.IndexByte(input, '\r') >= 0 {
		return nil, false
	}
	l := &List{dash: -1}
	var rest bytes.Buffer
	rest.Grow(len(input) / 8)
	const (
		top        = iota
		itemsFirst // after "items:", before its first entry
		inItems
	)
	state, seen, lastKey := top, false, ""
	start := -1 // where the current item starts
	lineNo := 0
	for pos, end := 0, 0; pos < len(input); pos = end {
		end = pos + bytes.IndexByte(input[pos:], '\n') + 1
		line := input[pos:end]
		lineNo++
		indent := 0
		for line[indent] == ' ' {
			indent++
		}
		blank := line[indent] == '\n'
		if state != top {
			switch {
			case blank:
				rest.WriteByte('\n')
				continue
			case isEntry(line, indent) && (state == itemsFirst || indent == l.dash):
				if start >= 0 {
					l.raws = append(l.raws, input[start:pos])
				}
				l.dash, state, start = indent, inItems, pos
				l.lines = append(l.lines, lineNo)
				rest.WriteByte('\n')
				continue
			case state == inItems && indent > l.dash:
				rest.WriteByte('\n')
				continue
			case state == inItems && indent == 0:
				// A key at column 0 ends the items (a comment there might
				// be the last item's, or the list's); blank lines before it
				// stay with the last item.
				if _, _, ok := topKey(line); !ok {
					return nil, false
				}
				l.raws = append(l.raws, input[start:pos])
				start, state, l.last = -1, top, aKey
			default:
				// items: then a key (null, which kyaml reads as no items), a
				// line between column 0 and the entries, a comment between
				// items.
				return nil, false
			}
		}
		// At the top level: a key at column 0, a comment, or a line of a
		// key's value (blank, indented, or a sequence's entry at column 0).
		switch {
		case blank || indent > 0:
		case line[0] == '-':
			if lastKey == "items" {
				return nil, false // an entry of items that the loop above did not take
			}
		case line[0] == '#':
		default:
			key, after, ok := topKey(line)
			if !ok {
				return nil, false // "---", a tab, a quoted key, a flow mapping
			}
			lastKey = key
			if key == "items" {
				if seen {
					return nil, false
				}
				seen = true
				switch strings.TrimSpace(string(after)) {
				case "":
					state = itemsFirst
					rest.WriteString("items: []\n")
					continue
				case "[]":
				default:
					return nil, false
				}
			}
		}
		rest.Write(line)
	}
	switch {
	case !seen || state == itemsFirst:
		return nil, false
	case state == inItems:
		l.raws = append(l.raws, input[start:])
	}
	r := &kio.ByteReader{Reader: &rest}
	nodes, err := r.Read()
	if err != nil || len(nodes) != 0 || r.WrappingKind != kio.ResourceListKind {
		return nil, false
	}
	l.FunctionConfig, l.results = r.FunctionConfig, r.Results
	l.apiVersion, l.kind = r.WrappingAPIVersion, r.WrappingKind
	return l, true
}

// isEntry reports whether line starts a block sequence entry at indent:
// "-" then a space or the line's end.
func isEntry(line []byte, indent int) bool {
	return line[indent] == '-' && (line[indent+1] == ' ' || line[indent+1] == '\n')
}

// topKey reads a key at column 0: letters and digits, then ":" and a space
// or the line's end. It returns the key and what follows it.
func topKey(line []byte) (string, []byte, bool) {
	i := 0
	for i < len(line) && (line[i] >= 'a' && line[i] <= 'z' || line[i] >= 'A' && line[i] <= 'Z' || i > 0 && line[i] >= '0' && line[i] <= '9') {
		i++
	}
	if i == 0 || i+1 >= len(line) || line[i] != ':' || (line[i+1] != ' ' && line[i+1] != '\n') {
		return "", nil, false
	}
	return string(line[:i]), line[i+1:], true
}

// Items makes the list's items from their bytes, not parsed yet; each call
// makes them anew. The items share one check that kyaml would read them as
// they are (kyamlReading), made as each is first loaded.
func (l *List) Items() []*Item {
	out := make([]*Item, len(l.raws))
	reading := &kyamlReading{}
	for i, raw := range l.raws {
		out[i] = &Item{raw: raw, dash: l.dash, line: l.lines[i], follows: anotherItem, reading: reading}
	}
	if len(out) > 0 {
		out[len(out)-1].follows = l.last
	}
	return out
}

// write writes the ResourceList as kyaml's ByteWriter does, but with each
// item that came as bytes and was not changed written as those bytes.
func (l *List) write(w *bufio.Writer, items []*Item, results *yaml.RNode) error {
	scalar := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
	head := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		scalar("apiVersion"), scalar(l.apiVersion), scalar("kind"), scalar(l.kind)}}
	if err := encode(w, head); err != nil {
		return err
	}
	if len(items) == 0 {
		w.WriteString("items: []\n")
	} else {
		w.WriteString("items:\n")
	}
	indent := max(l.dash, 0)
	for _, it := range items {
		if it.raw != nil && !it.changed {
			w.Write(it.raw)
			continue
		}
		if err := writeNode(w, it.Node(), indent); err != nil {
			return err
		}
	}
	tail := &yaml.Node{Kind: yaml.MappingNode}
	if l.FunctionConfig != nil {
		tail.Content = append(tail.Content, scalar("functionConfig"), l.FunctionConfig.YNode())
	}
	if results != nil {
		tail.Content = append(tail.Content, scalar("results"), results.YNode())
	}
	if len(tail.Content) == 0 {
		return nil
	}
	return encode(w, tail)
}

// writeNode writes n as an entry of the items list at column indent, as
// kyaml's ByteWriter writes each item: without the reader's index and
// seqindent annotations when they are empty.
func writeNode(w *bufio.Writer, n *yaml.RNode, indent int) error {
	c := n.Copy()
	if err := yaml.ClearEmptyAnnotations(c); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := encode(&b, &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{c.YNode()}}); err != nil {
		return err
	}
	pad := strings.Repeat(" ", indent)
	for line := range bytes.Lines(b.Bytes()) {
		if indent > 0 && len(line) > 1 {
			w.WriteString(pad)
		}
		w.Write(line)
	}
	return nil
}

func encode(w io.Writer, n *yaml.Node) error {
	e := yaml.NewEncoder(w)
	if err := e.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{n}}); err != nil {
		return err
	}
	return e.Close()
}

// The annotations kyaml reconciles on every item: each in its legacy and
// its internal form (kioutil).
var reconciled = [][2]string{
	{kioutil.LegacyPathAnnotation, kioutil.PathAnnotation},
	{kioutil.LegacyIndexAnnotation, kioutil.IndexAnnotation},
	{kioutil.LegacyIdAnnotation, kioutil.IdAnnotation},
}

// kyamlReading checks, item by item, that kyaml's framework would read and
// write each item as it is, apart from its own bookkeeping annotation
// (annotations-migration-resource-id, which it sets and clears, and which
// kustomize and kpt clear themselves): each item a map whose metadata and
// annotations, if any, are maps, and the path, index and id annotations
// given in one form throughout the items (legacy, internal or both) and,
// where in both, equal. kyaml reconciles anything else, or fails on it.
type kyamlReading struct{ internal, legacy *bool }

func (k *kyamlReading) same(n *yaml.RNode) bool {
	if n.YNode().Kind != yaml.MappingNode {
		return false
	}
	annos, ok := annotations(n)
	if !ok {
		return false
	}
	var hasInternal, hasLegacy bool
	for _, pair := range reconciled {
		l, lok := annos[pair[0]]
		i, iok := annos[pair[1]]
		hasLegacy, hasInternal = hasLegacy || lok, hasInternal || iok
		if lok && iok && l != i {
			return false
		}
	}
	if !hasInternal && !hasLegacy {
		return true
	}
	if k.internal == nil {
		k.internal, k.legacy = &hasInternal, &hasLegacy
	}
	if *k.internal != hasInternal || *k.legacy != hasLegacy {
		return false
	}
	if hasInternal && hasLegacy {
		for _, pair := range reconciled { // both forms: kyaml fills in a missing one
			_, lok := annos[pair[0]]
			_, iok := annos[pair[1]]
			if lok != iok {
				return false
			}
		}
	}
	return true
}

// annotations reads n's metadata.annotations as kyaml's GetMeta does (the
// scalar value of each key); false when metadata or annotations is there but
// not a map, where kyaml fails to set its bookkeeping annotation.
func annotations(n *yaml.RNode) (map[string]string, bool) {
	meta := n.Field(yaml.MetadataField)
	if meta == nil {
		return nil, true
	}
	if meta.Value.YNode().Kind != yaml.MappingNode {
		return nil, false
	}
	a := meta.Value.Field(yaml.AnnotationsField)
	if a == nil {
		return nil, true
	}
	if a.Value.YNode().Kind != yaml.MappingNode {
		return nil, false
	}
	out := map[string]string{}
	c := a.Value.YNode().Content
	for i := 0; i+1 < len(c); i += 2 {
		out[c[i].Value] = c[i+1].Value
	}
	return out, true
}
