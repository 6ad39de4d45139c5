// Package postgres starts a real PostgreSQL server for the tests: Debian's
// `postgresql` package (initdb and postgres from /usr/lib/postgresql/<the
// newest version>/bin), the database HighByte's HA mode coordinates through.
//
// Like the real node's containerd (test/node), one Server owns everything it
// starts: its directory (the data directory, the unix socket's directory,
// its log and PID files), its TCP port on one listen address, and the
// postgres process, run as the unprivileged `postgres` user (initdb and
// postgres refuse root). Stop undoes, in reverse order, every step Start
// took, also after a failed start.
//
// Each server's directory is <Parent>/pg-<pid>-<n>, named for the test
// process that made it. A run killed before Stop leaves its directory and
// its postgres behind; the next Start (or Clean) finds such directories by
// that name, and for those whose process is gone stops the postgres whose
// PID the directory records (only if that process's command line names the
// directory) and removes the directory.
//
// The Hub's role logs in with a password (scram-sha-256) over TCP, from any
// address that can reach the listen address: reachability is the caller's
// (the e2e harness listens on the pods' bridge). The superuser logs in only
// over the unix socket, whose directory only the `postgres` user and root
// can enter.
package postgres

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubkit/hubkit/test/testenv"
)

// Options describe the server to start. The zero value is ready to use.
type Options struct {
	// Parent holds the server's directory; default <repo>/build/postgres
	// (the repository of the working directory's go.mod).
	Parent string
	// ListenAddress is the one address the server listens on; default
	// 127.0.0.1. The e2e harness gives the pods' bridge address.
	ListenAddress netip.Addr
	// Port is the TCP port; 0 picks a free one.
	Port int
	// Database and User are the Hub's database and the role that owns it;
	// default "hub" and "hub".
	Database, User string
	// Password is User's; default 32 random hex digits.
	Password string
	// OSUser runs initdb and postgres when the harness runs as root;
	// default "postgres" (Debian's package makes it). As any other user the
	// server runs as that user.
	OSUser string
	// BinDir has initdb and postgres; default the newest
	// /usr/lib/postgresql/<version>/bin.
	BinDir string
}

// Server is a running PostgreSQL server.
type Server struct {
	opts Options
	dir  string
	uid  int
	gid  int
	undo []step
	proc *process
}

type step struct {
	what string
	do   func() error
}

// The server's directory, inside Parent.
const (
	dirPrefix  = "pg-"
	dataDir    = "data"
	socketDir  = "sock"
	logsDir    = "logs"
	logFile    = "postgres.log"
	pidFile    = "postgres.pid"
	superuser  = "postgres"
	stopGrace  = 30 * time.Second
	startLimit = time.Minute
)

var serial atomic.Int64

// Start cleans what stale runs left in Parent, then initialises a cluster
// in a directory of its own, starts postgres and creates the Hub's role and
// database. On error it has undone what it did.
func Start(ctx context.Context, o Options) (s *Server, err error) {
	if o.Parent == "" {
		root, err := testenv.FindRepoRoot()
		if err != nil {
			return nil, fmt.Errorf("postgres: %w: give Options.Parent", err)
		}
		o.Parent = filepath.Join(root, "build", "postgres")
	}
	if !o.ListenAddress.IsValid() {
		o.ListenAddress = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	o.Database = cmp.Or(o.Database, "hub")
	o.User = cmp.Or(o.User, "hub")
	o.OSUser = cmp.Or(o.OSUser, superuser)
	if o.Password == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		o.Password = hex.EncodeToString(b)
	}
	if o.BinDir == "" {
		if o.BinDir, err = FindBinDir(); err != nil {
			return nil, err
		}
	}
	for _, name := range []string{o.Database, o.User} {
		if !identifier.MatchString(name) {
			return nil, fmt.Errorf("%q: want a lower-case SQL identifier", name)
		}
	}
	if err := Clean(o.Parent); err != nil {
		return nil, err
	}
	s = &Server{opts: o, dir: filepath.Join(o.Parent, fmt.Sprintf("%s%d-%d", dirPrefix, os.Getpid(), serial.Add(1))), uid: -1, gid: -1}
	defer func() {
		if err != nil {
			if stopErr := s.Stop(); stopErr != nil {
				err = fmt.Errorf("%w (and undoing the start: %v)", err, stopErr)
			}
			s = nil
		}
	}()
	for _, st := range []struct {
		what string
		do   func(context.Context) error
	}{
		{"choose the user and the port", s.choose},
		{"make the directories", s.makeDirs},
		{"initdb", s.initdb},
		{"start postgres", s.startPostgres},
		{"create the Hub's role and database", s.createDatabase},
	} {
		if err := st.do(ctx); err != nil {
			return nil, fmt.Errorf("postgres in %s: %s: %w", s.dir, st.what, err)
		}
	}
	return s, nil
}

