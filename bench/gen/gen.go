// Package gen writes deterministic ResourceLists for the benchmarks: the mix
// of kinds a real platform repository holds, a few percent of them singletons
// (some breaking rules that enforce fixes), formatted as people write YAML:
// comments, block style and flow style.
package gen

import (
	"bufio"
	"fmt"
	"io"
)

// Config is the functionConfig the generated ResourceList carries.
type Config string

// The configs the benchmarks run with.
const (
	Enforce Config = "enforce"
	Audit   Config = "audit"
	None    Config = ""
)

// ResourceList writes a ResourceList of n items with config (None: no
// functionConfig), the same bytes for the same n.
func ResourceList(w io.Writer, n int, config Config) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:")
	for i := range n {
		item(bw, i, "- ", "  ")
	}
	if config != None {
		fmt.Fprintf(bw, "functionConfig:\n  apiVersion: fn.hubkit.dev/v1alpha1\n  kind: Singleton\n  metadata:\n    name: bench\n  spec:\n    mode: %s\n", config)
	}
	return bw.Flush()
}

// Manifests writes the same n items as a multi-document YAML stream, the
// form that linters such as kube-score read.
func Manifests(w io.Writer, n int) error {
	bw := bufio.NewWriter(w)
	for i := range n {
		if i > 0 {
			fmt.Fprintln(bw, "---")
		}
		item(bw, i, "", "")
	}
	return bw.Flush()
}

// item writes item i: slot i%10 of group i/10 decides its kind; one group in
// three holds a singleton (a Deployment on a ReadWriteOnce claim).
func item(w *bufio.Writer, i int, first, rest string) {
	g := i / 10
	ns := fmt.Sprintf("team-%d", g%20)
	singleton := g%3 == 0
	p := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		prefix := rest
		for j, line := range splitLines(s) {
			if j == 0 && first != "" {
				prefix = first
			} else {
				prefix = rest
			}
			w.WriteString(prefix + line + "\n")
		}
	}
	switch i % 10 {
	case 0:
		p(deployment, "web", g, ns, 3, "RollingUpdate", probes)
	case 1:
		p(service, g, ns, "web", g)
	case 2:
		p(configMap, "web", g, ns, i)
	case 3:
		target := "web"
		if singleton && g%9 == 0 {
			target = "db" // an autoscaler aimed at a singleton: enforce removes it
		}
		p(hpa, g, ns, target, g)
	case 4:
		p(pdb, g, ns, g)
	case 5:
		p(ingress, g, ns, g)
	case 6:
		p(statefulSet, g, ns, g)
	case 7:
		mode := "ReadWriteOnce"
		if !singleton {
			mode = "ReadWriteMany"
		}
		p(claim, g, ns, mode)
	case 8:
		p(configMap, "db", g, ns, i)
	case 9:
		replicas, strategy, withProbes := 1, "Recreate", probes
		if singleton && g%2 == 0 {
			replicas, strategy, withProbes = 2, "RollingUpdate", "" // enforce fixes all three
		}
		p(deployment, "db", g, ns, replicas, strategy, withProbes+fmt.Sprintf(dbVolume, g))
	}
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for j := range len(s) {
		if s[j] == '\n' {
			out = append(out, s[start:j])
			start = j + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s-%[2]d
  namespace: %[3]s
  labels: {app: %[1]s-%[2]d, tier: backend} # flow style, as people write it
spec:
  replicas: %[4]d
  strategy:
    type: %[5]s
  selector:
    matchLabels:
      app: %[1]s-%[2]d
  template:
    metadata:
      labels:
        app: %[1]s-%[2]d
    spec:
      containers:
      - name: app
        image: registry.example.com/%[1]s:1.%[2]d
        ports:
        - name: http
          containerPort: 8080
        resources:
          requests: {cpu: 100m, memory: 128Mi}
%[6]s`

const probes = `        readinessProbe:
          httpGet: {path: /ready, port: http}
        livenessProbe:
          tcpSocket:
            port: http
        startupProbe:
          tcpSocket:
            port: http
          failureThreshold: 30
`

const dbVolume = `        volumeMounts:
        - name: data
          mountPath: /var/lib/data
      volumes:
      # the state that makes this a singleton
      - name: data
        persistentVolumeClaim:
          claimName: data-%d
`

const service = `apiVersion: v1
kind: Service
metadata:
  name: svc-%[1]d
  namespace: %[2]s
spec:
  selector:
    app: %[3]s-%[4]d
  ports:
  - name: http
    port: 80
    targetPort: http`

const configMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: %[1]s-config-%[2]d
  namespace: %[3]s
data: {LOG_LEVEL: info, FEATURE_FLAGS: "a,b,c", SEQUENCE: "%[4]d"}`

const hpa = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: hpa-%[1]d
  namespace: %[2]s
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: %[3]s-%[4]d
  minReplicas: 2
  maxReplicas: 10`

const pdb = `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: pdb-%[1]d
  namespace: %[2]s
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app: web-%[3]d`

const ingress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ing-%[1]d
  namespace: %[2]s
spec:
  rules:
  - host: app-%[3]d.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: svc-%[3]d
            port:
              name: http`

const statefulSet = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: queue-%[1]d
  namespace: %[2]s
spec:
  replicas: 3
  serviceName: queue-%[3]d
  selector:
    matchLabels: {app: queue-%[3]d}
  template:
    metadata:
      labels: {app: queue-%[3]d}
    spec:
      containers:
      - name: queue
        image: registry.example.com/queue:2.0
  volumeClaimTemplates: # one claim per replica: not a singleton
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi`

const claim = `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data-%[1]d
  namespace: %[2]s
spec:
  accessModes:
  - %[3]s
  resources:
    requests:
      storage: 10Gi`
