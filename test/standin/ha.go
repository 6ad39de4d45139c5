package standin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// HA mode, as the stand-in keeps it (the guide's contract, the timings
// assumed in the package doc):
//
//   - All coordination goes through PostgreSQL; nodes never talk to each
//     other. The stand-in's tables (the Hub's are undocumented) are
//     standin_ha_group (the preferred primary and the lease: its holder, its
//     end on the database's clock, an epoch that grows with each new
//     holder), standin_ha_nodes (each node's heartbeat) and standin_ha_files
//     (the synced files).
//   - Every heartbeat, each node records its own and, in one transaction
//     holding the group's row: the holder renews its lease (lease_until =
//     now() + lease); a node takes an expired lease, the preferred primary
//     always and any other only while the preferred primary sends no
//     heartbeat; a holder that is not the preferred primary, once that one
//     heartbeats again, stops acting as primary and then releases the lease:
//     "the preferred primary node is always selected as primary when
//     available".
//   - A holder acts as primary until its last successful renewal's start,
//     on its own clock, plus the lease less the demote margin. The database
//     ends that lease no earlier than that renewal's start plus the lease,
//     and only then may another node take it: a primary that cannot reach
//     the database stops acting as one at least the margin before anyone
//     can replace it. Never two primaries, as long as the two clocks run at
//     the same rate within margin/lease.
//   - A lease belongs to one process (its instance, a random id), not only
//     to its node id: a node restarted within its lease waits for it to end.
//   - Files: the primary writes the settings file to the database when it
//     changes (the write is fenced: only the lease's holder, in its epoch,
//     can make it); secondaries receive it into their own file. A node that
//     takes the lease first receives what the previous primary wrote, then
//     acts as primary ("it will synchronize and then resume control").
//   - On SIGTERM the node stops acting as primary, releases its lease and
//     marks its heartbeat stopped, so another takes over at its next
//     heartbeat rather than at the lease's end.

// ExitNoHAGroup is the exit code of `start` on a database where `create`
// never ran.
const ExitNoHAGroup = 78

// ErrNoHAGroup says the database has no failover group: `create` never ran.
var ErrNoHAGroup = errors.New("the database has no failover group: run `HAMain create -n <the preferred primary> -j ...` once first")

var haSchema = []string{
	`CREATE TABLE IF NOT EXISTS standin_ha_group (
		id boolean PRIMARY KEY DEFAULT true CHECK (id),
		preferred_node text NOT NULL,
		primary_node text,
		primary_instance text,
		lease_until timestamptz,
		epoch bigint NOT NULL DEFAULT 0,
		created timestamptz NOT NULL DEFAULT now())`,
	`CREATE TABLE IF NOT EXISTS standin_ha_nodes (
		node_id text PRIMARY KEY,
		instance text NOT NULL,
		heartbeat timestamptz NOT NULL,
		synced boolean NOT NULL,
		role text NOT NULL,
		certificate_store_sha256 text NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS standin_ha_files (
		name text PRIMARY KEY,
		content bytea NOT NULL,
		sha256 text NOT NULL,
		epoch bigint NOT NULL,
		written_by text NOT NULL,
		updated timestamptz NOT NULL DEFAULT now())`,
}

// syncedFile is a file the group syncs: its name in the database and its
// path on this node.
type syncedFile struct{ name, path string }

func syncedFiles(cfg Config) []syncedFile {
	return []syncedFile{{hub.SettingsFile, cfg.settingsPath()}}
}

