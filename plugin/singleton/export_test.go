package singleton

import "bytes"

// FastPath reports whether Execute reads input itself rather than through
// kyaml, and then the bytes of each of its items.
func FastPath(input []byte) ([][]byte, bool) {
	l, ok := splitList(bytes.Clone(input))
	if !ok {
		return nil, false
	}
	var s Spec
	s.defaults()
	if _, err := buildIndex(l.items(), &s); err != nil {
		return nil, false
	}
	return l.raws, true
}
