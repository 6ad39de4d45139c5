package singleton

import (
	"errors"
	"io"
)

// errEmptyInput is what reading an empty stdin returns: kustomize and kpt
// always send a ResourceList, and an empty one back would drop every resource.
var errEmptyInput = errors.New("stdin is empty: the function reads a ResourceList on stdin, as kustomize and kpt send it")

// NonEmpty wraps r so that reading it to the end without a single byte is an
// error instead of an empty input.
func NonEmpty(r io.Reader) io.Reader { return &nonEmpty{r: r} }

type nonEmpty struct {
	r    io.Reader
	read bool
}

func (n *nonEmpty) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if k > 0 {
		n.read = true
	}
	if err == io.EOF && !n.read {
		return k, errEmptyInput
	}
	return k, err
}
