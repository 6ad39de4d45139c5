package contract_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/internal/overlays"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

var fns testenv.Functions

func TestMain(m *testing.M) { fns.Main(m) }

// prodRow is prod's row of the overlay table: the cases below break its promises.
func prodRow(t *testing.T) overlays.Overlay {
	t.Helper()
	table, err := overlays.Load(testenv.RepoRoot(t))
	require.NoError(t, err)
	prod, err := overlays.Find(table, "prod")
	require.NoError(t, err)
	require.True(t, prod.Ingress && prod.TLSSecret != "", "the cases break prod's Ingress")
	return prod
}

func renderedProd(t *testing.T) *contract.Manifest {
	t.Helper()
	return rendered(t, prodRow(t))
}

// haRow is prod-ha's row: the HA cases break its promises.
func haRow(t *testing.T) overlays.Overlay {
	t.Helper()
	table, err := overlays.Load(testenv.RepoRoot(t))
	require.NoError(t, err)
	ha, err := overlays.Find(table, "prod-ha")
	require.NoError(t, err)
	require.Positive(t, ha.Members, "the HA cases break an HA group's promises")
	return ha
}

// rendered is the overlay o rendered with the function, unbroken.
func rendered(t *testing.T, o overlays.Overlay) *contract.Manifest {
	t.Helper()
	fns.OnPath(t)
	out, err := render.Krusty(o.Dir(testenv.RepoRoot(t)))
	require.NoError(t, err)
	m, err := contract.Parse(out)
	require.NoError(t, err)
	require.Empty(t, contract.Check(m, o.Expect), "the unbroken %s overlay must keep the contract", o.Name)
	return m
}

// brokenPromise is one case of TestCheckReportsEachBrokenPromise.
type brokenPromise struct {
	name   string
	mutate func(m *contract.Manifest)
	check  string // the ID the finding carries
	want   string // in the finding's text
}

