package postgres

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Hub's role connects over TCP with its password, owns its database,
// and is nothing more; Stop leaves no process, port or directory.
func TestServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{})
	require.NoError(t, err)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			assert.NoError(t, s.Stop())
		}
	})
	dir, addr, pid := s.Dir(), s.Addr(), s.PID()
	assert.Equal(t, "127.0.0.1", addr.Addr().String())
	assert.NotZero(t, pid)

	u, err := url.Parse(strings.TrimPrefix(s.JDBCURI(), "jdbc:"))
	require.NoError(t, err)
	assert.Equal(t, "postgresql", u.Scheme)
	assert.Equal(t, addr.String(), u.Host)
	assert.Equal(t, "/hub", u.Path)
	assert.Equal(t, url.Values{"user": {"hub"}, "password": {s.Password()}}, u.Query())

	conn, err := pgx.Connect(ctx, s.DSN())
	require.NoError(t, err)
	var who, db string
	var super bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT current_user, current_database(), rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&who, &db, &super))
	assert.Equal(t, []any{"hub", "hub", false}, []any{who, db, super})
	_, err = conn.Exec(ctx, "CREATE TABLE leases (node text PRIMARY KEY, until timestamptz NOT NULL)")
	require.NoError(t, err, "the Hub's role owns its database")
	_, err = conn.Exec(ctx, "INSERT INTO leases VALUES ('node-0', now() + interval '5 seconds')")
	require.NoError(t, err)
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM leases WHERE until > now()").Scan(&n))
	assert.Equal(t, 1, n)
	require.NoError(t, conn.Close(ctx))

	wrong := strings.Replace(s.DSN(), s.Password(), "wrong", 1)
	_, err = pgx.Connect(ctx, wrong)
	assert.ErrorContains(t, err, "password authentication failed", "a wrong password is refused")
	_, err = pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable", addr))
	assert.ErrorContains(t, err, "no pg_hba.conf entry", "the superuser has no TCP login")
	super1, err := pgx.Connect(ctx, s.SuperuserDSN())
	require.NoError(t, err, "the superuser logs in over the unix socket")
	require.NoError(t, super1.Close(ctx))

	require.NoError(t, s.Stop())
	stopped = true
	assert.NoError(t, s.Stop(), "Stop may be called again")
	assertGone(t, dir, addr.String(), pid)
}

// Halt takes the database down and keeps its data; Resume brings it back
// on the same port.
func TestHaltResume(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Stop()) })
	conn, err := pgx.Connect(ctx, s.DSN())
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
	require.NoError(t, err)

	require.NoError(t, s.Halt())
	assert.Zero(t, s.PID())
	assert.Error(t, conn.Ping(ctx), "a halted server drops its clients")
	_, err = net.DialTimeout("tcp", s.Addr().String(), time.Second)
	assert.Error(t, err, "nothing listens while halted")

	require.NoError(t, s.Resume(ctx))
	conn, err = pgx.Connect(ctx, s.DSN())
	require.NoError(t, err)
	defer conn.Close(ctx)
	var v int
	require.NoError(t, conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v))
	assert.Equal(t, 42, v)
}

// A run killed before Stop leaves its postgres running and its directory;
// the next Start stops that postgres and removes the directory.
func TestStartCleansAStaleRun(t *testing.T) {
	if os.Getenv(leftoverEnv) != "" {
		t.Skip("the leftover helper's own run")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	helper := exec.Command(os.Args[0], "-test.run=^TestLeftoverHelper$", "-test.v")
	helper.Env = append(os.Environ(), leftoverEnv+"=1")
	stdout, err := helper.StdoutPipe()
	require.NoError(t, err)
	helper.Stderr = os.Stderr
	require.NoError(t, helper.Start())
	var left leftover
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "leftover: "); ok {
			require.NoError(t, json.Unmarshal([]byte(line), &left))
			break
		}
	}
	require.NotEmpty(t, left.Dir, "the helper started a server")
	// The run dies without Stop, as a killed `go test` does.
	require.NoError(t, helper.Process.Kill())
	_ = helper.Wait()
	require.True(t, running(left.PID), "the killed run's postgres runs on")
	require.DirExists(t, left.Dir)

	s, err := Start(ctx, Options{})
	require.NoError(t, err)
	defer func() { assert.NoError(t, s.Stop()) }()
	assertGone(t, left.Dir, left.Addr, left.PID)
}

const leftoverEnv = "HUBKIT_POSTGRES_LEFTOVER_HELPER"

type leftover struct {
	Dir, Addr string
	PID       int
}

// TestLeftoverHelper is the run TestStartCleansAStaleRun kills: it starts a
// server, says where, and waits to be killed.
func TestLeftoverHelper(t *testing.T) {
	if os.Getenv(leftoverEnv) == "" {
		t.Skip("run by TestStartCleansAStaleRun")
	}
	s, err := Start(context.Background(), Options{})
	require.NoError(t, err)
	b, _ := json.Marshal(leftover{Dir: s.Dir(), Addr: s.Addr().String(), PID: s.PID()})
	fmt.Printf("leftover: %s\n", b)
	time.Sleep(time.Minute)
	t.Fatal("not killed")
}

func assertGone(t *testing.T, dir, addr string, pid int) {
	t.Helper()
	assert.NoDirExists(t, dir)
	_, err := net.DialTimeout("tcp", addr, time.Second)
	assert.Error(t, err, "nothing listens on %s", addr)
	// Exited: gone, or a zombie that only its parent can reap (a killed
	// run's server is the init process's child, and this host's init may
	// reap it late), so running, not kill(pid, 0), is the check.
	assert.False(t, running(pid), "postgres (pid %d) has exited", pid)
}

func TestOwnerPID(t *testing.T) {
	for name, want := range map[string]int{"pg-123-1": 123, "pg-9-12": 9, "pg-123": 0, "pg-x-1": 0, "other-1-1": 0, "pg-1-x": 0} {
		pid, ok := ownerPID(name)
		assert.Equal(t, want, pid, name)
		assert.Equal(t, want != 0, ok, name)
	}
}
