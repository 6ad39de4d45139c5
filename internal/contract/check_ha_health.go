package contract

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Check ha-health forbids an HA member that is not probed on the Hub's
// /v2/livez, or that has no startup probe.
//
// Reads the Hub's container's readinessProbe and livenessProbe httpGet
// paths, and whether it has a startupProbe. Allowed: /v2/livez for both, a
// startup probe of any kind. A standby stays Ready (rollouts, drains, GitOps
// health) and the role label alone routes (check ha-routing). The function
// holds less for an HA group, which is never a singleton to its rule
// probes: its rule ha-probes forbids liveness and startup on /v2/readyz and
// allows readiness there (a routing choice that hubkit does not make).
func init() {
	addCheck(check{
		id:      "ha-health",
		promise: "each member is probed for readiness and liveness on /v2/livez and has a startup probe, so that the role label alone routes",
		check:   checkHAHealth,
	})
}

func checkHAHealth(m *Manifest, want Expect) field.ErrorList {
	_, w := hubStatefulSet(m, want)
	if w == nil {
		return nil
	}
	var errs field.ErrorList
	c := w.Spec.Template.Spec.Containers[0]
	path := containerPath(w, c)
	for _, p := range []struct {
		field string
		path  string
		why   string
	}{
		{"readinessProbe", httpGetPath(c.ReadinessProbe), "a standby stays Ready (rollouts, drains, GitOps health); the role label routes"},
		{"livenessProbe", httpGetPath(c.LivenessProbe), "on " + Readyz + " a healthy standby (503) would be restarted forever"},
	} {
		if p.path != Livez {
			errs = append(errs, field.Invalid(path.Child(p.field, "httpGet", "path"), p.path, "want "+Livez+": "+p.why))
		}
	}
	if c.StartupProbe == nil {
		errs = append(errs, field.Required(path.Child("startupProbe"), "time for the Hub to start"))
	}
	return errs
}

// httpGetPath is p's HTTP GET path, or "" for none.
func httpGetPath(p *corev1.Probe) string {
	if p == nil || p.HTTPGet == nil {
		return ""
	}
	return p.HTTPGet.Path
}