// Each case breaks one promise in the real prod render and names the check
// that must report it and what its finding says: a check that cannot fail is
// no check.
func TestCheckReportsEachBrokenPromise(t *testing.T) {
	prod, ha := prodRow(t), haRow(t)
	cases := []brokenPromise{
		{"two replicas", func(m *contract.Manifest) { m.Deployments[0].Spec.Replicas = ptr.To[int32](2) },
			"replicas", "Deployment[hbih].spec.replicas: Invalid value: 2: want 1"},
		{"replicas unset", func(m *contract.Manifest) { m.Deployments[0].Spec.Replicas = nil },
			"replicas", "Deployment[hbih].spec.replicas: Required value: want 1"},
		{"rolling update", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
		}, "rollout", `Deployment[hbih].spec.strategy.type: Invalid value: "RollingUpdate": want Recreate`},
		{"no readiness probe", func(m *contract.Manifest) { m.Deployments[0].Spec.Template.Spec.Containers[0].ReadinessProbe = nil },
			"probes", "Deployment[hbih].spec.template.spec.containers[name=hub].readinessProbe: Required value"},
		{"a second Deployment", func(m *contract.Manifest) { m.Deployments = append(m.Deployments, m.Deployments[0]) },
			"deployment", "Deployment: Too many: 2: must have at most 1 item"},
		{"an autoscaler", func(m *contract.Manifest) {
			m.Objects = append(m.Objects, contract.Object{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler", Namespace: prod.Namespace, Name: names.Hub})
		}, "autoscalers", "HorizontalPodAutoscaler[hbih]: Forbidden: the Hub must never be autoscaled"},
		{"appData not mounted", func(m *contract.Manifest) {
			appDataMount(t, m).MountPath = "/data"
		}, "claims", "containers[name=hub].volumeMounts: Required value: mounts nothing at /usr/local/highbyte/appData"},
		{"appData on an emptyDir", func(m *contract.Manifest) {
			volumeNamed(t, m, appDataMount(t, m).Name).VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		}, "claims", "persistentVolumeClaim: Required value: the volume mounted at /usr/local/highbyte/appData is not a persistentVolumeClaim"},
		{"claim not rendered", func(m *contract.Manifest) { m.Claims = nil },
			"claims", `persistentVolumeClaim.claimName: Invalid value: "hbih-appdata": not a rendered PersistentVolumeClaim`},
		{"wrong size", func(m *contract.Manifest) {
			m.Claims[0].Spec.Resources.Requests[corev1.ResourceStorage] = contractQuantity(t, "1Gi")
		}, "claims", `PersistentVolumeClaim[hbih-appdata].spec.resources.requests[storage]: Invalid value: "1Gi": want ` + prod.Storage},
		{"wrong TLS secret", func(m *contract.Manifest) { m.Ingresses[0].Spec.TLS[0].SecretName = "other-tls" },
			"ingress", `Ingress[hbih].spec.tls[0].secretName: Invalid value: "other-tls": want ` + prod.TLSSecret},
		{"shared claim", func(m *contract.Manifest) {
			m.Claims[0].Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}, "claims", `spec.accessModes: Invalid value: ["ReadWriteMany"]: want only ` + string(prod.AccessMode)},
		{"service type", func(m *contract.Manifest) { m.Services[0].Spec.Type = corev1.ServiceTypeLoadBalancer },
			"service", `Service[hbih].spec.type: Invalid value: "LoadBalancer": want ClusterIP`},
		{"selector misses the pod", func(m *contract.Manifest) {
			m.Services[0].Spec.Selector["app.kubernetes.io/name"] = "hub"
		}, "wiring", `Service[hbih].spec.selector[app.kubernetes.io/name]: Invalid value: "hub": does not match the pod labels of Deployment hbih`},
		{"target port missing", func(m *contract.Manifest) {
			m.Services[0].Spec.Ports[0].TargetPort = intstr.FromString("web")
		}, "wiring", `Service[hbih].spec.ports[name=http].targetPort: Invalid value: "web": container hub declares no such port`},
		{"ingress backend port missing", func(m *contract.Manifest) {
			m.Ingresses[0].Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Name = "web"
		}, "wiring", `Ingress[hbih].spec.rules[0].http.paths[0].backend.service.port: Invalid value: "web": not a port of Service hbih`},
		{"ingress without TLS", func(m *contract.Manifest) { m.Ingresses[0].Spec.TLS = nil },
			"ingress", "Ingress[hbih].spec.tls[0].secretName: Required value"},
		{"privilege escalation", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
		}, "pod-security", "Deployment[hbih].spec.template: Forbidden: violates Pod Security restricted: allowPrivilegeEscalation != false"},
		{"API token mounted", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.AutomountServiceAccountToken = nil
		}, "hardening", "Deployment[hbih].spec.template.spec.automountServiceAccountToken: Required value: want false"},
		{"default ServiceAccount", func(m *contract.Manifest) { m.Deployments[0].Spec.Template.Spec.ServiceAccountName = "" },
			"hardening", `spec.template.spec.serviceAccountName: Invalid value: "": not a rendered ServiceAccount`},
		{"ServiceAccount mounts tokens", func(m *contract.Manifest) { m.ServiceAccounts[0].AutomountServiceAccountToken = nil },
			"hardening", "ServiceAccount[hbih].automountServiceAccountToken: Required value: want false"},
		{"no memory limit", func(m *contract.Manifest) {
			delete(m.Deployments[0].Spec.Template.Spec.Containers[0].Resources.Limits, corev1.ResourceMemory)
		}, "hardening", "containers[name=hub].resources.limits[memory]: Required value"},
		{"image by tag only", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.Containers[0].Image = "registry.example.com/highbyte/intelligence-hub:4.3.3"
		}, "hardening", `containers[name=hub].image: Invalid value: "registry.example.com/highbyte/intelligence-hub:4.3.3": not pinned by digest`},
		{"no NetworkPolicy", func(m *contract.Manifest) { m.NetworkPolicies = nil },
			"network-policy", "NetworkPolicy: Required value: want exactly one"},
		{"NetworkPolicy selects other pods", func(m *contract.Manifest) {
			m.NetworkPolicies[0].Spec.PodSelector.MatchLabels["app.kubernetes.io/instance"] = "other"
		}, "network-policy", `NetworkPolicy[hbih].spec.podSelector.matchLabels[app.kubernetes.io/instance]: Invalid value: "other": does not select the pods of Deployment hbih`},
		{"NetworkPolicy shuts http", func(m *contract.Manifest) { m.NetworkPolicies[0].Spec.Ingress = m.NetworkPolicies[0].Spec.Ingress[:1] },
			"network-policy", "NetworkPolicy[hbih].spec.ingress: Required value: no rule admits the http port"},
		{"object outside the namespace", func(m *contract.Manifest) { m.Objects[1].Namespace = "default" },
			"namespace", `.metadata.namespace: Invalid value: "default": want "` + prod.Namespace + `"`},
		{"settings that are not JSON", func(m *contract.Manifest) { settingsConfigMap(t, m).Data[hub.SettingsFile] = `{"settings": ` },
			"json", "data[intelligencehub-settings.json]: Invalid value: not valid JSON (unexpected end of JSON input)"},
		{"no appData defaults", func(m *contract.Manifest) {
			pod := &m.Deployments[0].Spec.Template.Spec
			pod.InitContainers = slices.DeleteFunc(pod.InitContainers, func(c corev1.Container) bool { return c.Name == "appdata-defaults" })
		}, "appdata-defaults", "initContainers[name=appdata-defaults]: Required value: a fresh claim hides the defaults"},
		{"appData defaults before the settings", func(m *contract.Manifest) {
			slices.Reverse(m.Deployments[0].Spec.Template.Spec.InitContainers)
		}, "appdata-defaults", "Forbidden: runs after appdata-defaults, whose copy of the image's defaults then stands in for its file"},
		{"an init container from another image", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.InitContainers[0].Image = "busybox"
		}, "init-containers", `.image: Invalid value: "busybox": want the Hub's image`},
		{"an init container with a writable root", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.InitContainers[0].SecurityContext.ReadOnlyRootFilesystem = nil
		}, "init-containers", "securityContext.readOnlyRootFilesystem: Required value: want true"},
		{"seeded where managed is promised", func(m *contract.Manifest) {
			initContainer(t, m, "settings-managed").Name = "settings-seeded"
		}, "settings", "initContainers[name=settings-managed]: Required value: the overlay's settings are managed"},
		{"certificate store mounted read-write", func(m *contract.Manifest) {
			for i := range initContainer(t, m, "certificate-store").VolumeMounts {
				initContainer(t, m, "certificate-store").VolumeMounts[i].ReadOnly = false
			}
		}, "certificate-store", "readOnly: Invalid value: false: want true: /hubkit/certificate-store is configuration from Git or a Secret"},
		{"deployment file from a ConfigMap", func(m *contract.Manifest) {
			volumeNamed(t, m, "deployment").VolumeSource = corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "deployment"}}}
		}, "project-from-git", "volumes[name=deployment]: Invalid value: mounted at /hubkit/deployment, is not of the kind its component mounts"},
		{"no deployment file", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.Containers[0].Env = slices.DeleteFunc(m.Deployments[0].Spec.Template.Spec.Containers[0].Env,
				func(e corev1.EnvVar) bool { return e.Name == hub.DeploymentFileEnv })
		}, "project-from-git", "env[name=HIGHBYTE_DEPLOYMENT_FILE]: Required value: the overlay promises the project from Git"},
		{"Git Backup password in the settings", func(m *contract.Manifest) {
			settingsConfigMap(t, m).Data[hub.SettingsFile] = `{"settings": {"gitBackup": {"mode": "scheduled", "password": "hunter2"}}}`
		}, "git-backup", "settings.gitBackup.password: Invalid value: does not reference GIT_BACKUP_PASSWORD"},
		{"namespace not restricted", func(m *contract.Manifest) {
			delete(m.Namespaces[0].Labels, "pod-security.kubernetes.io/enforce")
		}, "namespace", `Namespace[` + prod.Namespace + `].metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "": want "restricted"`},
	}
	ids := contract.CheckIDs()
	tested := map[string]bool{}
	for _, tc := range slices.Concat(cases, haCases(t)) {
		require.Contains(t, ids, tc.check, "case %q names no check", tc.name)
		tested[tc.check] = true
		t.Run(tc.name, func(t *testing.T) {
			row := prod
			if strings.HasPrefix(tc.name, haCase) {
				row = ha
			}
			m := rendered(t, row)
			tc.mutate(m)
			got := contract.Check(m, row.Expect)
			require.NotEmpty(t, got)
			for _, e := range got {
				assert.Contains(t, ids, e.Origin, "every finding names its check: %v", e)
			}
			assert.True(t, hasFinding(got, tc.check, tc.want), "want a [%s] finding containing %q, got %s", tc.check, tc.want, lines(got))
		})
	}
	for _, id := range ids {
		assert.True(t, tested[id], "no case breaks the promise of check %s", id)
	}
}

