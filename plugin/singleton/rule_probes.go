package singleton

import (
	"fmt"
	"slices"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Rule probes: the app container of a singleton has readiness, liveness and
// startup probes, and they probe ports it has.
//
// Reads the readinessProbe, livenessProbe and startupProbe of the app
// container and its ports. The app container is spec.probes.container; else
// the container that a Service selecting the pod targets (by targetPort);
// else the one declaring spec.probes.port; else the first (charts often put
// a sidecar first). Every finding says which container and why. A missing probe: enforce injects one from spec.probes (TCP connect,
// or HTTP GET with a path, spec.probes.path or the probe's own, on
// spec.probes.port, default http) and
// reports it (info); audit fails. An existing probe is never changed. A probe,
// existing or to be injected, on a port name the container does not declare,
// or with a host set (Pod Security baseline forbids probing other hosts): an
// error in both modes. A port number needs no declaration: the kubelet probes
// it all the same.
//
// Why: the Hub must come back by itself when it hangs (liveness), get traffic
// only when it answers (readiness), and get time for a slow JVM start before
// liveness may kill it (startup).
func probesRule() rule {
	return rule{id: "probes", summary: "the app container has readiness, liveness and startup probes on a port it declares", check: checkProbes}
}

func checkProbes(ix *index) []finding {
	services := map[*workload][]*service{}
	for _, s := range ix.services {
		for _, w := range ix.singletonsSelectedBy(s.ref.Namespace, s.spec.Spec.Selector) {
			services[w] = append(services[w], s)
		}
	}
	var out []finding
	for _, w := range ix.singletons {
		out = append(out, checkWorkloadProbes(w.probes, w, services[w])...)
	}
	return out
}

// appContainer picks the container whose probes the rule is about, and
// says why; ok is false when spec.probes.container names none.
func appContainer(cfg Probes, containers []container, services []*service) (c container, why string, ok bool) {
	if cfg.Container != "" {
		i := slices.IndexFunc(containers, func(c container) bool { return c.Name == cfg.Container })
		if i < 0 {
			return container{}, "", false
		}
		return containers[i], "spec.probes.container", true
	}
	for _, s := range services {
		for _, p := range s.spec.Spec.Ports {
			target := p.target()
			for _, c := range containers {
				if c.hasPort(target) {
					return c, fmt.Sprintf("Service %s targets its port %s", s.ref.Name, target.String()), true
				}
			}
		}
	}
	port := *cfg.Port
	for _, c := range containers {
		if c.hasPort(port) {
			return c, "it declares port " + port.String(), true
		}
	}
	return containers[0], "the first container", true
}

func checkWorkloadProbes(cfg Probes, w *workload, services []*service) []finding {
	containers := w.template.Spec.Containers
	if len(containers) == 0 {
		return []finding{{target: w.ref, item: w.item, field: "spec.template.spec.containers", severity: errorSeverity,
			message: "the pod template has no containers, so there is nothing to run or probe; add the app's container"}}
	}
	c, why, ok := appContainer(cfg, containers, services)
	if !ok {
		return []finding{{target: w.ref, item: w.item, field: "spec.template.spec.containers", severity: errorSeverity,
			message: fmt.Sprintf("has no container %q to probe; set spec.probes.container to one of %s", cfg.Container, containerNames(containers))}}
	}
	if c.Name == "" {
		// A fix addresses the container by its name: without one there is
		// nothing to fix safely (and the API server refuses the pod).
		return []finding{{target: w.ref, item: w.item, field: "spec.template.spec.containers", severity: errorSeverity,
			message: fmt.Sprintf("the container to probe (%s) has no name, which Kubernetes requires; give it a name", why)}}
	}
	assumed := fmt.Sprintf("container %s (%s)", c.Name, why)
	base := fmt.Sprintf("spec.template.spec.containers[name=%s]", c.Name)
	port := *cfg.Port
	var out []finding
	for _, p := range []struct {
		field    string
		existing *probe
		settings Probe
	}{
		{"readinessProbe", c.ReadinessProbe, cfg.Readiness},
		{"livenessProbe", c.LivenessProbe, cfg.Liveness},
		{"startupProbe", c.StartupProbe, cfg.Startup},
	} {
		f := finding{target: w.ref, item: w.item, field: base + "." + p.field}
		if p.existing != nil {
			out = append(out, checkExistingProbe(f, c, p.existing)...)
			continue
		}
		if !c.reaches(port) {
			f.severity = errorSeverity
			f.message = fmt.Sprintf("%s is missing and cannot be injected: %s has no port named %s; declare a container port %s, set spec.probes.port (or spec.probes.container), or give the container its own %s (an exec probe, for an app without a port)", p.field, assumed, port.String(), port.String(), p.field)
			out = append(out, f)
			continue
		}
		field, node, what := p.field, probeNode(cfg, p.settings), describeProbe(cfg, p.settings)
		f.message = fmt.Sprintf("%s is missing in %s; add one, such as %s", p.field, assumed, what)
		f.fix = &fix{severity: infoSeverity, proposed: what,
			message: fmt.Sprintf("%s injected into %s: %s", p.field, assumed, what),
			apply:   func() error { return injectProbe(w.node(), c.Name, field, node) }}
		out = append(out, f)
	}
	return out
}

func checkExistingProbe(f finding, c container, p *probe) []finding {
	var out []finding
	for _, a := range []*probeAction{p.HTTPGet, p.TCPSocket, p.GRPC} {
		if a == nil {
			continue
		}
		if a.Host != "" {
			g := f
			g.severity, g.current = errorSeverity, a.Host
			g.message = fmt.Sprintf("probes host %s: Pod Security baseline forbids probing another host; remove the host field", a.Host)
			out = append(out, g)
		}
		if a.Port != nil && !c.reaches(a.Port.IntOrString) {
			g := f
			g.severity, g.current = errorSeverity, a.Port.String()
			g.message = fmt.Sprintf("probes port %s, which container %s does not declare; %s", a.Port.String(), c.Name, portChoice(portNames(c), "probe"))
			out = append(out, g)
		}
	}
	return out
}

// probePath is the HTTP path of an injected probe, or "" for a TCP connect.
func probePath(cfg Probes, t Probe) string {
	if t.Path != nil {
		return *t.Path
	}
	if cfg.Path != nil {
		return *cfg.Path
	}
	return ""
}

func describeProbe(cfg Probes, t Probe) string {
	if path := probePath(cfg, t); path != "" {
		return fmt.Sprintf("HTTP GET %s on port %s", path, cfg.Port.String())
	}
	return "TCP connect on port " + cfg.Port.String()
}

// probeNode builds the probe that enforce injects.
func probeNode(cfg Probes, t Probe) *yaml.RNode {
	path := probePath(cfg, t)
	action := yaml.NewMapRNode(nil)
	if path != "" {
		_ = action.PipeE(yaml.SetField("path", yaml.NewStringRNode(path)))
	}
	_ = action.PipeE(yaml.SetField("port", portNode(*cfg.Port)))
	p := yaml.NewMapRNode(nil)
	if path != "" {
		_ = p.PipeE(yaml.SetField("httpGet", action))
	} else {
		_ = p.PipeE(yaml.SetField("tcpSocket", action))
	}
	for _, f := range []struct {
		name string
		v    *int64
	}{
		{"initialDelaySeconds", t.InitialDelaySeconds}, {"periodSeconds", t.PeriodSeconds},
		{"timeoutSeconds", t.TimeoutSeconds}, {"failureThreshold", t.FailureThreshold},
	} {
		if f.v != nil {
			_ = p.PipeE(yaml.SetField(f.name, intNode(*f.v)))
		}
	}
	return p
}

func injectProbe(n *yaml.RNode, containerName, field string, probe *yaml.RNode) error {
	c, err := n.Pipe(yaml.Lookup("spec", "template", "spec", "containers", "[name="+containerName+"]"))
	if err != nil {
		return fmt.Errorf("container %s: %w", containerName, err)
	}
	if c == nil {
		return fmt.Errorf("container %s not found", containerName)
	}
	return c.PipeE(yaml.SetField(field, probe.Copy()))
}
