// Package standin is a stand-in for HighByte Intelligence Hub, built here
// because the Hub's image cannot be pulled in CI. It behaves like the Hub
// wherever Kubernetes can see it, and no further:
//
//   - it serves HTTP on 45245; `/` answers 200 only once it has "started",
//     after a start delay, as a JVM does;
//   - it listens on 1885 (MQTT) and 8885 (REST data);
//   - it writes only under its appData directory and /tmp;
//   - it takes an exclusive lock on appData/intelligencehub.lock at start; if
//     another process holds it, it says so on stderr, appends a line to
//     appData/refused.log and exits with ExitLockHeld;
//   - it keeps an append-only journal in appData, fsyncing every entry before
//     it answers, so a test knows what must survive a crash; a later
//     version's image (HUBKIT_STANDIN_JOURNAL_FORMAT=2) rewrites it in a
//     newer format on start, which the earlier version refuses to start on
//     (journal.go), as an upgrade that migrates appData does;
//   - on SIGTERM it takes a shutdown delay before it exits, as a JVM does;
//   - it reads its settings, deployment file and certificate store as the
//     Hub does (config.go), refuses to start on an invalid one, and writes
//     settings changed "in the UI" (PUT /settings) back to their file;
//   - it takes part in central hub management as the Hub does (central.go):
//     a central Hub (settings.configuration.centralConfig) lists the remotes
//     that connect to its websocket by client ID; a remote reads
//     appData/intelligencehub-remoteconfig.json at start and connects out;
//   - it takes the OpenTelemetry collector as the Hub does, from the command
//     `start otel <host:port>` or OTEL_COLLECTOR_ENDPOINT (telemetry.go), and
//     refuses `start otel` without one; it sends nothing.
//
// Tests drive it over HTTP: POST /journal appends an entry, GET /journal
// lists them, PUT /settings changes the settings, POST /crash kills the
// process, GET /debug/standin reports what it is, what it loaded and the
// collector it was told.
//
// It serves HighByte's health endpoints: /v2/livez (200 on every live
// node) and /v2/readyz (200 once started, and in HA mode only on the
// primary), both with the documented {"deployment":{...}} body.
//
// HA mode (hacmd.go, ha.go): run as `HAMain create|start -n <node> -j <jdbc
// uri>`, nodes coordinate through PostgreSQL alone, with heartbeats, a
// lease that makes one node primary, the preferred primary (the node that
// ran create) taking control back when it returns, and the settings file
// synced from the primary to the secondaries. A secondary refuses PUT
// /settings, and GET /debug/ha reports its role, epoch and transitions.
// HighByte documents none of HA mode's timings nor how it prevents two
// primaries; the stand-in's are assumptions, each a flag:
//
//   - heartbeat: every node heartbeats, and the primary renews its lease,
//     every second (-standin-heartbeat);
//   - lease: a primary's lease lasts 5 s after its last renewal began, on
//     the database's clock; only then may another node take over, at its
//     next heartbeat, so a killed primary is replaced 4 to 6 s after its
//     death (-standin-lease);
//   - demote margin: a primary that could not renew stops acting as one
//     1 s before its lease can end (-standin-demote-margin), so there are
//     never two primaries;
//   - failback: the preferred primary, once it heartbeats again, gets the
//     lease back within two heartbeats; a node stopped with SIGTERM hands
//     its lease over at once;
//   - -j reads the environment as ${NAME} (the guide says only that it
//     "can use environment variables").
package standin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hubkit/hubkit/internal/hub"
)

// ExitLockHeld is the exit code when another process holds appData's lock:
// a second writer was refused.
const ExitLockHeld = 75

// Files the stand-in keeps in appData.
const (
	LockFile    = "intelligencehub.lock"
	JournalFile = "journal.log"
	RefusedFile = "refused.log"
)

