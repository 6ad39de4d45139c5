package csidriver

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// The kubelet's side of the registration, as its plugin watcher does it:
// it finds the socket in plugins_registry, asks GetInfo, and reports the
// outcome; Wait gives that outcome to the harness.
func TestRegistration(t *testing.T) {
	const driver = "csi.hubkit.test"
	endpoint := "/var/lib/kubelet/plugins/csi.hubkit.test/csi.sock"
	for _, tc := range []struct {
		name   string
		status *registerapi.RegistrationStatus // nil: the kubelet says nothing
		err    string
	}{
		{name: "the kubelet registers the driver", status: &registerapi.RegistrationStatus{PluginRegistered: true}},
		{
			name:   "the kubelet refuses it, saying why",
			status: &registerapi.RegistrationStatus{PluginRegistered: false, Error: "plugin csi.hubkit.test: unsupported versions"},
			err:    "the kubelet refused to register csi.hubkit.test: plugin csi.hubkit.test: unsupported versions",
		},
		{name: "no kubelet watches the directory", err: "registration of csi.hubkit.test at "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r, err := StartRegistration(dir, driver, endpoint)
			require.NoError(t, err)
			assert.Equal(t, filepath.Join(dir, "csi.hubkit.test-reg.sock"), r.Socket())

			conn, err := grpc.NewClient("unix://"+r.Socket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			require.NoError(t, err)
			defer conn.Close()
			kubelet := registerapi.NewRegistrationClient(conn)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			info, err := kubelet.GetInfo(ctx, &registerapi.InfoRequest{})
			require.NoError(t, err)
			assert.Equal(t, registerapi.CSIPlugin, info.GetType())
			assert.Equal(t, driver, info.GetName())
			assert.Equal(t, endpoint, info.GetEndpoint())
			assert.Equal(t, []string{"1.0.0"}, info.GetSupportedVersions())

			waitCtx := ctx
			if tc.status != nil {
				_, err = kubelet.NotifyRegistrationStatus(ctx, tc.status)
				require.NoError(t, err)
			} else {
				var cancel context.CancelFunc
				waitCtx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
				defer cancel()
			}
			err = r.Wait(waitCtx)
			if tc.err == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tc.err)
			}
			require.NoError(t, r.Stop())
			assert.NoFileExists(t, r.Socket(), "Stop removes the socket, and the kubelet unregisters the driver")
		})
	}
	t.Run("the endpoint must be a path the kubelet can dial", func(t *testing.T) {
		_, err := StartRegistration(t.TempDir(), driver, "csi.sock")
		assert.ErrorContains(t, err, "want the CSI socket's absolute path")
	})
}
