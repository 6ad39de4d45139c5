package standin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/hub"
)

// hubProcess is a stand-in running in this test, on its own loopback port.
type hubProcess struct {
	addr    string
	appData string
	stop    func()
	log     *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startHub opens and runs a stand-in on appData (its files written first),
// and stops it when the test ends unless stopped before.
func startHub(t *testing.T, appData string, files map[string]any) *hubProcess {
	t.Helper()
	for name, v := range files {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(appData, name), b, 0o640))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	log := &syncBuffer{}
	app, err := Open(Config{AppData: appData, Version: "test", HTTPAddr: addr, StartDelay: 10 * time.Millisecond}, log)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	var once sync.Once
	p := &hubProcess{addr: addr, appData: appData, log: log, stop: func() {
		once.Do(func() { cancel(); assert.NoError(t, <-done) })
	}}
	t.Cleanup(p.stop)
	return p
}

func (p *hubProcess) get(t *testing.T, path string, v any) {
	t.Helper()
	require.NoError(t, p.tryGet(path, v))
}

// tryGet is get for a condition polled before the stand-in listens.
func (p *hubProcess) tryGet(path string, v any) error {
	resp, err := http.Get("http://" + p.addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, b)
	}
	return json.Unmarshal(b, v)
}

// hubs waits until the central lists want entries, connected of them
// connected, and returns them.
func (p *hubProcess) hubs(t *testing.T, want, connected int) []RemoteHub {
	t.Helper()
	var hubs []RemoteHub
	require.Eventually(t, func() bool {
		hubs = nil
		if p.tryGet("/central/hubs", &hubs) != nil {
			return false // not listening yet
		}
		n := 0
		for _, h := range hubs {
			if h.Connected {
				n++
			}
		}
		return len(hubs) == want && n == connected
	}, 10*time.Second, 20*time.Millisecond, "the central lists %d hubs, %d connected; its log: %s", want, connected, p.log)
	return hubs
}

const groupToken = "network-group-token"

func startCentral(t *testing.T) *hubProcess {
	t.Helper()
	return startHub(t, t.TempDir(), map[string]any{
		hub.SettingsFile:  map[string]any{"settings": map[string]any{"configuration": map[string]any{"centralConfig": true}}},
		NetworkGroupsFile: []NetworkGroup{{Name: "plants", Token: groupToken}},
	})
}

func remoteConfig(central *hubProcess, name, clientID, token string) map[string]any {
	return map[string]any{hub.RemoteConfigFile: hub.RemoteConfig{
		RemoteURL: "ws://" + central.addr + "/websocket", Token: token, ClientID: clientID, Name: name,
		Features: hub.RemoteFeatures{CentralConfig: true},
	}}
}

// Two remotes connect out to the central, which lists each once by its
// client ID; a remote replaced with its volume (a new process on a fresh
// appData, its remote config written again from Git with the same ID)
// is the same entry, connected again.
func TestRemotesAreListedOnceByTheirClientID(t *testing.T) {
	central := startCentral(t)
	a := startHub(t, t.TempDir(), remoteConfig(central, "north", "6f1d5b6e-0c1a-5f43-9a57-2b1f0e9d8c71", groupToken))
	startHub(t, t.TempDir(), remoteConfig(central, "south", "0b7e2c4d-8a9f-5e61-b3c2-7d4a1f6e9b08", groupToken))
	hubs := central.hubs(t, 2, 2)
	assert.ElementsMatch(t, []string{"north", "south"}, []string{hubs[0].Name, hubs[1].Name})
	assert.Contains(t, a.log.String(), "Remote configuration connected to ws://"+central.addr+"/websocket")

	a.stop()
	startHub(t, t.TempDir(), remoteConfig(central, "north", "6f1d5b6e-0c1a-5f43-9a57-2b1f0e9d8c71", groupToken))
	again := central.hubs(t, 2, 2)
	assert.Equal(t, hubs[0].FirstSeen, again[0].FirstSeen, "the same entries")
}

// A blank client ID is the central's to give: the remote keeps it in its
// file. But a fresh volume has a blank one again, and the central, which
// has not seen the new ID it gives, lists the site twice: why hubkit
// derives each site's ID from its name.
func TestABlankClientIDOnAFreshVolumeIsASecondEntry(t *testing.T) {
	central := startCentral(t)
	first := startHub(t, t.TempDir(), remoteConfig(central, "north", "", groupToken))
	hubs := central.hubs(t, 1, 1)
	// The central lists the remote once it has given it the ID; the remote
	// writes it into its file after that.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var kept hub.RemoteConfig
		require.NoError(c, readJSON(filepath.Join(first.appData, hub.RemoteConfigFile), &kept))
		assert.Equal(c, hubs[0].ClientID, kept.ClientID, "the remote keeps the ID the central gave")
	}, 10*time.Second, 20*time.Millisecond)

	first.stop()
	startHub(t, t.TempDir(), remoteConfig(central, "north", "", groupToken))
	twice := central.hubs(t, 2, 1)
	assert.Equal(t, "north", twice[1].Name)
	assert.NotEqual(t, twice[0].ClientID, twice[1].ClientID)
}

// A remote whose token is none of the central's Network Groups' is
// refused, listed nowhere, and says so.
func TestARemoteWithAnotherTokenIsRefused(t *testing.T) {
	central := startCentral(t)
	r := startHub(t, t.TempDir(), remoteConfig(central, "north", "6f1d5b6e-0c1a-5f43-9a57-2b1f0e9d8c71", "another-token"))
	require.Eventually(t, func() bool { return strings.Contains(central.log.String(), "refused remote") }, 10*time.Second, 20*time.Millisecond)
	var hubs []RemoteHub
	central.get(t, "/central/hubs", &hubs)
	assert.Empty(t, hubs)
	var st Status
	r.get(t, "/debug/standin", &st)
	require.NotNil(t, st.Remote)
	assert.False(t, st.Remote.Connected)
	assert.Contains(t, r.log.String(), fmt.Sprintf("ws://%s/websocket refused this Hub", central.addr))
}
