package gitops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Branch is the branch a fork serves: the one hubkit's Applications and
// GitRepository name (targetRevision, ref.branch).
const Branch = "main"

// Fork is a user's fork of hubkit: a bare repository served over Git's
// smart HTTP protocol on loopback (`git http-backend`, the CGI program
// git ships, under net/http/cgi), and a working clone the tests commit in
// and push from, as a user does. Flux's GitRepository takes only http(s)
// and ssh URLs, and its go-git speaks no dumb HTTP; Argo CD takes either.
type Fork struct {
	// URL is the repository's address, as an Application's repoURL or a
	// GitRepository's url.
	URL string
	// Work is the working clone, on Branch.
	Work, Branch string

	home   *home
	server *http.Server
}

// ServeFork clones the repository at src (its committed history, its HEAD
// as the fork's Branch) into a bare repository of its own, serves it on
// loopback and makes a working clone.
func ServeFork(ctx context.Context, parent, src string) (_ *Fork, err error) {
	h, err := newHome(parent, "git")
	if err != nil {
		return nil, err
	}
	f := &Fork{home: h, Work: filepath.Join(h.dir, "work")}
	defer func() {
		if err != nil {
			err = errors.Join(err, f.Stop())
		}
	}()
	head, err := git(ctx, src, "rev-parse", "HEAD")
	if err != nil {
		return nil, err
	}
	// The branch hubkit's gitops/ files name, at src's HEAD, whatever src
	// has checked out (a CI clone may be on a detached HEAD).
	f.Branch = Branch
	bare := filepath.Join(h.dir, "repos", "hubkit.git")
	if _, err := git(ctx, h.dir, "clone", "--quiet", "--bare", "--no-local", src, bare); err != nil {
		return nil, err
	}
	for _, args := range [][]string{{"update-ref", "refs/heads/" + Branch, head}, {"symbolic-ref", "HEAD", "refs/heads/" + Branch}} {
		if _, err := git(ctx, bare, args...); err != nil {
			return nil, err
		}
	}
	execPath, err := git(ctx, h.dir, "--exec-path")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the Git server: %w", err)
	}
	f.server = &http.Server{Handler: &cgi.Handler{
		Path: filepath.Join(execPath, "git-http-backend"),
		Root: "/",
		Env:  []string{"GIT_PROJECT_ROOT=" + filepath.Dir(bare), "GIT_HTTP_EXPORT_ALL=1"},
	}}
	go f.server.Serve(l) //nolint:errcheck // ends with Stop
	f.URL = fmt.Sprintf("http://%s/hubkit.git", l.Addr())
	if _, err := git(ctx, h.dir, "clone", "--quiet", "--branch", Branch, f.URL, f.Work); err != nil {
		return nil, err
	}
	for _, kv := range [][2]string{{"user.name", "hubkit e2e"}, {"user.email", "e2e@hubkit.invalid"}, {"http.receivepack", "true"}} {
		if _, err := git(ctx, f.Work, "config", kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	if _, err := git(ctx, bare, "config", "http.receivepack", "true"); err != nil {
		return nil, err
	}
	return f, nil
}

// Commit writes files (paths relative to the working clone; a nil content
// removes the path), commits them with message and pushes, as a user does,
// and returns the new commit.
func (f *Fork) Commit(ctx context.Context, message string, files map[string][]byte) (string, error) {
	for path, content := range files {
		full := filepath.Join(f.Work, path)
		if content == nil {
			if _, err := git(ctx, f.Work, "rm", "-r", "--quiet", path); err != nil {
				return "", err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", fmt.Errorf("commit %s: %w", path, err)
		}
		if err := os.WriteFile(full, content, 0o644); err != nil {
			return "", fmt.Errorf("commit %s: %w", path, err)
		}
		if _, err := git(ctx, f.Work, "add", path); err != nil {
			return "", err
		}
	}
	if _, err := git(ctx, f.Work, "commit", "--quiet", "-m", message); err != nil {
		return "", err
	}
	if _, err := git(ctx, f.Work, "push", "--quiet", "origin", f.Branch); err != nil {
		return "", err
	}
	return f.Head(ctx)
}

// Revert reverts the last commit and pushes, as `git revert` does, and
// returns the new commit.
func (f *Fork) Revert(ctx context.Context) (string, error) {
	if _, err := git(ctx, f.Work, "revert", "--no-edit", "HEAD"); err != nil {
		return "", err
	}
	if _, err := git(ctx, f.Work, "push", "--quiet", "origin", f.Branch); err != nil {
		return "", err
	}
	return f.Head(ctx)
}

// Head is the commit the branch is at.
func (f *Fork) Head(ctx context.Context) (string, error) {
	return git(ctx, f.Work, "rev-parse", "HEAD")
}

// Read is a file of the working clone, as last committed or written.
func (f *Fork) Read(path string) ([]byte, error) {
	return os.ReadFile(filepath.Join(f.Work, path))
}

// Stop stops serving and removes the repositories.
func (f *Fork) Stop() error {
	var errs []error
	if f.server != nil {
		errs = append(errs, f.server.Close())
	}
	return errors.Join(append(errs, f.home.stop())...)
}

// git runs git in dir and returns its trimmed output.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s in %s: %w: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(out.String()), nil
}