// CreateHA is `HAMain create`: it creates the group's tables, makes the node
// the preferred primary and syncs the node's files to the database, those
// the database does not hold yet. Run again it changes nothing but the
// preferred primary: a second create never overwrites what the group
// synced since.
func CreateHA(ctx context.Context, cfg Config, hc HAConfig, log io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	dsn, err := JDBCToDSN(hc.JDBCURI)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", RedactJDBC(hc.JDBCURI), err)
	}
	defer conn.Close(context.Background())
	var before string
	var synced []string
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('standin_ha'))`); err != nil {
			return err
		}
		for _, sql := range haSchema {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return err
			}
		}
		err := tx.QueryRow(ctx, `SELECT preferred_node FROM standin_ha_group`).Scan(&before)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO standin_ha_group (id, preferred_node) VALUES (true, $1)
			ON CONFLICT (id) DO UPDATE SET preferred_node = EXCLUDED.preferred_node`, hc.NodeID); err != nil {
			return err
		}
		for _, f := range syncedFiles(cfg) {
			b, err := os.ReadFile(f.path)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `INSERT INTO standin_ha_files (name, content, sha256, epoch, written_by) VALUES ($1, $2, $3, 0, $4)
				ON CONFLICT (name) DO NOTHING`, f.name, b, Digest(b), hc.NodeID)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				synced = append(synced, fmt.Sprintf("%s (sha256 %.12s)", f.name, Digest(b)))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create the failover group in %s: %w", RedactJDBC(hc.JDBCURI), err)
	}
	switch before {
	case "":
		fmt.Fprintf(log, "created the failover group in %s: preferred primary %s\n", RedactJDBC(hc.JDBCURI), hc.NodeID)
	case hc.NodeID:
		fmt.Fprintf(log, "the failover group exists in %s: preferred primary %s, unchanged\n", RedactJDBC(hc.JDBCURI), hc.NodeID)
	default:
		fmt.Fprintf(log, "the failover group exists in %s: preferred primary moved from %s to %s\n", RedactJDBC(hc.JDBCURI), before, hc.NodeID)
	}
	for _, s := range synced {
		fmt.Fprintf(log, "synced %s to the database\n", s)
	}
	return nil
}

// HA is one node's membership of the failover group, from JoinHA until
// its context ends.
type HA struct {
	cfg      HAConfig
	dsn      string
	instance string
	files    []syncedFile
	certSum  string
	log      io.Writer
	done     chan struct{}

	conn    *pgx.Conn // the heartbeat loop's alone
	lastErr string    // the loop's alone

	mu          sync.Mutex
	acting      bool      // acts as primary
	actUntil    time.Time // ... until then, unless renewed
	timer       *time.Timer
	epoch       int64 // of the lease it holds or last held
	syncedEpoch int64 // the epoch whose files it received before acting
	primary     string
	primarySeen time.Time
	preferred   string
	transitions []Transition
}

// Transition is a change of role, as GET /debug/ha reports it.
type Transition struct {
	At    time.Time `json:"at"`
	Role  string    `json:"role"`
	Epoch int64     `json:"epoch"`
	Why   string    `json:"why"`
}

// JoinHA is `HAMain start` once appData is the node's: it checks that the
// group exists, receives the group's files (and loads the settings again
// from them), and, once Run has started the node, heartbeats until ctx
// ends. The node starts as a secondary. Call it before Run.
func (a *App) JoinHA(ctx context.Context, hc HAConfig) (*HA, error) {
	dsn, err := JDBCToDSN(hc.JDBCURI)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	h := &HA{cfg: hc, dsn: dsn, instance: fmt.Sprintf("%x", b), files: syncedFiles(a.cfg), log: a.log, done: make(chan struct{})}
	jctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if h.conn, err = pgx.Connect(jctx, dsn); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", RedactJDBC(hc.JDBCURI), err)
	}
	err = h.conn.QueryRow(jctx, `SELECT preferred_node FROM standin_ha_group`).Scan(&h.preferred)
	var pgErr *pgconn.PgError
	if errors.Is(err, pgx.ErrNoRows) || errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
		h.conn.Close(context.Background())
		return nil, ErrNoHAGroup
	}
	if err == nil {
		err = h.receiveAll(jctx, h.conn)
	}
	if err != nil {
		h.conn.Close(context.Background())
		return nil, fmt.Errorf("join the failover group in %s: %w", RedactJDBC(hc.JDBCURI), err)
	}
	if a.loaded, err = LoadConfig(a.cfg); err != nil {
		h.conn.Close(context.Background())
		return nil, fmt.Errorf("refused to start on the group's files: %w", err)
	}
	h.certSum = a.loaded.CertificateStoreSHA256
	a.ha = h
	fmt.Fprintf(a.log, "HA: node %s joined the failover group in %s (preferred primary %s) as a secondary; heartbeat %s, lease %s, demote margin %s\n",
		hc.NodeID, RedactJDBC(hc.JDBCURI), h.preferred, hc.Heartbeat, hc.Lease, hc.DemoteMargin)
	// It heartbeats once started: a node still starting never takes the
	// lease, so the primary is always ready.
	go func() {
		select {
		case <-a.ready:
			h.run(ctx)
		case <-ctx.Done():
			h.conn.Close(context.Background())
			close(h.done)
		}
	}()
	return h, nil
}

