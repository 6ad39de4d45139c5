package gitops

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A fork serves its commits over smart HTTP: a clone sees what was pushed,
// a revert undoes it, and Stop leaves nothing behind.
func TestForkServesItsCommits(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	for _, args := range [][]string{{"init", "--quiet", "--initial-branch", "work"}, {"config", "user.name", "t"}, {"config", "user.email", "t@example.invalid"}} {
		_, err := git(ctx, src, args...)
		require.NoError(t, err)
	}
	require.NoError(t, os.WriteFile(filepath.Join(src, "a.txt"), []byte("one\n"), 0o644))
	for _, args := range [][]string{{"add", "a.txt"}, {"commit", "--quiet", "-m", "one"}} {
		_, err := git(ctx, src, args...)
		require.NoError(t, err)
	}
	parent := t.TempDir()
	f, err := ServeFork(ctx, parent, src)
	require.NoError(t, err)
	assert.Equal(t, Branch, f.Branch, "the fork serves main, whatever src has checked out")
	assert.True(t, strings.HasPrefix(f.URL, "http://127.0.0.1:"), f.URL)

	rev, err := f.Commit(ctx, "two", map[string][]byte{"a.txt": []byte("two\n"), "b/c.txt": []byte("c\n")})
	require.NoError(t, err)
	out, err := exec.Command("git", "ls-remote", f.URL, "refs/heads/main").Output()
	require.NoError(t, err, "smart HTTP serves the fork")
	assert.Equal(t, rev, strings.Fields(string(out))[0], "the pushed commit is served")

	clone := filepath.Join(t.TempDir(), "clone")
	_, err = git(ctx, t.TempDir(), "clone", "--quiet", f.URL, clone)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(clone, "b", "c.txt"))
	require.NoError(t, err)
	assert.Equal(t, "c\n", string(b))

	reverted, err := f.Revert(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, rev, reverted)
	b, err = f.Read("a.txt")
	require.NoError(t, err)
	assert.Equal(t, "one\n", string(b), "the revert undid the commit")

	removed, err := f.Commit(ctx, "remove", map[string][]byte{"a.txt": nil})
	require.NoError(t, err)
	assert.NotEqual(t, reverted, removed)
	_, err = f.Read("a.txt")
	assert.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, f.Stop())
	left, err := os.ReadDir(parent)
	require.NoError(t, err)
	assert.Empty(t, left, "Stop removes the fork's directory")
}