// identifier is what Database and User may be: they are written into SQL.
var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Stop undoes everything Start did, in reverse order, and reports every
// step that failed. It may be called more than once.
func (s *Server) Stop() error {
	var errs []error
	for i := len(s.undo) - 1; i >= 0; i-- {
		if err := s.undo[i].do(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.undo[i].what, err))
		}
	}
	s.undo = nil
	return errors.Join(errs...)
}

func (s *Server) onStop(what string, do func() error) { s.undo = append(s.undo, step{what, do}) }

// Dir is the server's directory: data/, sock/, logs/.
func (s *Server) Dir() string { return s.dir }

// Addr is the address and port the server listens on.
func (s *Server) Addr() netip.AddrPort {
	return netip.AddrPortFrom(s.opts.ListenAddress, uint16(s.opts.Port))
}

// Database, User and Password are the Hub's database and its role.
func (s *Server) Database() string { return s.opts.Database }
func (s *Server) User() string     { return s.opts.User }
func (s *Server) Password() string { return s.opts.Password }

// JDBCURI is the URI the Hub's `HAMain -j` takes, as HighByte's guide
// prints it: jdbc:postgresql://host:port/db?user=...&password=... It holds
// the password: put it in a Secret or an environment variable, never in
// argv or a log.
func (s *Server) JDBCURI() string {
	q := url.Values{"user": {s.opts.User}, "password": {s.opts.Password}}
	return fmt.Sprintf("jdbc:postgresql://%s/%s?%s", s.Addr(), s.opts.Database, q.Encode())
}

// DSN is the same connection for Go clients (pgx, lib/pq):
// postgres://user:password@host:port/db?sslmode=disable.
func (s *Server) DSN() string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(s.opts.User, s.opts.Password), Host: s.Addr().String(), Path: "/" + s.opts.Database, RawQuery: "sslmode=disable"}
	return u.String()
}

// SuperuserDSN reaches the server as its superuser over the unix socket:
// for tests that must look behind the Hub's back.
func (s *Server) SuperuserDSN() string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.path(socketDir), s.opts.Port, superuser, s.opts.Database)
}