// Wait returns once the node has left the group, after its context ended.
func (h *HA) Wait() { <-h.done }

func (h *HA) run(ctx context.Context) {
	defer close(h.done)
	t := time.NewTicker(h.cfg.Heartbeat)
	defer t.Stop()
	for {
		h.tick(ctx)
		select {
		case <-ctx.Done():
			h.leave()
			return
		case <-t.C:
		}
	}
}

// tick is one heartbeat, then one sync, within one heartbeat's time.
func (h *HA) tick(parent context.Context) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(parent, h.cfg.Heartbeat)
	defer cancel()
	err := h.heartbeat(ctx, start)
	if err == nil {
		err = h.sync(ctx)
	}
	if err != nil && parent.Err() == nil {
		if h.conn != nil {
			closeCtx, c := context.WithTimeout(context.Background(), 100*time.Millisecond)
			_ = h.conn.Close(closeCtx)
			c()
			h.conn = nil
		}
		if msg := err.Error(); msg != h.lastErr {
			fmt.Fprintf(h.log, "HA: the database: %v\n", err)
			h.lastErr = msg
		}
		return
	}
	if h.lastErr != "" && err == nil {
		fmt.Fprintln(h.log, "HA: the database answers again")
		h.lastErr = ""
	}
}

func (h *HA) connect(ctx context.Context) (*pgx.Conn, error) {
	if h.conn != nil && !h.conn.IsClosed() {
		return h.conn, nil
	}
	conn, err := pgx.Connect(ctx, h.dsn)
	if err != nil {
		return nil, err
	}
	h.conn = conn
	return conn, nil
}

