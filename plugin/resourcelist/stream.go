package resourcelist

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"regexp"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Stream is what standalone mode reads: the items of YAML streams, and the
// bytes of each of their documents, so that an item the function leaves as
// it came is written back as those bytes (as Execute does for a
// ResourceList): a chart's block scalars, comments, quoting and spacing
// come out of Helm's post-renderer as the chart wrote them.
type Stream struct {
	Items []*yaml.RNode
	// opened: the first stream opened with a `---` line (Helm's manifests
	// do), which Write gives back.
	opened, started bool
	// asRead maps how kyaml writes each document to the document's bytes.
	asRead map[string][]byte
}

// read adds the stream in r (named path in errors) to s.
func (s *Stream) read(path string, r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(raw), OmitReaderAnnotations: true}).Read()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if !s.started {
		first, _, _ := bytes.Cut(raw, []byte("\n"))
		s.opened, s.started = separator.Match(first), true
	}
	s.Items = append(s.Items, nodes...)
	for _, doc := range documents(raw) {
		one, err := (&kio.ByteReader{Reader: bytes.NewReader(doc), OmitReaderAnnotations: true}).Read()
		if err != nil || len(one) != 1 {
			continue // not one item on its own: written as kyaml writes it
		}
		written, err := kyamlWrites(one[0])
		if err != nil {
			continue
		}
		if s.asRead == nil {
			s.asRead = map[string][]byte{}
		}
		s.asRead[written] = doc
	}
	return nil
}

// Write writes items as a YAML stream, each item that kyaml writes as it
// writes one of the documents read as that document's bytes, any other as
// kyaml writes it.
func (s *Stream) Write(w io.Writer, items []*yaml.RNode) error {
	bw := bufio.NewWriter(w)
	for i, it := range items {
		written, err := kyamlWrites(it)
		if err != nil {
			return err
		}
		if i > 0 || s.opened {
			bw.WriteString("---\n")
		}
		if doc, ok := s.asRead[written]; ok {
			bw.Write(doc)
		} else {
			bw.WriteString(written)
		}
	}
	return bw.Flush()
}

// kyamlWrites is n as kio.ByteWriter writes it alone; an item it cannot
// write is an error (ByteWriter panics on some that are not maps).
func kyamlWrites(n *yaml.RNode) (s string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kyaml cannot write an item that is not a map: %v", r)
		}
	}()
	var b bytes.Buffer
	err = kio.ByteWriter{Writer: &b}.Write([]*yaml.RNode{n})
	return b.String(), err
}

// separator is a line that starts a document: `---` alone or before a
// comment. A `---` with content after it, a `...` or directive line or a
// carriage return makes its document no candidate for its bytes.
var (
	separator = regexp.MustCompile(`^---[ \t]*(#.*)?$`)
	unusual   = regexp.MustCompile(`^(---|\.\.\.|%)`)
)

// documents splits a YAML stream into the bytes of its documents, each
// ending in a newline, leaving out those it cannot be sure of (kyaml then
// writes them): a `---` line is a document boundary only at column 0, where
// no block scalar's content can be.
func documents(raw []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	sure := true
	flush := func() {
		if sure && len(bytes.TrimSpace(cur.Bytes())) > 0 {
			docs = append(docs, bytes.Clone(cur.Bytes()))
		}
		cur.Reset()
		sure = true
	}
	for _, line := range bytes.SplitAfter(raw, []byte("\n")) {
		text := bytes.TrimSuffix(line, []byte("\n"))
		switch {
		case separator.Match(text):
			flush()
			continue
		case unusual.Match(text), bytes.ContainsRune(text, '\r'):
			sure = false
		}
		cur.Write(line)
		if !bytes.HasSuffix(line, []byte("\n")) && len(line) > 0 {
			cur.WriteByte('\n')
		}
	}
	flush()
	return docs
}
