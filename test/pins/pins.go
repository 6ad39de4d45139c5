// Package pins reads tools/pins.mk, the one place hubkit's versions live that
// no go.mod holds, so that a test names a pin instead of repeating it.
package pins

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/test/testenv"
)

// File is the pins' file, relative to the repository.
const File = "tools/pins.mk"

// Parse reads `NAME := value` lines (or `?=`), skipping comments and blank
// lines; any other line is an error naming it.
func Parse(data []byte) (map[string]string, error) {
	pins := map[string]string{}
	s := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, ":=")
		if !ok {
			name, value, ok = strings.Cut(line, "?=")
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || value == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("%s:%d: want NAME := value, got %q", File, n, line)
		}
		if _, dup := pins[name]; dup {
			return nil, fmt.Errorf("%s:%d: %s is pinned twice", File, n, name)
		}
		pins[name] = value
	}
	return pins, s.Err()
}

// Get returns the pin called name from the repository's tools/pins.mk.
func Get(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), File))
	require.NoError(t, err)
	pins, err := Parse(data)
	require.NoError(t, err)
	v, ok := pins[name]
	require.True(t, ok, "%s has no pin %s", File, name)
	return v
}

// Version is the part of a module@version pin after the @.
func Version(pin string) string {
	_, v, _ := strings.Cut(pin, "@")
	return v
}

// Load reads the pins of the repository at root, for code with no
// testing.TB (a TestMain).
func Load(root string) (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(root, File))
	if err != nil {
		return nil, err
	}
	return Parse(data)
}

// ModuleDir is the directory of a module@version pin in the Go module
// cache, downloaded through the Go module proxy if it is not there yet.
func ModuleDir(ctx context.Context, pin string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", pin).Output()
	var m struct{ Dir, Error string }
	if jsonErr := json.Unmarshal(out, &m); jsonErr != nil || m.Error != "" || err != nil {
		return "", fmt.Errorf("go mod download %s: %v %s", pin, errors.Join(err, jsonErr), m.Error)
	}
	return m.Dir, nil
}
