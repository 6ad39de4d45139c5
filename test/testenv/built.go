package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Built is one of the repository's commands, built once for the tests
// that run it as its users do.
type Built struct {
	// Package is the command's package, ./cmd/kubectl-hubkit; Name the
	// binary's name.
	Package, Name string

	once sync.Once
	dir  string
	err  error
	out  []byte
}

// Path builds the command (once) and returns the binary's path.
func (b *Built) Path(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		root := RepoRoot(t)
		b.dir, b.err = os.MkdirTemp("", "hubkit-built-")
		if b.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(b.dir, b.Name), b.Package)
		cmd.Dir = root
		b.out, b.err = cmd.CombinedOutput()
	})
	require.NoError(t, b.err, "go build %s: %s", b.Package, b.out)
	return filepath.Join(b.dir, b.Name)
}

// Cleanup removes the binary.
func (b *Built) Cleanup() {
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}
