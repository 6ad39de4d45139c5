package standin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/net/websocket"

	"github.com/hubkit/hubkit/internal/hub"
)

// Central hub management (HighByte's guide, "Central hub management"), as
// documented and no further:
//
//   - a Hub whose settings say settings.configuration.centralConfig is a central
//     Hub: it serves a websocket at /websocket on its REST port, and knows
//     its remote Hubs by client ID; an ID it has not seen is a new entry;
//   - a Hub with appData/intelligencehub-remoteconfig.json is a remote: it
//     reads the file at start (only then), connects out to remoteUrl with
//     its token and clientId, and logs "Remote configuration connected to
//     <remoteUrl>" once connected; a blank clientId is the central's to
//     give, and the remote keeps it.
//
// HighByte documents no wire protocol, nor how a central's Network Groups
// are kept. The stand-in's assumptions:
//
//   - the remote sends one JSON hello (RemoteHello) on the websocket; the
//     central answers with the client ID it knows the remote by, or closes
//     the connection when the token is none of its Network Groups';
//   - a central reads its Network Groups' tokens from
//     appData/NetworkGroupsFile as each remote connects (what creating a
//     Network Group in its UI stands for), and keeps its hub entries in
//     appData/RemoteHubsFile;
//   - GET /central/hubs lists the entries, each with whether it is
//     connected now (what the central's UI shows);
//   - a remote whose connection fails or drops tries again every second.

// The stand-in's files of central hub management, in appData.
const (
	NetworkGroupsFile = "intelligencehub-networkgroups.json" // [{"name":..., "token":...}]
	RemoteHubsFile    = "intelligencehub-remotehubs.json"    // the central's hub entries
)

// NetworkGroup is one of a central's Network Groups.
type NetworkGroup struct {
	Name  string `json:"name"`
	Token string `json:"token"`
}

// RemoteHello is what a remote says first on the websocket.
type RemoteHello struct {
	Token    string             `json:"token"`
	ClientID string             `json:"clientId"`
	Name     string             `json:"name"`
	Features hub.RemoteFeatures `json:"features"`
}

// RemoteHub is one of a central's hub entries, as GET /central/hubs lists it.
type RemoteHub struct {
	ClientID  string    `json:"clientId"`
	Name      string    `json:"name"`
	Group     string    `json:"networkGroup"`
	FirstSeen time.Time `json:"firstSeen"`
	Connected bool      `json:"connected"`
}

// RemoteStatus is what a remote reports of its connection, in GET
// /debug/standin.
type RemoteStatus struct {
	URL       string `json:"url"`
	ClientID  string `json:"clientId"`
	Connected bool   `json:"connected"`
}

// centralConfig says whether the settings make this Hub a central Hub:
// settings.configuration.centralConfig.
func centralConfig(settings []byte) bool {
	var s struct {
		Settings struct {
			Configuration struct {
				CentralConfig bool `json:"centralConfig"`
			} `json:"configuration"`
		} `json:"settings"`
	}
	return json.Unmarshal(settings, &s) == nil && s.Settings.Configuration.CentralConfig
}

// central is a central Hub's side: its hub entries.
type central struct {
	appData   string
	mu        sync.Mutex
	hubs      []RemoteHub
	connected map[string]int // client ID: open connections
}

func openCentral(appData string) (*central, error) {
	c := &central{appData: appData, connected: map[string]int{}}
	if err := readJSON(filepath.Join(appData, RemoteHubsFile), &c.hubs); err != nil {
		return nil, fmt.Errorf("the central's hub entries: %w", err)
	}
	return c, nil
}

// readJSON reads path into v; a missing file leaves v as it is.
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// serve is the central's websocket: a remote's hello, then the connection
// held open until the remote goes.
func (c *central) serve(ws *websocket.Conn, log io.Writer) {
	defer ws.Close()
	var hello RemoteHello
	if err := websocket.JSON.Receive(ws, &hello); err != nil {
		return
	}
	var groups []NetworkGroup
	if err := readJSON(filepath.Join(c.appData, NetworkGroupsFile), &groups); err != nil {
		fmt.Fprintf(log, "central: the network groups: %v\n", err)
		return
	}
	i := slices.IndexFunc(groups, func(g NetworkGroup) bool { return g.Token != "" && g.Token == hello.Token })
	if i < 0 {
		fmt.Fprintf(log, "central: refused remote %q (%s): its token is no network group's\n", hello.Name, hello.ClientID)
		return
	}
	id, err := c.join(hello, groups[i].Name)
	if err != nil {
		fmt.Fprintf(log, "central: remote %q: %v\n", hello.Name, err)
		return
	}
	if err := websocket.JSON.Send(ws, map[string]string{"clientId": id}); err != nil {
		c.leave(id)
		return
	}
	fmt.Fprintf(log, "central: remote %q connected as %s\n", hello.Name, id)
	// Held until the remote closes it or goes away.
	var discard []byte
	for websocket.Message.Receive(ws, &discard) == nil {
	}
	c.leave(id)
	fmt.Fprintf(log, "central: remote %q (%s) disconnected\n", hello.Name, id)
}