// heartbeat records the node's heartbeat and renews, takes, keeps off or
// hands over the lease. start is when it began, before the database saw
// anything: a renewal counts from there.
func (h *HA) heartbeat(ctx context.Context, start time.Time) error {
	conn, err := h.connect(ctx)
	if err != nil {
		return err
	}
	lease := h.cfg.Lease.Seconds()
	var outcome, primary string
	var epoch int64
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		role := hub.RoleSecondary
		if h.IsPrimary() {
			role = hub.RolePrimary
		}
		if _, err := tx.Exec(ctx, `INSERT INTO standin_ha_nodes (node_id, instance, heartbeat, synced, role, certificate_store_sha256)
			VALUES ($1, $2, now(), true, $3, $4)
			ON CONFLICT (node_id) DO UPDATE SET instance = EXCLUDED.instance, heartbeat = now(), synced = true,
				role = EXCLUDED.role, certificate_store_sha256 = EXCLUDED.certificate_store_sha256`,
			h.cfg.NodeID, h.instance, role, h.certSum); err != nil {
			return err
		}
		var preferred string
		var holder, holderInstance *string
		var held, preferredAvailable bool
		if err := tx.QueryRow(ctx, `SELECT g.preferred_node, g.primary_node, g.primary_instance, coalesce(g.lease_until > now(), false), g.epoch,
				EXISTS (SELECT 1 FROM standin_ha_nodes n WHERE n.node_id = g.preferred_node AND n.synced AND n.heartbeat > now() - make_interval(secs => $1))
			FROM standin_ha_group g FOR UPDATE OF g`, lease).Scan(&preferred, &holder, &holderInstance, &held, &epoch, &preferredAvailable); err != nil {
			return err
		}
		h.mu.Lock()
		h.preferred = preferred
		h.mu.Unlock()
		me := h.cfg.NodeID
		mine := held && deref(holder) == me && deref(holderInstance) == h.instance
		switch {
		case mine && preferred != me && preferredAvailable:
			// Stop acting first: the release may commit and the preferred
			// primary take over before this node hears back.
			h.demote("handing over to the preferred primary " + preferred)
			outcome = "handed over"
			_, err := tx.Exec(ctx, `UPDATE standin_ha_group SET primary_node = NULL, primary_instance = NULL, lease_until = now()`)
			return err
		case mine:
			outcome, primary = "renewed", me
			_, err := tx.Exec(ctx, `UPDATE standin_ha_group SET lease_until = now() + make_interval(secs => $1)`, lease)
			return err
		case !held && (preferred == me || !preferredAvailable):
			outcome, primary = "took", me
			why := "the lease had ended"
			if deref(holder) == "" {
				why = "no node held the lease"
			}
			outcome += " the lease: " + why
			return tx.QueryRow(ctx, `UPDATE standin_ha_group SET primary_node = $1, primary_instance = $2,
				lease_until = now() + make_interval(secs => $3), epoch = epoch + 1 RETURNING epoch`, me, h.instance, lease).Scan(&epoch)
		default:
			if held {
				primary = deref(holder)
			}
			if h.IsPrimary() {
				h.demote("the database names another holder of the lease: " + primary)
			}
			outcome = hub.RoleSecondary
			return nil
		}
	})
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.primary, h.primarySeen = primary, start
	h.mu.Unlock()
	if primary != h.cfg.NodeID {
		return nil
	}
	// It holds the lease. Before it first acts in this epoch it receives
	// what the previous primary synced.
	h.mu.Lock()
	received := h.syncedEpoch == epoch
	h.mu.Unlock()
	if !received {
		if err := h.receiveAll(ctx, conn); err != nil {
			return err
		}
		h.mu.Lock()
		h.syncedEpoch = epoch
		h.mu.Unlock()
	}
	h.promote(start, epoch, outcome)
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// promote makes the node act as primary until start + lease - margin, or
// extends that.
func (h *HA) promote(start time.Time, epoch int64, why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	until := start.Add(h.cfg.Lease - h.cfg.DemoteMargin)
	if !time.Now().Before(until) {
		return // the renewal took longer than the lease it bought
	}
	if !h.acting {
		h.transition(hub.RolePrimary, epoch, why)
	}
	h.acting, h.actUntil, h.epoch = true, until, epoch
	if h.timer != nil {
		h.timer.Stop()
	}
	h.timer = time.AfterFunc(time.Until(until), h.expire)
}

// expire is the end of what the last renewal bought: the node stops acting
// as primary, before the database can let another take over.
func (h *HA) expire() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.acting && !time.Now().Before(h.actUntil) {
		h.acting = false
		h.transition(hub.RoleSecondary, h.epoch, fmt.Sprintf("no renewal of the lease for %s: stopped acting as primary %s before the lease can end", h.cfg.Lease-h.cfg.DemoteMargin, h.cfg.DemoteMargin))
	}
}

func (h *HA) demote(why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.acting {
		h.acting = false
		h.transition(hub.RoleSecondary, h.epoch, why)
	}
	if h.timer != nil {
		h.timer.Stop()
	}
}

// transition records and logs a change of role; h.mu is held.
func (h *HA) transition(role string, epoch int64, why string) {
	t := Transition{At: time.Now(), Role: role, Epoch: epoch, Why: why}
	h.transitions = append(h.transitions, t)
	if len(h.transitions) > 100 {
		h.transitions = h.transitions[1:]
	}
	fmt.Fprintf(h.log, "HA: node %s is %s (epoch %d): %s\n", h.cfg.NodeID, role, epoch, why)
}