// The checks' IDs are stable strings, each given once.
func TestCheckIDsAreUnique(t *testing.T) {
	ids := contract.CheckIDs()
	assert.Len(t, ids, len(slices.Compact(slices.Sorted(slices.Values(ids)))))
}

// hasFinding reports whether errs holds a finding of check whose text contains want.
func hasFinding(errs field.ErrorList, check, want string) bool {
	return slices.ContainsFunc(errs, func(e *field.Error) bool { return e.Origin == check && strings.Contains(e.Error(), want) })
}

// lines is errs as tools/contract prints them.
func lines(errs field.ErrorList) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n[%s] %s", e.Origin, e.Error())
	}
	return b.String()
}

// A NetworkPolicy may admit the http port by its number as well as by name.
func TestNetworkPolicyMayNameTheHTTPPortByNumber(t *testing.T) {
	prod := prodRow(t).Expect
	m := renderedProd(t)
	np := &m.NetworkPolicies[0]
	for i, r := range np.Spec.Ingress {
		for j, p := range r.Ports {
			if p.Port != nil && p.Port.String() == hub.HTTPPortName {
				np.Spec.Ingress[i].Ports[j].Port = ptr.To(intstr.FromInt32(hub.HTTPPort))
			}
		}
	}
	assert.Empty(t, contract.Check(m, prod))
	np.Spec.Ingress[len(np.Spec.Ingress)-1].Ports[0].Port = ptr.To(intstr.FromInt32(8080))
	got := contract.Check(m, prod)
	assert.True(t, hasFinding(got, "network-policy", "NetworkPolicy[hbih].spec.ingress: Required value: no rule admits the http port"), lines(got))
}

