package csidriver

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// Run, as the command runs it on a node: the CSI socket answers, the
// registration socket is in plugins_registry and names it, and both are
// gone once Run returns.
func TestRun(t *testing.T) {
	disk := startDisk(t)
	endpoint := filepath.Join(disk.dir, "plugins", DriverName, "csi.sock")
	registry := filepath.Join(disk.dir, "plugins_registry")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Name: DriverName, NodeID: testNode, Pool: disk.Pool(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, endpoint, registry)
	}()
	defer cancel()

	dial := func(socket string) *grpc.ClientConn {
		require.Eventually(t, func() bool { return fileExists(socket) }, 10*time.Second, 20*time.Millisecond, "%s never appeared", socket)
		conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	kubelet := registerapi.NewRegistrationClient(dial(RegistrationSocket(registry, DriverName)))
	info, err := kubelet.GetInfo(ctx, &registerapi.InfoRequest{})
	require.NoError(t, err)
	assert.Equal(t, endpoint, info.GetEndpoint())
	_, err = kubelet.NotifyRegistrationStatus(ctx, &registerapi.RegistrationStatus{PluginRegistered: true})
	require.NoError(t, err)

	ni, err := csi.NewNodeClient(dial(info.GetEndpoint())).NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
	require.NoError(t, err)
	assert.Equal(t, testNode, ni.GetNodeId())

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	assert.False(t, fileExists(endpoint), "the CSI socket is removed")
	assert.False(t, fileExists(RegistrationSocket(registry, DriverName)), "the registration socket is removed")
}
