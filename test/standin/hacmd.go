package standin

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// The HA mode's command line, as HighByte's guide documents it:
//
//	java -cp "intelligencehub-runtime.jar:lib/*" com.highbyte.intelligencehub.runtime.HAMain [options] <create|start|help>
//
// with -n, the node's id, and -j (--jdbcURI), the PostgreSQL database's JDBC
// URI, which "can use environment variables". The stand-in takes its HA
// arguments either after the HAMain class name anywhere in its command line
// (so that an image whose `java` is the stand-in runs the Hub's own command
// unchanged) or after `ha` as its first argument:
//
//	standin ha start -n hub-0 -j '${HUB_JDBC_URI}'
//
// Options may come before or after the command.
//
// Assumption (the guide does not show the syntax): -j reads the environment
// with ${NAME} or $NAME references, expanded by the Hub itself, not by a
// shell; `$$` is a literal `$`, and a reference to an unset variable is an
// error. Kubernetes leaves ${NAME} alone in a container's args (it expands
// only $(NAME)), so `-j ${HUB_JDBC_URI}` keeps the password out of argv and
// out of `ps`; the stand-in warns when the -j it was given carries a
// password itself.

// HAMainClass is the Hub's HA entry point, as its command line names it.
const HAMainClass = "com.highbyte.intelligencehub.runtime.HAMain"

// The HA commands.
const (
	HACreate = "create"
	HAStart  = "start"
	HAHelp   = "help"
)

// Default HA timings: the stand-in's assumptions, since HighByte documents
// none (see the package doc).
const (
	DefaultHeartbeat    = time.Second
	DefaultLease        = 5 * time.Second
	DefaultDemoteMargin = time.Second
)

// HAConfig is an HA command line, parsed.
type HAConfig struct {
	Command string // create, start or help
	NodeID  string // -n
	// JDBCURI is -j with its environment references expanded: it may hold
	// the password, so it is never logged (see RedactJDBC).
	JDBCURI string
	// PasswordInArgs says the -j given on the command line carried a
	// password itself, readable in ps.
	PasswordInArgs bool
	// The stand-in's own timings (-standin-heartbeat, -standin-lease,
	// -standin-demote-margin); the Hub has no such options.
	Heartbeat    time.Duration
	Lease        time.Duration
	DemoteMargin time.Duration
}

// HAArgs finds an HA command line in argv (without argv[0]): the arguments
// after the HAMain class name, or after `ha` as the first argument. ok is
// false for the stand-in's single-Hub run.
func HAArgs(args []string) (haArgs []string, ok bool) {
	if i := slices.Index(args, HAMainClass); i >= 0 {
		return args[i+1:], true
	}
	if len(args) > 0 && args[0] == "ha" {
		return args[1:], true
	}
	return nil, false
}

