package standin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/test/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two stand-ins in HA mode on a real PostgreSQL, with the default (assumed)
// timings: heartbeat 1 s, lease 5 s, demote margin 1 s. Throughout, a
// sampler asks both for /v2/readyz every 100 ms: never do two answer 200.
func TestHAFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := buildStandin(t)
	db, err := postgres.Start(ctx, postgres.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, db.Stop()) })
	// hub-0 reaches the database through a link the test can cut.
	link := newLink(t, db.Addr().String())
	jdbcVia := func(addr string) string {
		return strings.Replace(db.JDBCURI(), db.Addr().String(), addr, 1)
	}
	hub0 := newHANode(t, bin, "hub-0", jdbcVia(link.addr()))
	hub1 := newHANode(t, bin, "hub-1", db.JDBCURI())
	const (
		heartbeat = DefaultHeartbeat
		lease     = DefaultLease
		margin    = DefaultDemoteMargin
		slack     = 500 * time.Millisecond
	)

	t.Log("start before create: refused")
	code, out := hub1.runOnce(ctx, "start")
	assert.Equal(t, ExitNoHAGroup, code, out)
	assert.Contains(t, out, "the database has no failover group")

	t.Log("create on hub-0: the preferred primary, its settings synced")
	v1 := []byte(`{"directories":{"appData":"/data"},"v":1}`)
	require.NoError(t, os.WriteFile(hub0.settings(), v1, 0o640))
	code, out = hub0.runOnce(ctx, "create")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "created the failover group in jdbc:postgresql://"+link.addr()+"/hub?password=REDACTED&user=hub: preferred primary hub-0")
	assert.NotContains(t, out, db.Password())
	code, out = hub0.runOnce(ctx, "create")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "preferred primary hub-0, unchanged", "create again changes nothing")

	hub0.start(t)
	hub1.start(t)
	sampler := SampleNeverTwo(func(context.Context) ([]Member, error) {
		return []Member{hub0.member(), hub1.member()}, nil
	}, 100*time.Millisecond)
	t.Cleanup(func() { _ = sampler.Stop() })
	t.Log("both run: hub-0 is primary, hub-1 secondary")
	waitRoles(t, 10*time.Second, map[*haNode]string{hub0: RolePrimary, hub1: RoleSecondary})
	waitFor(t, 2*heartbeat, "hub-1 has heard of the primary", func() bool {
		_, body := hub1.get(t, "/v2/readyz")
		return strings.Contains(body, `"primaryNodeId":"hub-0"`)
	})
	for _, n := range []*haNode{hub0, hub1} {
		code, body := n.get(t, "/v2/livez")
		assert.Equal(t, http.StatusOK, code, n.id)
		assert.JSONEq(t, fmt.Sprintf(`{"deployment":{"mode":"ha","role":"%s","nodeId":"%s","primaryNodeId":"hub-0"}}`, map[*haNode]string{hub0: "primary", hub1: "secondary"}[n], n.id), body)
	}
	code, body := hub0.get(t, "/v2/readyz")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"deployment":{"mode":"ha","role":"primary","nodeId":"hub-0","primaryNodeId":"hub-0"}}`, body)
	code, body = hub1.get(t, "/v2/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.JSONEq(t, `{"deployment":{"mode":"ha","role":"secondary","nodeId":"hub-1","primaryNodeId":"hub-0"}}`, body)
	assert.Equal(t, v1, hub1.readSettings(t), "hub-1 received the settings create synced")
	for _, n := range []*haNode{hub0, hub1} {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", n.cmd.Process.Pid))
		require.NoError(t, err)
		assert.NotContains(t, string(cmdline), db.Password(), "ps never shows the password")
		assert.Contains(t, string(cmdline), "${HUB_JDBC_URI}")
	}

	t.Log("settings changed on the primary reach the secondary; a secondary refuses a change")
	code, body = hub1.put(t, "/settings", `{"v":"on the secondary"}`)
	assert.Equal(t, http.StatusServiceUnavailable, code, body)
	v2 := []byte(`{"directories":{"appData":"/data"},"v":2}`)
	code, body = hub0.put(t, "/settings", string(v2))
	require.Equal(t, http.StatusOK, code, body)
	waitFor(t, 3*heartbeat, "hub-1 receives the primary's settings", func() bool { return bytes.Equal(hub1.readSettings(t), v2) })

	t.Log("kill -9 the primary: hub-1 takes over once the lease has ended")
	killed := hub0.kill(t)
	tookOver := waitRoles(t, lease+3*heartbeat, map[*haNode]string{hub1: RolePrimary})
	took := tookOver.Sub(killed)
	t.Logf("hub-1 primary %s after hub-0's kill", took.Round(10*time.Millisecond))
	assert.GreaterOrEqual(t, took, lease-heartbeat-slack, "no takeover before the lease can have ended")
	assert.Equal(t, v2, hub1.readSettings(t), "nothing the primary synced is lost")
	v3 := []byte(`{"directories":{"appData":"/data"},"v":3}`)
	code, body = hub1.put(t, "/settings", string(v3))
	require.Equal(t, http.StatusOK, code, body)
	waitFor(t, 3*heartbeat, "hub-1 syncs its settings", func() bool { return dbSettings(t, db) == Digest(v3) })

	t.Log("the preferred primary returns: it synchronises, then takes control back")
	returned := hub0.start(t)
	back := waitRoles(t, 10*time.Second, map[*haNode]string{hub0: RolePrimary, hub1: RoleSecondary})
	t.Logf("hub-0 primary again %s after its start", back.Sub(returned).Round(10*time.Millisecond))
	assert.Equal(t, v3, hub0.readSettings(t), "it received what hub-1 synced while it was away")
	assert.Contains(t, hub1.lastTransition(t).Why, "handing over to the preferred primary hub-0")

	t.Log("cut hub-0 off from the database: it demotes itself before its lease ends, then hub-1 takes over")
	cut := link.cut()
	tookOver = waitRoles(t, lease+3*heartbeat, map[*haNode]string{hub1: RolePrimary})
	demoted := hub0.lastTransition(t)
	assert.Equal(t, RoleSecondary, demoted.Role)
	assert.Contains(t, demoted.Why, "no renewal of the lease")
	t.Logf("hub-0 stopped acting %s after the cut; hub-1 primary %s after it",
		demoted.At.Sub(cut).Round(10*time.Millisecond), tookOver.Sub(cut).Round(10*time.Millisecond))
	assert.LessOrEqual(t, demoted.At.Sub(cut), lease-margin+slack)
	promoted := hub1.lastTransition(t)
	require.Equal(t, RolePrimary, promoted.Role)
	assert.Greater(t, promoted.At.Sub(demoted.At), margin/2, "hub-0 stopped well before hub-1 began")
	code, body = hub0.get(t, "/v2/livez")
	assert.Equal(t, http.StatusOK, code, "a node cut off is still live")
	assert.JSONEq(t, `{"deployment":{"mode":"ha","role":"secondary","nodeId":"hub-0"}}`, body, "and knows no primary")

	t.Log("the link back: hub-0 takes control back")
	link.restore()
	waitRoles(t, 4*heartbeat+slack, map[*haNode]string{hub0: RolePrimary, hub1: RoleSecondary})

	t.Log("the database stopped: the primary demotes itself before its lease ends, and no node is primary")
	halted := time.Now()
	require.NoError(t, db.Halt())
	noPrimary := waitRoles(t, lease, map[*haNode]string{hub0: RoleSecondary, hub1: RoleSecondary})
	t.Logf("no primary %s after the database stopped", noPrimary.Sub(halted).Round(10*time.Millisecond))
	assert.LessOrEqual(t, noPrimary.Sub(halted), lease-margin+slack)
	stays(t, lease+heartbeat, "no node is primary without the database", func() bool {
		return hub0.role(t) != RolePrimary && hub1.role(t) != RolePrimary
	})
	require.NoError(t, db.Resume(ctx))
	waitRoles(t, lease+3*heartbeat, map[*haNode]string{hub0: RolePrimary, hub1: RoleSecondary})

	t.Log("SIGTERM the primary: it hands the lease over at once")
	stopped := hub0.terminate(t)
	tookOver = waitRoles(t, lease, map[*haNode]string{hub1: RolePrimary})
	t.Logf("hub-1 primary %s after hub-0's SIGTERM", tookOver.Sub(stopped).Round(10*time.Millisecond))
	assert.Less(t, tookOver.Sub(stopped), 2*heartbeat+slack, "without waiting for the lease")
	hub1.terminate(t)

	require.NoError(t, sampler.Stop(), "never two primaries")
	t.Logf("%d samples of both nodes", sampler.Samples())
}

// haNode is one stand-in process in HA mode: its appData, its address.
type haNode struct {
	id, bin, jdbc string
	appData       string
	addr          string
	extra         []string
	log           string
	cmd           *exec.Cmd
	done          chan struct{}
	exitErr       error
}

func newHANode(t *testing.T, bin, id, jdbc string) *haNode {
	n := &haNode{id: id, bin: bin, jdbc: jdbc, appData: t.TempDir(), addr: freeAddr(t), extra: []string{freeAddr(t), freeAddr(t)}}
	n.log = filepath.Join(t.TempDir(), id+".log")
	t.Cleanup(func() {
		if n.cmd != nil {
			n.kill(t)
		}
		if t.Failed() {
			b, _ := os.ReadFile(n.log)
			t.Logf("%s's log:\n%s", n.id, b)
		}
	})
	return n
}

func (n *haNode) settings() string { return filepath.Join(n.appData, hub.SettingsFile) }

func (n *haNode) readSettings(t *testing.T) []byte {
	b, err := os.ReadFile(n.settings())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return b
}

func (n *haNode) command(ctx context.Context, command string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, n.bin, "ha", command, "-n", n.id, "-j", "${HUB_JDBC_URI}")
	cmd.Env = []string{
		"PATH=/usr/bin:/bin", "HUB_JDBC_URI=" + n.jdbc, "HUBKIT_STANDIN_VERSION=test",
		"HUBKIT_STANDIN_APPDATA=" + n.appData, "HUBKIT_STANDIN_HTTP_ADDR=" + n.addr, "HUBKIT_STANDIN_EXTRA_ADDRS=" + strings.Join(n.extra, ","),
		"HUBKIT_STANDIN_START_DELAY=200ms", "HUBKIT_STANDIN_SHUTDOWN_DELAY=0s",
	}
	return cmd
}

// runOnce runs a command that exits (create, or a refused start).
func (n *haNode) runOnce(ctx context.Context, command string) (int, string) {
	cmd := n.command(ctx, command)
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

// start starts `ha start` and returns when.
func (n *haNode) start(t *testing.T) time.Time {
	t.Helper()
	log, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	n.cmd = n.command(context.Background(), "start")
	n.cmd.Stdout, n.cmd.Stderr = log, log
	at := time.Now()
	require.NoError(t, n.cmd.Start())
	n.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		n.exitErr = cmd.Wait()
		log.Close()
		close(done)
	}(n.cmd, n.done)
	return at
}

// kill is kill -9: the node tells the database nothing.
func (n *haNode) kill(t *testing.T) time.Time {
	at := time.Now()
	if n.cmd != nil {
		_ = n.cmd.Process.Kill()
		<-n.done
		n.cmd = nil
	}
	return at
}

// terminate is SIGTERM, and waits for a clean exit.
func (n *haNode) terminate(t *testing.T) time.Time {
	t.Helper()
	at := time.Now()
	require.NoError(t, n.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not exit on SIGTERM", n.id)
	}
	assert.NoError(t, n.exitErr, "%s exits 0", n.id)
	n.cmd = nil
	return at
}

var haClient = &http.Client{Timeout: 500 * time.Millisecond}

func (n *haNode) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := haClient.Get("http://" + n.addr + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func (n *haNode) put(t *testing.T, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, "http://"+n.addr+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := haClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func (n *haNode) member() Member { return Member{Name: n.id, Client: NewClientAt(n.addr)} }

// role is what the node's /v2/readyz says: primary (200), secondary
// (503), or "" when it does not answer.
func (n *haNode) role(t *testing.T) string {
	code, h, err := n.member().Client.Readyz(context.Background())
	if err != nil {
		return ""
	}
	if (code == http.StatusOK) != (h.Deployment.Role == RolePrimary) {
		t.Errorf("%s: readyz %d with role %q", n.id, code, h.Deployment.Role)
	}
	return h.Deployment.Role
}

func (n *haNode) lastTransition(t *testing.T) Transition {
	t.Helper()
	_, body := n.get(t, "/debug/ha")
	var s HAStatus
	require.NoError(t, json.Unmarshal([]byte(body), &s))
	require.NotEmpty(t, s.Transitions, "%s has changed role", n.id)
	return s.Transitions[len(s.Transitions)-1]
}

// waitRoles waits until each node has its role, and returns when.
func waitRoles(t *testing.T, timeout time.Duration, want map[*haNode]string) time.Time {
	t.Helper()
	var at time.Time
	waitFor(t, timeout, fmt.Sprint("roles ", describe(want)), func() bool {
		now := time.Now()
		for n, role := range want {
			if n.role(t) != role {
				return false
			}
		}
		at = now
		return true
	})
	return at
}

func describe(want map[*haNode]string) string {
	var parts []string
	for n, role := range want {
		parts = append(parts, n.id+"="+role)
	}
	return strings.Join(parts, " ")
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func stays(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if !cond() {
			t.Fatalf("%s: not for %s", what, d)
		}
	}
}

// dbSettings is the settings file's digest as the database holds it.
func dbSettings(t *testing.T, db *postgres.Server) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.DSN())
	require.NoError(t, err)
	defer conn.Close(ctx)
	var sum string
	err = conn.QueryRow(ctx, `SELECT sha256 FROM standin_ha_files WHERE name = $1`, hub.SettingsFile).Scan(&sum)
	if errors.Is(err, pgx.ErrNoRows) {
		return ""
	}
	require.NoError(t, err)
	return sum
}

// link is a TCP path to the database that the test can cut, as a network
// partition would: once cut, what is sent on it goes unanswered and new
// connections hang; restored, the held connections are reset.
type link struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	pairs  map[net.Conn]net.Conn // client: upstream
	held   []net.Conn
}

func newLink(t *testing.T, target string) *link {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := &link{ln: ln, target: target, pairs: map[net.Conn]net.Conn{}}
	go l.serve()
	t.Cleanup(func() {
		ln.Close()
		l.restore()
		l.mu.Lock()
		defer l.mu.Unlock()
		for c, up := range l.pairs {
			c.Close()
			up.Close()
		}
	})
	return l
}

func (l *link) addr() string { return l.ln.Addr().String() }

func (l *link) serve() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		if l.down {
			l.held = append(l.held, c)
			l.mu.Unlock()
			continue
		}
		l.mu.Unlock()
		up, err := net.Dial("tcp", l.target)
		if err != nil {
			c.Close()
			continue
		}
		l.mu.Lock()
		l.pairs[c] = up
		l.mu.Unlock()
		go l.pipe(c, up, c)
		go l.pipe(c, c, up)
	}
}

// pipe copies until either side fails; a side is closed unless the link
// is down, where the client's is left hanging.
func (l *link) pipe(client net.Conn, from, to net.Conn) {
	_, _ = io.Copy(to, from)
	l.mu.Lock()
	defer l.mu.Unlock()
	if up, ok := l.pairs[client]; ok && !l.down {
		client.Close()
		up.Close()
		delete(l.pairs, client)
	}
}

// cut drops the database's side of every connection and forwards nothing
// more; it returns when.
func (l *link) cut() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = true
	for c, up := range l.pairs {
		up.Close()
		l.held = append(l.held, c)
		delete(l.pairs, c)
	}
	return time.Now()
}

func (l *link) restore() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = false
	for _, c := range l.held {
		c.Close()
	}
	l.held = nil
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

var standinBin struct {
	once sync.Once
	path string
	err  error
}

// buildStandin builds test/cmd/standin once per test binary.
func buildStandin(t *testing.T) string {
	t.Helper()
	standinBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "hubkit-standin-")
		if err != nil {
			standinBin.err = err
			return
		}
		standinBin.path = filepath.Join(dir, "standin")
		args := []string{"build", "-o", standinBin.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "github.com/hubkit/hubkit/test/cmd/standin")...).CombinedOutput()
		if err != nil {
			standinBin.err = fmt.Errorf("go build the stand-in: %w\n%s", err, out)
		}
	})
	require.NoError(t, standinBin.err)
	return standinBin.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if standinBin.path != "" {
		os.RemoveAll(filepath.Dir(standinBin.path))
	}
	os.Exit(code)
}