// IsPrimary says whether the node acts as primary now.
func (h *HA) IsPrimary() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.isPrimary()
}

func (h *HA) isPrimary() bool { return h.acting && time.Now().Before(h.actUntil) }

// Deployment is what /v2/livez and /v2/readyz report.
func (h *HA) Deployment() hub.Deployment {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := hub.Deployment{Mode: hub.ModeHA, Role: hub.RoleSecondary, NodeID: h.cfg.NodeID}
	switch {
	case h.isPrimary():
		d.Role, d.PrimaryNodeID = hub.RolePrimary, h.cfg.NodeID
	case h.primary != h.cfg.NodeID && time.Since(h.primarySeen) < h.cfg.Lease:
		d.PrimaryNodeID = h.primary
	}
	return d
}

// sync writes the node's files to the database on the primary and
// receives them on a secondary.
func (h *HA) sync(ctx context.Context) error {
	conn, err := h.connect(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	primary, epoch := h.isPrimary(), h.epoch
	h.mu.Unlock()
	if !primary {
		return h.receiveAll(ctx, conn)
	}
	for _, f := range h.files {
		b, err := os.ReadFile(f.path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		sum := Digest(b)
		var wrote bool
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// The fence: only the lease's holder, in its epoch, writes.
			var one int
			err := tx.QueryRow(ctx, `SELECT 1 FROM standin_ha_group WHERE primary_node = $1 AND primary_instance = $2 AND epoch = $3
				AND lease_until > now() FOR SHARE`, h.cfg.NodeID, h.instance, epoch).Scan(&one)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // no longer the holder: the next heartbeat says so
			}
			if err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `INSERT INTO standin_ha_files (name, content, sha256, epoch, written_by) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (name) DO UPDATE SET content = EXCLUDED.content, sha256 = EXCLUDED.sha256, epoch = EXCLUDED.epoch,
					written_by = EXCLUDED.written_by, updated = now()
				WHERE standin_ha_files.sha256 <> EXCLUDED.sha256`, f.name, b, sum, epoch, h.cfg.NodeID)
			wrote = err == nil && tag.RowsAffected() == 1
			return err
		})
		if err != nil {
			return err
		}
		if wrote {
			fmt.Fprintf(h.log, "HA: synced %s (sha256 %.12s) to the database\n", f.name, sum)
		}
	}
	return nil
}

// receiveAll writes the group's files where this node keeps them, those
// that differ.
func (h *HA) receiveAll(ctx context.Context, conn *pgx.Conn) error {
	for _, f := range h.files {
		local := ""
		if b, err := os.ReadFile(f.path); err == nil {
			local = Digest(b)
		}
		var b []byte
		var sum, from string
		err := conn.QueryRow(ctx, `SELECT content, sha256, written_by FROM standin_ha_files WHERE name = $1 AND sha256 <> $2`, f.name, local).Scan(&b, &sum, &from)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		if err := writeFileSync(f.path, b, 0o640); err != nil {
			return fmt.Errorf("write the synced %s: %w", f.path, err)
		}
		fmt.Fprintf(h.log, "HA: received %s (sha256 %.12s, written by %s) from the database\n", f.name, sum, from)
	}
	return nil
}

// leave stops acting as primary, releases the lease and marks the
// heartbeat stopped.
func (h *HA) leave() {
	h.demote("stopping")
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.Heartbeat)
	defer cancel()
	conn, err := h.connect(ctx)
	if err == nil {
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE standin_ha_group SET primary_node = NULL, primary_instance = NULL, lease_until = now()
				WHERE primary_node = $1 AND primary_instance = $2`, h.cfg.NodeID, h.instance); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE standin_ha_nodes SET heartbeat = '-infinity', synced = false, role = 'stopped'
				WHERE node_id = $1 AND instance = $2`, h.cfg.NodeID, h.instance)
			return err
		})
		_ = conn.Close(ctx)
	}
	if err != nil {
		fmt.Fprintf(h.log, "HA: node %s left without telling the database (%v): its lease ends by itself\n", h.cfg.NodeID, err)
		return
	}
	fmt.Fprintf(h.log, "HA: node %s left the failover group\n", h.cfg.NodeID)
}

