package main

import (
	"errors"
	"fmt"
	"strings"
)

// server is `minio server DIR ...` as the stand-in takes it.
type server struct {
	dir     string // the drive: DIR
	address string // --address, the API's (and the health checks')
	console string // --console-address
}

// parseArgs reads `server DIR [flags]`, the flags before or after DIR, each
// as `--flag value` or `--flag=value`. MinIO's defaults stand when a flag
// is missing: the API on :9000, the console on a port of the system's
// choosing (":0").
func parseArgs(args []string) (server, error) {
	if len(args) == 0 || args[0] != "server" {
		return server{}, errors.New("usage: minio server DIR --address :PORT --console-address :PORT [-S|--certs-dir DIR]")
	}
	s := server{address: ":9000", console: ":0"}
	var dirs []string
	rest := args[1:]
	for len(rest) > 0 {
		arg := rest[0]
		rest = rest[1:]
		if !strings.HasPrefix(arg, "-") {
			dirs = append(dirs, arg)
			continue
		}
		name, value, inline := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !inline {
			if len(rest) == 0 {
				return server{}, fmt.Errorf("flag %s needs a value", arg)
			}
			value, rest = rest[0], rest[1:]
		}
		switch name {
		case "address":
			s.address = value
		case "console-address":
			s.console = value
		case "S", "certs-dir":
			// TLS is MinIO's when certs are there; the chart's default
			// directory is empty, and the stand-in serves plain HTTP.
		default:
			return server{}, fmt.Errorf("flag %s: the stand-in takes --address, --console-address and -S (--certs-dir)", arg)
		}
	}
	if len(dirs) != 1 {
		return server{}, fmt.Errorf("want one drive (standalone mode), got %q", dirs)
	}
	s.dir = dirs[0]
	return s, nil
}