// Config is what the stand-in is told, from its environment.
type Config struct {
	AppData        string        // HUBKIT_STANDIN_APPDATA, default /usr/local/highbyte/appData
	Version        string        // HUBKIT_STANDIN_VERSION, set in the image
	StartDelay     time.Duration // HUBKIT_STANDIN_START_DELAY, default 1s
	ShutdownDelay  time.Duration // HUBKIT_STANDIN_SHUTDOWN_DELAY, default 5s
	SettingsFile   string        // HIGHBYTE_SETTINGS_FILE: settings outside appData
	DeploymentFile string        // HIGHBYTE_DEPLOYMENT_FILE: the project's fragments from Git
	HTTPAddr       string        // HUBKIT_STANDIN_HTTP_ADDR, default :45245
	ExtraAddrs     []string      // HUBKIT_STANDIN_EXTRA_ADDRS (comma-separated), default :1885 and :8885
	Telemetry      Telemetry     // start otel <host:port>, or OTEL_COLLECTOR_ENDPOINT (TelemetryFrom)
	JournalFormat  int           // HUBKIT_STANDIN_JOURNAL_FORMAT, set in the image of a later version (journal.go); default JournalFormat
}

// ConfigFromEnv reads the Config from environment variables.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		AppData:        hub.AppData,
		Version:        getenv("HUBKIT_STANDIN_VERSION"),
		SettingsFile:   getenv(hub.SettingsFileEnv),
		DeploymentFile: getenv(hub.DeploymentFileEnv),
		StartDelay:     time.Second,
		ShutdownDelay:  5 * time.Second,
		HTTPAddr:       fmt.Sprintf(":%d", hub.HTTPPort),
		ExtraAddrs:     []string{fmt.Sprintf(":%d", hub.MQTTPort), fmt.Sprintf(":%d", hub.RESTDataPort)},
		JournalFormat:  JournalFormat,
	}
	if v := getenv("HUBKIT_STANDIN_JOURNAL_FORMAT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < JournalFormat || n > JournalFormatNext {
			return c, fmt.Errorf("HUBKIT_STANDIN_JOURNAL_FORMAT=%q: want %d or %d", v, JournalFormat, JournalFormatNext)
		}
		c.JournalFormat = n
	}
	if v := getenv("HUBKIT_STANDIN_APPDATA"); v != "" {
		c.AppData = v
	}
	if v := getenv("HUBKIT_STANDIN_HTTP_ADDR"); v != "" {
		c.HTTPAddr = v
	}
	if v := getenv("HUBKIT_STANDIN_EXTRA_ADDRS"); v != "" {
		c.ExtraAddrs = strings.Split(v, ",")
	}
	for name, d := range map[string]*time.Duration{"HUBKIT_STANDIN_START_DELAY": &c.StartDelay, "HUBKIT_STANDIN_SHUTDOWN_DELAY": &c.ShutdownDelay} {
		if v := getenv(name); v != "" {
			parsed, err := time.ParseDuration(v)
			if err != nil {
				return c, fmt.Errorf("%s=%q: want a duration such as 2s: %w", name, v, err)
			}
			*d = parsed
		}
	}
	return c, nil
}

// App is one running stand-in.
type App struct {
	cfg     Config
	log     io.Writer
	lock    *os.File
	journal *Journal
	started time.Time
	ready   chan struct{}
	loaded  Loaded
	ha      *HA // HA mode's node, once JoinHA ran
	// central is set on a central Hub, remote on a remote one (central.go).
	central *central
	remote  *remote
}

// ErrLockHeld says another process holds appData's lock.
var ErrLockHeld = errors.New("another process holds the appData lock")

// Open takes appData's lock and opens the journal. On ErrLockHeld it has
// recorded the refusal in appData/refused.log.
func Open(cfg Config, log io.Writer) (*App, error) {
	lock, err := os.OpenFile(filepath.Join(cfg.AppData, LockFile), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open the lock file: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			line := fmt.Sprintf("%s pid %d refused: second writer on %s\n", time.Now().UTC().Format(time.RFC3339Nano), os.Getpid(), cfg.AppData)
			if f, ferr := os.OpenFile(filepath.Join(cfg.AppData, RefusedFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640); ferr == nil {
				_, _ = f.WriteString(line)
				_ = f.Sync()
				f.Close()
			}
			return nil, ErrLockHeld
		}
		return nil, fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	loaded, err := LoadConfig(cfg)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("refused to start: %w", err)
	}
	app := &App{cfg: cfg, log: log, lock: lock, started: time.Now(), ready: make(chan struct{}), loaded: loaded}
	if settings, err := os.ReadFile(cfg.settingsPath()); err == nil && centralConfig(settings) {
		if app.central, err = openCentral(cfg.AppData); err != nil {
			lock.Close()
			return nil, fmt.Errorf("refused to start: %w", err)
		}
	}
	if app.remote, err = readRemote(cfg.AppData); err != nil {
		lock.Close()
		return nil, fmt.Errorf("refused to start: %w", err)
	}
	if app.journal, err = OpenJournal(filepath.Join(cfg.AppData, JournalFile), cmp.Or(cfg.JournalFormat, JournalFormat)); err != nil {
		lock.Close()
		return nil, err
	}
	return app, nil
}