// HAStatus is what GET /debug/ha reports: paths and digests, never a file's
// contents or the database's password.
type HAStatus struct {
	Deployment             hub.Deployment    `json:"deployment"`
	Instance               string            `json:"instance"`
	PreferredNodeID        string            `json:"preferredNodeId"`
	Epoch                  int64             `json:"epoch"`
	ActsUntil              *time.Time        `json:"actsUntil,omitempty"`
	Files                  map[string]string `json:"files"`
	CertificateStoreSHA256 string            `json:"certificateStoreSHA256"`
	Heartbeat              string            `json:"heartbeat"`
	Lease                  string            `json:"lease"`
	DemoteMargin           string            `json:"demoteMargin"`
	Transitions            []Transition      `json:"transitions"`
}

// Status reports the node's state.
func (h *HA) Status() HAStatus {
	d := h.Deployment()
	h.mu.Lock()
	defer h.mu.Unlock()
	s := HAStatus{
		Deployment: d, Instance: h.instance, PreferredNodeID: h.preferred, Epoch: h.epoch, Files: map[string]string{},
		CertificateStoreSHA256: h.certSum, Heartbeat: h.cfg.Heartbeat.String(), Lease: h.cfg.Lease.String(), DemoteMargin: h.cfg.DemoteMargin.String(),
		Transitions: append([]Transition{}, h.transitions...),
	}
	if h.isPrimary() {
		until := h.actUntil
		s.ActsUntil = &until
	}
	for _, f := range h.files {
		if b, err := os.ReadFile(f.path); err == nil {
			s.Files[filepath.Base(f.name)] = Digest(b)
		}
	}
	return s
}

// healthRoutes serves HighByte's health endpoints: /v2/livez answers 200
// on every live node, /v2/readyz 200 on a started single Hub or on the
// primary and 503 otherwise; both with the Deployment body.
func (a *App) healthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+hub.Livez, func(w http.ResponseWriter, _ *http.Request) {
		writeJSONStatus(w, http.StatusOK, hub.Health{Deployment: a.deployment()})
	})
	mux.HandleFunc("GET "+hub.Readyz, func(w http.ResponseWriter, _ *http.Request) {
		d := a.deployment()
		code := http.StatusOK
		if !a.isReady() || d.Mode == hub.ModeHA && d.Role != hub.RolePrimary {
			code = http.StatusServiceUnavailable
		}
		writeJSONStatus(w, code, hub.Health{Deployment: d})
	})
	mux.HandleFunc("GET /debug/ha", func(w http.ResponseWriter, _ *http.Request) {
		if a.ha == nil {
			http.Error(w, "a single Hub: not in HA mode", http.StatusNotFound)
			return
		}
		writeJSON(w, a.ha.Status())
	})
}

func (a *App) deployment() hub.Deployment {
	if a.ha == nil {
		return hub.Deployment{Mode: hub.ModeStandalone}
	}
	return a.ha.Deployment()
}

func (a *App) isReady() bool {
	select {
	case <-a.ready:
		return true
	default:
		return false
	}
}

// refuseOnSecondary answers 503 and returns true on an HA secondary:
// configuration changes are the primary's, and reach the secondaries
// through the database.
func (a *App) refuseOnSecondary(w http.ResponseWriter) bool {
	if a.ha == nil || a.ha.IsPrimary() {
		return false
	}
	http.Error(w, "an HA secondary: change the configuration on the primary", http.StatusServiceUnavailable)
	return true
}

func writeJSONStatus(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
