package restorepoint

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// copyAppData copies the tree at from into dir/appData, whole or not at
// all: into dir/appData.new first (the last try's removed), then put in
// place of the last copy, as backup/copy's Job does, so that the copy the
// runbook "the Hub back from the copy" restores is either of them.
func copyAppData(from, dir string) error {
	next, last := filepath.Join(dir, "appData.new"), filepath.Join(dir, "appData")
	if err := os.RemoveAll(next); err != nil {
		return fmt.Errorf("remove the last try's %s: %w", next, err)
	}
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		to := filepath.Join(next, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(to, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case d.Type().IsRegular():
			return copyFile(path, to, info.Mode().Perm())
		}
		return nil // sockets, pipes: not data
	})
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", from, next, err)
	}
	if err := os.RemoveAll(last); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the last copy %s: %w", last, err)
	}
	if err := os.Rename(next, last); err != nil {
		return fmt.Errorf("put the copy in place: %w", err)
	}
	return nil
}

func copyFile(from, to string, mode fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
