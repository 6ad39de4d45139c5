package csidriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"google.golang.org/grpc"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// Registration is the driver's registration with a kubelet, as
// node-driver-registrar serves it for other drivers: the kubelet's plugin
// watcher finds the socket <plugins_registry>/<driver>-reg.sock, asks
// GetInfo for the driver's name and CSI endpoint, dials that endpoint
// (NodeGetInfo), and reports the outcome with NotifyRegistrationStatus.
// It owns its socket: Stop removes it, and the kubelet unregisters the
// driver.
type Registration struct {
	socket string
	server *grpc.Server
	info   *registerapi.PluginInfo

	mu      sync.Mutex
	status  *registerapi.RegistrationStatus
	changed chan struct{} // closed and replaced on each notification
}

// RegistrationSocket is the registration socket's path for a driver in a
// kubelet's plugins_registry directory.
func RegistrationSocket(registryDir, driver string) string {
	return filepath.Join(registryDir, driver+"-reg.sock")
}

// StartRegistration serves the registration of driver, whose CSI socket is
// endpoint, in registryDir (the kubelet's --root-dir/plugins_registry).
func StartRegistration(registryDir, driver, endpoint string) (*Registration, error) {
	if !filepath.IsAbs(endpoint) {
		return nil, fmt.Errorf("registration of %s: endpoint %q: want the CSI socket's absolute path", driver, endpoint)
	}
	r := &Registration{
		socket: RegistrationSocket(registryDir, driver),
		server: grpc.NewServer(),
		info: &registerapi.PluginInfo{
			Type: registerapi.CSIPlugin, Name: driver, Endpoint: endpoint,
			SupportedVersions: []string{"1.0.0"},
		},
		changed: make(chan struct{}),
	}
	l, err := Listen(r.socket)
	if err != nil {
		return nil, fmt.Errorf("registration of %s: %w", driver, err)
	}
	registerapi.RegisterRegistrationServer(r.server, registrationService{r: r})
	go func() { _ = r.server.Serve(l) }()
	return r, nil
}

// Socket is the registration socket's path.
func (r *Registration) Socket() string { return r.socket }

// Wait returns once the kubelet has reported the registration: nil if the
// driver is registered, the kubelet's reason if not.
func (r *Registration) Wait(ctx context.Context) error {
	for {
		r.mu.Lock()
		st, changed := r.status, r.changed
		r.mu.Unlock()
		if st != nil {
			return registrationError(r.info.Name, st)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("registration of %s at %s: no word from a kubelet: %w", r.info.Name, r.socket, ctx.Err())
		case <-changed:
		}
	}
}

func registrationError(driver string, st *registerapi.RegistrationStatus) error {
	if st.PluginRegistered {
		return nil
	}
	return fmt.Errorf("the kubelet refused to register %s: %s", driver, st.Error)
}

// Stop stops serving and removes the socket.
func (r *Registration) Stop() error {
	r.server.Stop()
	if err := os.Remove(r.socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

type registrationService struct {
	registerapi.UnimplementedRegistrationServer
	r *Registration
}

func (s registrationService) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return s.r.info, nil
}

// NotifyRegistrationStatus keeps the kubelet's latest word. A refusal is
// kept, not fatal: node-driver-registrar exits on one, but here the
// harness that waits on Wait decides.
func (s registrationService) NotifyRegistrationStatus(_ context.Context, st *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	r := s.r
	r.mu.Lock()
	r.status = st
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	return &registerapi.RegistrationStatusResponse{}, nil
}