func TestParseRejectsFieldsTheAPIDoesNotKnow(t *testing.T) {
	_, err := contract.Parse([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: hbih\nspec:\n  replica: 2\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Deployment hbih")
	assert.Contains(t, err.Error(), `unknown field "replica"`)
}

func contractQuantity(t *testing.T, s string) resource.Quantity {
	t.Helper()
	q, err := resource.ParseQuantity(s)
	require.NoError(t, err)
	return q
}

// appDataMount is the Hub container's mount at appData.
func appDataMount(t *testing.T, m *contract.Manifest) *corev1.VolumeMount {
	t.Helper()
	mounts := m.Deployments[0].Spec.Template.Spec.Containers[0].VolumeMounts
	for i := range mounts {
		if mounts[i].MountPath == hub.AppData {
			return &mounts[i]
		}
	}
	t.Fatal("the render mounts nothing at appData")
	return nil
}

// volumeNamed is the pod's volume called name.
func volumeNamed(t *testing.T, m *contract.Manifest, name string) *corev1.Volume {
	t.Helper()
	volumes := m.Deployments[0].Spec.Template.Spec.Volumes
	for i := range volumes {
		if volumes[i].Name == name {
			return &volumes[i]
		}
	}
	t.Fatalf("the pod has no volume %s", name)
	return nil
}

// settingsConfigMap is the render's generated settings ConfigMap.
func settingsConfigMap(t *testing.T, m *contract.Manifest) *corev1.ConfigMap {
	t.Helper()
	for i := range m.ConfigMaps {
		if strings.HasPrefix(m.ConfigMaps[i].Name, contract.SettingsConfigMap+"-") {
			return &m.ConfigMaps[i]
		}
	}
	t.Fatal("the render has no settings ConfigMap")
	return nil
}

// initContainer is the pod's init container called name.
func initContainer(t *testing.T, m *contract.Manifest, name string) *corev1.Container {
	t.Helper()
	cs := m.Deployments[0].Spec.Template.Spec.InitContainers
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	t.Fatalf("the pod has no init container %s", name)
	return nil
}

// The files an overlay's Secrets are made from never reach a render:
// `make render` checks them on their own, naming the file.
func TestCheckJSONFile(t *testing.T) {
	for _, tc := range []struct{ name, body, wantErr string }{
		{"an object", `{"version": 0, "fragments": []}`, ""},
		{"cut short", `{"version": 0,`, "deployment.json is not a JSON object: unexpected end of JSON input"},
		{"a list", `[]`, "deployment.json is not a JSON object: json: cannot unmarshal array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "deployment.json")
			require.NoError(t, os.WriteFile(path, []byte(tc.body), 0o600))
			err := contract.CheckJSONFile(path)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}