// ParseHA parses an HA command line (from HAArgs), reading -j's references
// from getenv. Usage goes to usage on an error or `help`.
func ParseHA(args []string, getenv func(string) string, usage io.Writer) (HAConfig, error) {
	c := HAConfig{}
	fs := flag.NewFlagSet("HAMain", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.Usage = func() {
		fmt.Fprintf(usage, "usage: java -cp \"intelligencehub-runtime.jar:lib/*\" %s [options] <create|start|help>\n", HAMainClass)
		fmt.Fprintf(usage, "   or: standin ha [options] <create|start|help>\n\n")
		fmt.Fprintf(usage, "  create  initialise the failover group's tables, sync this node's files, make -n the preferred primary; then exit\n")
		fmt.Fprintf(usage, "  start   run this node in the failover group\n\n")
		fs.PrintDefaults()
	}
	var jdbc string
	fs.StringVar(&c.NodeID, "n", "", "this node's id, unique in the group")
	fs.StringVar(&jdbc, "j", "", "the database's JDBC URI, jdbc:postgresql://host:port/db?user=...&password=... (can use ${ENV} variables)")
	fs.StringVar(&jdbc, "jdbcURI", "", "the same as -j")
	fs.DurationVar(&c.Heartbeat, "standin-heartbeat", DefaultHeartbeat, "the stand-in's heartbeat period (an assumption: the Hub's is undocumented)")
	fs.DurationVar(&c.Lease, "standin-lease", DefaultLease, "how long a primary's lease lasts after its last renewal (an assumption)")
	fs.DurationVar(&c.DemoteMargin, "standin-demote-margin", DefaultDemoteMargin, "a primary stops acting as one this long before its lease ends (an assumption)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return c, errors.New("no command: want create, start or help")
	}
	c.Command = rest[0]
	if err := fs.Parse(rest[1:]); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return c, fmt.Errorf("unexpected arguments %q after %s", fs.Args(), c.Command)
	}
	switch c.Command {
	case HAHelp:
		fs.Usage()
		return c, nil
	case HACreate, HAStart:
	default:
		fs.Usage()
		return c, fmt.Errorf("unknown command %q: want create, start or help", c.Command)
	}
	if c.NodeID == "" || strings.ContainsFunc(c.NodeID, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return c, fmt.Errorf("-n %q: want a node id, non-empty, without spaces", c.NodeID)
	}
	if jdbc == "" {
		return c, errors.New("-j: want the database's JDBC URI")
	}
	expanded, err := expandEnv(jdbc, getenv)
	if err != nil {
		return c, fmt.Errorf("-j: %w", err)
	}
	if _, err := JDBCToDSN(expanded); err != nil {
		return c, fmt.Errorf("-j %s: %w", RedactJDBC(expanded), err)
	}
	c.JDBCURI = expanded
	c.PasswordInArgs = hasPassword(jdbc)
	if c.Heartbeat <= 0 || c.DemoteMargin <= 0 || c.Lease-c.DemoteMargin <= c.Heartbeat {
		return c, fmt.Errorf("timings: heartbeat %s, lease %s, demote margin %s: want both positive and the heartbeat shorter than the lease less the margin, so that a primary renews before it demotes itself", c.Heartbeat, c.Lease, c.DemoteMargin)
	}
	return c, nil
}

// expandEnv expands ${NAME} and $NAME from getenv; $$ is a literal $.
func expandEnv(s string, getenv func(string) string) (string, error) {
	var unset []string
	out := os.Expand(s, func(name string) string {
		if name == "$" {
			return "$"
		}
		v := getenv(name)
		if v == "" {
			unset = append(unset, name)
		}
		return v
	})
	if len(unset) > 0 {
		return "", fmt.Errorf("environment variable %s is not set", strings.Join(unset, ", "))
	}
	return out, nil
}

// JDBCToDSN turns a PostgreSQL JDBC URI into a URL pgx takes:
// jdbc:postgresql://host:port/db?user=u&password=p becomes
// postgres://host:port/db?user=u&password=p. Of the JDBC driver's
// properties it keeps user, password, sslmode, ApplicationName and
// connectTimeout (in seconds, as both drivers read it).
func JDBCToDSN(jdbc string) (string, error) {
	rest, ok := strings.CutPrefix(jdbc, "jdbc:postgresql://")
	if !ok {
		return "", errors.New("want jdbc:postgresql://host[:port]/database?user=...&password=...")
	}
	hostPath, query, _ := strings.Cut(rest, "?")
	host, db, _ := strings.Cut(hostPath, "/")
	if host == "" || db == "" {
		return "", errors.New("want a host and a database: jdbc:postgresql://host[:port]/database")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("its properties: %w", err)
	}
	out := url.Values{}
	for jdbcName, pgxName := range map[string]string{"user": "user", "password": "password", "sslmode": "sslmode", "ApplicationName": "application_name", "connectTimeout": "connect_timeout"} {
		if v := q.Get(jdbcName); v != "" {
			out.Set(pgxName, v)
		}
	}
	if out.Get("user") == "" {
		return "", errors.New("no user= property")
	}
	return "postgres://" + host + "/" + db + "?" + out.Encode(), nil
}

// RedactJDBC is a JDBC URI fit for a log: its password replaced.
func RedactJDBC(jdbc string) string {
	base, query, ok := strings.Cut(jdbc, "?")
	if !ok {
		return jdbc
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return base + "?<unreadable properties>"
	}
	if q.Has("password") {
		q.Set("password", "REDACTED")
	}
	return base + "?" + q.Encode()
}

func hasPassword(jdbc string) bool {
	_, query, _ := strings.Cut(jdbc, "?")
	q, _ := url.ParseQuery(query)
	// What is left of it once its references are gone is in argv.
	literal := os.Expand(q.Get("password"), func(name string) string {
		if name == "$" {
			return "$"
		}
		return ""
	})
	return literal != ""
}