// Run serves until ctx is done (SIGTERM), then waits the shutdown delay and
// closes everything.
func (a *App) Run(ctx context.Context) error {
	defer a.lock.Close()
	defer a.journal.Close()
	if _, err := a.journal.Append(fmt.Sprintf("start version=%s pid=%d", a.cfg.Version, os.Getpid())); err != nil {
		return err
	}
	srv := &http.Server{Addr: a.cfg.HTTPAddr, Handler: a.routes(), ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", a.cfg.HTTPAddr, err)
	}
	var extra []net.Listener
	for _, addr := range a.cfg.ExtraAddrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		extra = append(extra, l)
		go acceptAndClose(l)
	}
	go func() {
		select {
		case <-time.After(a.cfg.StartDelay):
			close(a.ready)
			fmt.Fprintf(a.log, "started: version %s, serving on %s after %s; %s\n", a.cfg.Version, a.cfg.HTTPAddr, a.cfg.StartDelay, a.loaded)
			if a.remote != nil {
				go a.remote.run(ctx, a.log)
			}
		case <-ctx.Done():
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintf(a.log, "stopping: shutting down in %s\n", a.cfg.ShutdownDelay)
	time.Sleep(a.cfg.ShutdownDelay)
	for _, l := range extra {
		l.Close()
	}
	_, _ = a.journal.Append(fmt.Sprintf("stop pid=%d", os.Getpid()))
	shutdown, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

func acceptAndClose(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// Status is what GET /debug/standin reports.
type Status struct {
	Version  string    `json:"version"`
	PID      int       `json:"pid"`
	Started  time.Time `json:"started"`
	Ready    bool      `json:"ready"`
	AppData  string    `json:"appData"`
	Journal  int       `json:"journalEntries"`
	Format   int       `json:"journalFormat"`
	Hostname string    `json:"hostname"`
	Loaded   Loaded    `json:"loaded"`
	// Telemetry is the collector the Hub was told to send to.
	Telemetry Telemetry `json:"telemetry"`
	// Central says the Hub is a central Hub; Remote is its connection to
	// its central, when it is a remote (central.go).
	Central bool          `json:"central,omitempty"`
	Remote  *RemoteStatus `json:"remote,omitempty"`
}

func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	a.healthRoutes(mux)
	if a.central != nil {
		a.central.routes(mux, a.log)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-a.ready:
			fmt.Fprintf(w, "Intelligence Hub stand-in %s\n", a.cfg.Version)
		default:
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("GET /debug/standin", func(w http.ResponseWriter, _ *http.Request) {
		host, _ := os.Hostname()
		ready := false
		select {
		case <-a.ready:
			ready = true
		default:
		}
		st := Status{Version: a.cfg.Version, PID: os.Getpid(), Started: a.started, Ready: ready, AppData: a.cfg.AppData, Journal: a.journal.Len(), Format: a.journal.Format(), Hostname: host, Loaded: a.loaded, Telemetry: a.cfg.Telemetry, Central: a.central != nil}
		if a.remote != nil {
			r := a.remote.get()
			st.Remote = &r
		}
		writeJSON(w, st)
	})
	mux.HandleFunc("GET /journal", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, a.journal.Entries())
	})
	mux.HandleFunc("POST /journal", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e, err := a.journal.Append(strings.TrimSpace(string(body)))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, e)
	})
	// A settings change made in the UI: the Hub writes it back to the file
	// it read the settings from.
	mux.HandleFunc("PUT /settings", func(w http.ResponseWriter, r *http.Request) {
		if a.refuseOnSecondary(w) {
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil {
			err = hub.CheckJSONObject(body)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := writeFileSync(a.cfg.settingsPath(), body, 0o640); err != nil {
			http.Error(w, "write the settings back: "+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(a.log, "settings written back to %s\n", a.cfg.settingsPath())
		writeJSON(w, map[string]string{"settingsFile": a.cfg.settingsPath(), "settingsSHA256": Digest(body)})
	})
	mux.HandleFunc("POST /crash", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(a.log, "crashing on request")
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