// join finds the remote's entry by its client ID, or makes one (an ID it
// has not seen, or a blank one, for which it makes the ID), and keeps the
// entries in appData.
func (c *central) join(hello RemoteHello, group string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := hello.ClientID
	if id == "" {
		id = newGUID()
	}
	if !slices.ContainsFunc(c.hubs, func(h RemoteHub) bool { return h.ClientID == id }) {
		c.hubs = append(c.hubs, RemoteHub{ClientID: id, Name: hello.Name, Group: group, FirstSeen: time.Now().UTC()})
		b, err := json.MarshalIndent(c.hubs, "", "  ")
		if err != nil {
			return "", err
		}
		if err := writeFileSync(filepath.Join(c.appData, RemoteHubsFile), b, 0o640); err != nil {
			return "", err
		}
	}
	c.connected[id]++
	return id, nil
}

func (c *central) leave(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.connected[id]--
}

// list is the central's hub entries, each with whether it is connected.
func (c *central) list() []RemoteHub {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.hubs)
	for i := range out {
		out[i].Connected = c.connected[out[i].ClientID] > 0
	}
	return out
}

func newGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// remote is a remote Hub's side: the config it read at start and its
// connection to the central.
type remote struct {
	path   string
	config hub.RemoteConfig
	mu     sync.Mutex
	status RemoteStatus
}

// readRemote reads appData's remote config, if there is one.
func readRemote(appData string) (*remote, error) {
	path := filepath.Join(appData, hub.RemoteConfigFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c hub.RemoteConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.RemoteURL == "" || c.Token == "" {
		return nil, fmt.Errorf("%s: want remoteUrl and token", path)
	}
	return &remote{path: path, config: c, status: RemoteStatus{URL: c.RemoteURL, ClientID: c.ClientID}}, nil
}

// run connects to the central until ctx is done, again each second after
// a failed or dropped connection.
func (r *remote) run(ctx context.Context, log io.Writer) {
	for ctx.Err() == nil {
		err := r.connect(ctx, log)
		r.set(func(s *RemoteStatus) { s.Connected = false })
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(log, "remote configuration: %v; trying again in 1s\n", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (r *remote) connect(ctx context.Context, log io.Writer) error {
	ws, err := websocket.Dial(r.config.RemoteURL, "", "http://localhost/")
	if err != nil {
		return fmt.Errorf("connect to %s: %w", r.config.RemoteURL, err)
	}
	defer ws.Close()
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()
	r.mu.Lock()
	id := r.status.ClientID
	r.mu.Unlock()
	hello := RemoteHello{Token: r.config.Token, ClientID: id, Name: r.config.Name, Features: r.config.Features}
	if err := websocket.JSON.Send(ws, hello); err != nil {
		return fmt.Errorf("%s: %w", r.config.RemoteURL, err)
	}
	var answer struct {
		ClientID string `json:"clientId"`
	}
	if err := websocket.JSON.Receive(ws, &answer); err != nil {
		return fmt.Errorf("%s refused this Hub (its token?): %w", r.config.RemoteURL, err)
	}
	if id == "" {
		// The central gave the ID: the remote keeps it in its file.
		c := r.config
		c.ClientID = answer.ClientID
		if b, err := json.MarshalIndent(c, "", "  "); err == nil {
			_ = writeFileSync(r.path, b, 0o640)
		}
	}
	r.set(func(s *RemoteStatus) { s.ClientID, s.Connected = answer.ClientID, true })
	fmt.Fprintf(log, "Remote configuration connected to %s\n", r.config.RemoteURL)
	var discard []byte
	for websocket.Message.Receive(ws, &discard) == nil {
	}
	return errors.New("the central closed the connection")
}

func (r *remote) set(f func(*RemoteStatus)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.status)
}

func (r *remote) get() RemoteStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// centralRoutes serves the central's websocket and its list of hubs.
func (c *central) routes(mux *http.ServeMux, log io.Writer) {
	mux.Handle("GET /websocket", websocket.Handler(func(ws *websocket.Conn) { c.serve(ws, log) }))
	mux.HandleFunc("GET /central/hubs", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, c.list())
	})
}
