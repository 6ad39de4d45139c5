package singleton

import (
	"fmt"
	"strings"

	"github.com/hubkit/hubkit/internal/hub"
)

// Rule ha-probes: no liveness or startup probe of an HA group asks the role
// endpoint.
//
// Reads the livenessProbe and startupProbe httpGet path of every container
// of every workload labelled hubkit.dev/ha-members. A path of /v2/readyz
// (the query and a trailing slash aside): an error in both modes; the fix is
// /v2/livez. Readiness on /v2/readyz is the routing's choice and passes.
//
// Why: the Hub's /v2/readyz answers 200 on the primary and 503 on every
// standby (HighByte's health checks); a liveness probe on it has the kubelet
// restart each standby forever, and a startup probe on it never lets a
// standby start. /v2/livez answers 200 on every live member.
func haProbesRule() rule {
	return rule{id: "ha-probes", summary: "no liveness or startup probe of an HA group asks the role endpoint " + hub.Readyz, check: checkHAProbes}
}

func checkHAProbes(ix *index) []finding {
	var out []finding
	for _, g := range ix.haGroups() {
		type httpProbe struct {
			HTTPGet *struct {
				Path string `yaml:"path"`
			} `yaml:"httpGet"`
		}
		var containers []struct {
			Name          string     `yaml:"name"`
			LivenessProbe *httpProbe `yaml:"livenessProbe"`
			StartupProbe  *httpProbe `yaml:"startupProbe"`
		}
		if err := decodeField(g.node(), &containers, "spec", "template", "spec", "containers"); err != nil {
			continue // the index decoded them: cannot happen
		}
		for _, c := range containers {
			for _, p := range []struct {
				field, what string
				probe       *httpProbe
			}{
				{"livenessProbe", "the kubelet would restart every standby forever", c.LivenessProbe},
				{"startupProbe", "no standby would ever finish starting, and the kubelet would restart it forever", c.StartupProbe},
			} {
				if p.probe == nil || p.probe.HTTPGet == nil || !isRoleEndpoint(p.probe.HTTPGet.Path) {
					continue
				}
				out = append(out, finding{target: g.ref, item: g.item, severity: errorSeverity, current: p.probe.HTTPGet.Path,
					field: fmt.Sprintf("spec.template.spec.containers[name=%s].%s.httpGet.path", c.Name, p.field),
					message: fmt.Sprintf("%s of container %s GETs %s, which answers 503 on a standby: in %s %s; probe %s, which answers on every live member (keep %s for readiness)",
						p.field, c.Name, p.probe.HTTPGet.Path, g.ref, p.what, hub.Livez, hub.Readyz)})
			}
		}
	}
	return out
}

// isRoleEndpoint reports whether an HTTP path asks the role endpoint.
func isRoleEndpoint(path string) bool {
	path, _, _ = strings.Cut(path, "?")
	return strings.TrimSuffix(path, "/") == hub.Readyz
}
