package standin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHAArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		argv []string
		want []string
		ok   bool
	}{
		{"the single Hub", nil, nil, false},
		{"the single Hub's start", []string{"start"}, nil, false},
		{"the stand-in's own shape", []string{"ha", "start", "-n", "a"}, []string{"start", "-n", "a"}, true},
		{"the Hub's command line", []string{"-cp", "intelligencehub-runtime.jar:lib/*", HAMainClass, "create", "-n", "a"}, []string{"create", "-n", "a"}, true},
		{"ha later is an argument", []string{"start", "ha"}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := HAArgs(tc.argv)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseHA(t *testing.T) {
	const uri = "jdbc:postgresql://10.0.0.1:5432/hub?user=hub&password=s3cret"
	env := map[string]string{"HUB_JDBC_URI": uri, "DB_PASSWORD": "s3cret"}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		name    string
		args    []string
		want    HAConfig
		wantErr string
	}{
		{
			name: "start, the URI from the environment",
			args: []string{"start", "-n", "hub-0", "-j", "${HUB_JDBC_URI}"},
			want: HAConfig{Command: HAStart, NodeID: "hub-0", JDBCURI: uri},
		},
		{
			name: "options before the command, the long -j, $NAME",
			args: []string{"-n", "hub-1", "--jdbcURI", "$HUB_JDBC_URI", "create"},
			want: HAConfig{Command: HACreate, NodeID: "hub-1", JDBCURI: uri},
		},
		{
			name: "the password alone from the environment",
			args: []string{"start", "-n", "a", "-j", "jdbc:postgresql://db/hub?user=hub&password=${DB_PASSWORD}"},
			want: HAConfig{Command: HAStart, NodeID: "a", JDBCURI: "jdbc:postgresql://db/hub?user=hub&password=s3cret"},
		},
		{
			name: "the password in argv is taken, and said",
			args: []string{"start", "-n", "a", "-j", uri},
			want: HAConfig{Command: HAStart, NodeID: "a", JDBCURI: uri, PasswordInArgs: true},
		},
		{
			name: "$$ is a dollar",
			args: []string{"start", "-n", "a", "-j", "jdbc:postgresql://db/hub?user=hub&password=a$$b"},
			want: HAConfig{Command: HAStart, NodeID: "a", JDBCURI: "jdbc:postgresql://db/hub?user=hub&password=a$b", PasswordInArgs: true},
		},
		{
			name: "the stand-in's timings",
			args: []string{"start", "-n", "a", "-j", "$HUB_JDBC_URI", "-standin-heartbeat", "200ms", "-standin-lease", "2s", "-standin-demote-margin", "500ms"},
			want: HAConfig{Command: HAStart, NodeID: "a", JDBCURI: uri, Heartbeat: 200 * time.Millisecond, Lease: 2 * time.Second, DemoteMargin: 500 * time.Millisecond},
		},
		{name: "help", args: []string{"help"}, want: HAConfig{Command: HAHelp}},
		{name: "no command", args: []string{"-n", "a"}, wantErr: "no command"},
		{name: "an unknown command", args: []string{"stop", "-n", "a"}, wantErr: `unknown command "stop"`},
		{name: "no node id", args: []string{"start", "-j", "$HUB_JDBC_URI"}, wantErr: `-n "": want a node id`},
		{name: "no URI", args: []string{"start", "-n", "a"}, wantErr: "-j: want the database's JDBC URI"},
		{name: "an unset variable", args: []string{"start", "-n", "a", "-j", "${NOPE}"}, wantErr: "environment variable NOPE is not set"},
		{name: "not PostgreSQL", args: []string{"start", "-n", "a", "-j", "jdbc:mysql://db/hub?user=u"}, wantErr: "want jdbc:postgresql://"},
		{name: "a lease too short to renew", args: []string{"start", "-n", "a", "-j", "$HUB_JDBC_URI", "-standin-lease", "2s"}, wantErr: "want both positive and the heartbeat shorter"},
		{name: "a stray argument", args: []string{"start", "-n", "a", "-j", "$HUB_JDBC_URI", "extra"}, wantErr: `unexpected arguments ["extra"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHA(tc.args, getenv, io.Discard)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				assert.NotContains(t, err.Error(), "s3cret", "errors never carry the password")
				return
			}
			require.NoError(t, err)
			if tc.want.Heartbeat == 0 && tc.want.Command != HAHelp {
				tc.want.Heartbeat, tc.want.Lease, tc.want.DemoteMargin = DefaultHeartbeat, DefaultLease, DefaultDemoteMargin
			}
			if tc.want.Command == HAHelp {
				got.Heartbeat, got.Lease, got.DemoteMargin = 0, 0, 0
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestJDBCToDSN(t *testing.T) {
	for in, want := range map[string]string{
		"jdbc:postgresql://localhost:5432/dbName?user=username&password=password":      "postgres://localhost:5432/dbName?password=password&user=username",
		"jdbc:postgresql://[fd00::1]:5432/hub?user=hub&password=p%26q&sslmode=require": "postgres://[fd00::1]:5432/hub?password=p%26q&sslmode=require&user=hub",
		"jdbc:postgresql://a:1,b:2/hub?user=hub&ApplicationName=x&loggerLevel=OFF":     "postgres://a:1,b:2/hub?application_name=x&user=hub",
	} {
		got, err := JDBCToDSN(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for in, wantErr := range map[string]string{
		"postgres://db/hub?user=u":            "want jdbc:postgresql://",
		"jdbc:postgresql://db?user=u":         "want a host and a database",
		"jdbc:postgresql://db/hub?password=p": "no user=",
	} {
		_, err := JDBCToDSN(in)
		assert.ErrorContains(t, err, wantErr, in)
	}
	assert.Equal(t, "jdbc:postgresql://db:5432/hub?password=REDACTED&user=hub", RedactJDBC("jdbc:postgresql://db:5432/hub?user=hub&password=s3cret"))
}

// A single stand-in reports the standalone deployment on both endpoints;
// readyz is 503 until it has started.
func TestHealthStandalone(t *testing.T) {
	cfg := Config{AppData: t.TempDir(), Version: "test"}
	app, err := Open(cfg, io.Discard)
	require.NoError(t, err)
	t.Cleanup(func() { app.lock.Close(); app.journal.Close() })
	srv := httptest.NewServer(app.routes())
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		return resp.StatusCode, string(b)
	}
	const body = `{"deployment":{"mode":"standalone"}}`
	code, b := get(hub.Livez)
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, body, b)
	code, b = get(hub.Readyz)
	assert.Equal(t, http.StatusServiceUnavailable, code, "not started yet")
	assert.JSONEq(t, body, b)
	close(app.ready)
	code, b = get(hub.Readyz)
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, body, b)
	resp, err := http.Get(srv.URL + "/debug/ha")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestDeploymentJSON(t *testing.T) {
	b, err := json.Marshal(hub.Health{Deployment: hub.Deployment{Mode: hub.ModeHA, Role: hub.RolePrimary, NodeID: "node-1", PrimaryNodeID: "node-1"}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"deployment":{"mode":"ha","role":"primary","nodeId":"node-1","primaryNodeId":"node-1"}}`, string(b), "the guide's example")
}
