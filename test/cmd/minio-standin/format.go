package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// formatFile is where MinIO keeps a drive's format, relative to the drive.
const formatFile = ".minio.sys/format.json"

// format is the part of MinIO's format.json the stand-in writes.
type format struct {
	Version string `json:"version"`
	Format  string `json:"format"`
	ID      string `json:"id"` // the deployment ID
	XL      struct {
		This string `json:"this"` // the drive's ID
	} `json:"xl"`
}

// openDrive reads dir's format.json, or, on a drive without one, makes it
// with a new deployment ID; created says which. A format.json that cannot
// be read is an error: the drive is not formatted again.
func openDrive(dir string) (f format, created bool, err error) {
	path := filepath.Join(dir, formatFile)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &f); err != nil || f.ID == "" {
			return format{}, false, fmt.Errorf("drive %s: %s holds no deployment ID: %v", dir, formatFile, err)
		}
		return f, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return format{}, false, fmt.Errorf("drive %s: %w", dir, err)
	}
	f = format{Version: "1", Format: "xl-single", ID: newUUID()}
	f.XL.This = newUUID()
	if err := writeSynced(path, f); err != nil {
		return format{}, false, fmt.Errorf("drive %s: formatting: %w", dir, err)
	}
	return f, true, nil
}

// writeSynced writes f as JSON to path, whole or not at all: a temporary
// file, synced, renamed into place, and its directory synced.
func writeSynced(path string, f format) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "format.json.*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// newUUID is a random (version 4) UUID, as MinIO's IDs are.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
