package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// MinIO's chart (5.4.0, standalone) runs `docker-entrypoint.sh minio server
// /export -S /etc/minio/certs/ --address :9000 --console-address :9001`.
func TestTakesTheChartsCommandLine(t *testing.T) {
	s, err := parseArgs(strings.Fields("server /export -S /etc/minio/certs/ --address :9000 --console-address :9001"))
	require.NoError(t, err)
	assert.Equal(t, server{dir: "/export", address: ":9000", console: ":9001"}, s)

	s, err = parseArgs([]string{"server", "--address=:9100", "/data"})
	require.NoError(t, err)
	assert.Equal(t, server{dir: "/data", address: ":9100", console: ":0"}, s, "flags before the drive, inline values, MinIO's defaults")
}

func TestRefusesWhatItDoesNotStandInFor(t *testing.T) {
	for args, want := range map[string]string{
		"":                               "usage: minio server DIR",
		"gateway s3":                     "usage: minio server DIR",
		"server /export --quiet yes":     "flag --quiet: the stand-in takes --address",
		"server /export --address":       "flag --address needs a value",
		"server /export1 /export2":       `want one drive (standalone mode), got ["/export1" "/export2"]`,
		"server --console-address :9001": "want one drive (standalone mode), got []",
	} {
		_, err := parseArgs(strings.Fields(args))
		assert.ErrorContains(t, err, want, args)
	}
}

// A fresh drive gets a format.json with a new deployment ID; every later
// start finds it and keeps the ID.
func TestFormatsAFreshDriveOnceAndKeepsItsDeploymentID(t *testing.T) {
	dir := t.TempDir()
	first, created, err := openDrive(dir)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, first.ID)
	var onDisk map[string]any
	data, err := os.ReadFile(filepath.Join(dir, ".minio.sys", "format.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &onDisk))
	assert.Equal(t, "xl-single", onDisk["format"])
	assert.Equal(t, first.ID, onDisk["id"])

	again, created, err := openDrive(dir)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, first, again)
}

func TestAnUnreadableFormatStopsTheStart(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".minio.sys"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".minio.sys", "format.json"), []byte("{"), 0o644))
	_, _, err := openDrive(dir)
	assert.ErrorContains(t, err, "holds no deployment ID")
}

// The health checks answer 200 on the API's address, anything else 404;
// the console's address answers 404; stopping ends serve without error.
func TestServesTheHealthChecksUntilStopped(t *testing.T) {
	api, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	console, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	var log strings.Builder
	done := make(chan error, 1)
	go func() { done <- server{dir: t.TempDir()}.serve(ctx, api, console, &log) }()

	status := func(addr net.Addr, method, path string) int {
		req, err := http.NewRequest(method, "http://"+addr.String()+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, status(api.Addr(), http.MethodGet, "/minio/health/live"))
	assert.Equal(t, http.StatusOK, status(api.Addr(), http.MethodGet, "/minio/health/ready"))
	assert.Equal(t, http.StatusOK, status(api.Addr(), http.MethodHead, "/minio/health/ready"))
	assert.Equal(t, http.StatusNotFound, status(api.Addr(), http.MethodGet, "/minio/health/cluster"))
	assert.Equal(t, http.StatusNotFound, status(console.Addr(), http.MethodGet, "/"))

	stop()
	require.NoError(t, <-done)
	assert.Contains(t, log.String(), "(made: a fresh drive)")
}

// The entrypoint runs its arguments, minio prepended unless they start
// with it, as MinIO's image's does.
func TestTheEntrypointRunsMinio(t *testing.T) {
	bin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, "minio"), []byte("#!/bin/sh\necho minio \"$@\"\n"), 0o755))
	for args, want := range map[string]string{
		"minio server /export": "minio server /export\n",
		"server /export":       "minio server /export\n",
	} {
		cmd := exec.Command("/bin/sh", append([]string{"docker-entrypoint.sh"}, strings.Fields(args)...)...)
		cmd.Env = []string{"PATH=" + bin}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Equal(t, want, string(out), args)
	}
}