// PID is the postmaster's PID while it runs, else 0.
func (s *Server) PID() int {
	if s.proc == nil || s.proc.exited() {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// LogFile is postgres's log.
func (s *Server) LogFile() string { return s.path(logsDir, logFile) }

func (s *Server) path(elem ...string) string {
	return filepath.Join(append([]string{s.dir}, elem...)...)
}

// choose finds the user to run as and the port to listen on.
func (s *Server) choose(context.Context) error {
	if os.Geteuid() == 0 {
		u, err := user.Lookup(s.opts.OSUser)
		if err != nil {
			return fmt.Errorf("initdb and postgres refuse root and need a user to run as: %w (Debian's postgresql package makes `postgres`: run `make tools`)", err)
		}
		s.uid, _ = strconv.Atoi(u.Uid)
		s.gid, _ = strconv.Atoi(u.Gid)
	}
	if s.opts.Port == 0 {
		l, err := net.Listen("tcp", netip.AddrPortFrom(s.opts.ListenAddress, 0).String())
		if err != nil {
			return fmt.Errorf("find a free port on %s: %w", s.opts.ListenAddress, err)
		}
		s.opts.Port = l.Addr().(*net.TCPAddr).Port
		if err := l.Close(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) makeDirs(context.Context) error {
	if err := os.MkdirAll(s.opts.Parent, 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(s.dir, 0o755); err != nil {
		return err
	}
	s.onStop("remove "+s.dir, func() error { return os.RemoveAll(s.dir) })
	if err := os.Mkdir(s.path(logsDir), 0o755); err != nil {
		return err
	}
	for _, d := range []string{dataDir, socketDir} {
		if err := os.Mkdir(s.path(d), 0o700); err != nil {
			return err
		}
		if s.uid >= 0 {
			if err := os.Chown(s.path(d), s.uid, s.gid); err != nil {
				return err
			}
		}
	}
	// A unix socket's path is at most 107 bytes.
	if sock := s.path(socketDir, fmt.Sprintf(".s.PGSQL.%d", s.opts.Port)); len(sock) > 100 {
		return fmt.Errorf("%s is too long for a unix socket: use a shorter Parent", sock)
	}
	return nil
}

// initdb makes the cluster: the superuser trusted on the unix socket only,
// and pg_hba.conf replaced with the Hub's one line.
func (s *Server) initdb(ctx context.Context) error {
	cmd := s.command(ctx, "initdb", "--pgdata", s.path(dataDir), "--username", superuser, "--encoding", "UTF8", "--no-locale",
		"--auth-local", "trust", "--auth-host", "reject", "--no-instructions")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	hba := fmt.Sprintf("# Written by hubkit's test/postgres: the superuser on the unix socket, the Hub's role by password over TCP.\n"+
		"local all %s trust\nhost %s %s all scram-sha-256\n", superuser, s.opts.Database, s.opts.User)
	f := s.path(dataDir, "pg_hba.conf")
	if err := os.WriteFile(f, []byte(hba), 0o600); err != nil {
		return err
	}
	if s.uid >= 0 {
		return os.Chown(f, s.uid, s.gid)
	}
	return nil
}

func (s *Server) startPostgres(ctx context.Context) error {
	s.onStop("stop postgres", s.Halt)
	return s.Resume(ctx)
}

// Halt stops postgres (a fast shutdown: clients are disconnected), keeping
// its directory and data: the database is down until Resume. Stop calls it.
func (s *Server) Halt() error {
	if s.proc == nil {
		return nil
	}
	err := s.proc.stop(stopGrace)
	if err == nil {
		err = os.Remove(s.path(logsDir, pidFile))
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
	}
	return err
}

// Resume starts postgres again from its data, on the same address and
// port, and returns once it accepts connections. Start calls it.
func (s *Server) Resume(ctx context.Context) error {
	if s.proc != nil && !s.proc.exited() {
		return errors.New("postgres is running")
	}
	log, err := os.OpenFile(s.LogFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := s.command(context.Background(), "postgres", "-D", s.path(dataDir),
		"-c", "listen_addresses="+s.opts.ListenAddress.String(), "-c", fmt.Sprintf("port=%d", s.opts.Port),
		"-c", "unix_socket_directories="+s.path(socketDir), "-c", "unix_socket_permissions=0700",
		"-c", "password_encryption=scram-sha-256", "-c", "ssl=off",
		// Small: the machine is shared, and the Hubs hold a few connections.
		"-c", "max_connections=30", "-c", "shared_buffers=16MB",
		"-c", "logging_collector=off", "-c", "log_connections=on", "-c", "log_disconnections=on")
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group: a signal to the test's group does not reach it,
	// and Stop's does not reach the test.
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	s.proc = p
	if err := os.WriteFile(s.path(logsDir, pidFile), fmt.Appendf(nil, "%d\n", cmd.Process.Pid), 0o644); err != nil {
		return err
	}
	deadline := time.Now().Add(startLimit)
	for {
		if p.exited() {
			return fmt.Errorf("postgres exited (%v): %s", p.err, lastLines(s.LogFile(), 10))
		}
		err := s.ping(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres does not accept connections on %s within %s: %w", s.Addr(), startLimit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=disable", s.path(socketDir), s.opts.Port, superuser))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// createDatabase creates the Hub's role with its password and the database
// it owns. The role is no superuser and cannot create roles or databases.
func (s *Server) createDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=disable", s.path(socketDir), s.opts.Port, superuser))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, sql := range []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %s", s.opts.User, quoteLiteral(s.opts.Password)),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", s.opts.Database, s.opts.User),
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%s: %w", strings.SplitN(sql, " PASSWORD", 2)[0], err)
		}
	}
	return nil
}

// quoteLiteral is a SQL string literal (standard_conforming_strings, on by
// default since PostgreSQL 9.1).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// command runs one of the server's binaries as the server's user, from its
// directory, in the C locale.
func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.opts.BinDir, name), args...)
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if s.uid >= 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(s.uid), Gid: uint32(s.gid)}
		cmd.Env = append(cmd.Env, "HOME="+s.dir, "USER="+s.opts.OSUser)
	}
	return cmd
}

// FindBinDir is the newest /usr/lib/postgresql/<version>/bin that has
// initdb and postgres: Debian's layout (Debian 12: version 15).
func FindBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var versions []int
	for _, d := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err != nil {
			continue
		}
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			versions = append(versions, v)
		}
	}
	if len(versions) == 0 {
		return "", errors.New("no /usr/lib/postgresql/<version>/bin with initdb and postgres: run `make tools`, which installs Debian's postgresql")
	}
	return fmt.Sprintf("/usr/lib/postgresql/%d/bin", slices.Max(versions)), nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func lastLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
