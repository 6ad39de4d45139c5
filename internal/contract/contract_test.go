package contract_test

import (
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
	"k8s.io/utils/ptr"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/hub"
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
	fns.OnPath(t)
	prod := prodRow(t)
	out, err := render.Krusty(prod.Dir(testenv.RepoRoot(t)))
	require.NoError(t, err)
	m, err := contract.Parse(out)
	require.NoError(t, err)
	require.Empty(t, contract.Check(m, prod.Expect), "the unbroken prod overlay must keep the contract")
	return m
}

// Each case breaks one promise in the real prod render and names the violation
// that must be reported: a check that cannot fail is no check.
func TestCheckReportsEachBrokenPromise(t *testing.T) {
	prod := prodRow(t)
	cases := []struct {
		name   string
		mutate func(m *contract.Manifest)
		want   string
	}{
		{"two replicas", func(m *contract.Manifest) { m.Deployments[0].Spec.Replicas = ptr.To[int32](2) },
			"Deployment hbih: spec.replicas is 2, want 1"},
		{"replicas unset", func(m *contract.Manifest) { m.Deployments[0].Spec.Replicas = nil },
			"spec.replicas is unset, want 1"},
		{"rolling update", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
		}, `spec.strategy.type is "RollingUpdate", want Recreate`},
		{"no readiness probe", func(m *contract.Manifest) { m.Deployments[0].Spec.Template.Spec.Containers[0].ReadinessProbe = nil },
			"Deployment hbih: container hub has no readinessProbe"},
		{"a second Deployment", func(m *contract.Manifest) { m.Deployments = append(m.Deployments, m.Deployments[0]) },
			"want exactly one Deployment, got 2"},
		{"an autoscaler", func(m *contract.Manifest) {
			m.Objects = append(m.Objects, contract.Object{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler", Namespace: prod.Namespace, Name: "hbih"})
		}, "HorizontalPodAutoscaler " + prod.Namespace + "/hbih: the Hub must never be autoscaled"},
		{"appData not mounted", func(m *contract.Manifest) {
			appDataMount(t, m).MountPath = "/data"
		}, "mounts nothing at /usr/local/highbyte/appData"},
		{"appData on an emptyDir", func(m *contract.Manifest) {
			volumeNamed(t, m, appDataMount(t, m).Name).VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		}, "is not a persistentVolumeClaim"},
		{"claim not rendered", func(m *contract.Manifest) { m.Claims = nil },
			`names claim "hbih-appdata", which is not rendered`},
		{"wrong size", func(m *contract.Manifest) {
			m.Claims[0].Spec.Resources.Requests[corev1.ResourceStorage] = contractQuantity(t, "1Gi")
		}, "spec.resources.requests.storage is 1Gi, want " + prod.Storage},
		{"wrong TLS secret", func(m *contract.Manifest) { m.Ingresses[0].Spec.TLS[0].SecretName = "other-tls" },
			"spec.tls[0].secretName is other-tls, want " + prod.TLSSecret},
		{"shared claim", func(m *contract.Manifest) {
			m.Claims[0].Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}, "spec.accessModes is [ReadWriteMany], want [ReadWriteOncePod]"},
		{"service type", func(m *contract.Manifest) { m.Services[0].Spec.Type = corev1.ServiceTypeLoadBalancer },
			`spec.type is "LoadBalancer", want "ClusterIP"`},
		{"selector misses the pod", func(m *contract.Manifest) {
			m.Services[0].Spec.Selector["app.kubernetes.io/name"] = "hub"
		}, "spec.selector app.kubernetes.io/name=hub does not match the pod labels"},
		{"target port missing", func(m *contract.Manifest) {
			m.Services[0].Spec.Ports[0].TargetPort = intstr.FromString("web")
		}, "port http targets web, which container hub does not expose"},
		{"ingress backend port missing", func(m *contract.Manifest) {
			m.Ingresses[0].Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Name = "web"
		}, `backend port "web"/0 is not a port of Service hbih`},
		{"ingress without TLS", func(m *contract.Manifest) { m.Ingresses[0].Spec.TLS = nil },
			"spec.tls has no secretName"},
		{"privilege escalation", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
		}, "violates Pod Security restricted: allowPrivilegeEscalation != false"},
		{"API token mounted", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.AutomountServiceAccountToken = nil
		}, "spec.template.spec.automountServiceAccountToken is not false"},
		{"default ServiceAccount", func(m *contract.Manifest) { m.Deployments[0].Spec.Template.Spec.ServiceAccountName = "" },
			`serviceAccountName "" is not a rendered ServiceAccount`},
		{"ServiceAccount mounts tokens", func(m *contract.Manifest) { m.ServiceAccounts[0].AutomountServiceAccountToken = nil },
			"ServiceAccount hbih: automountServiceAccountToken is not false"},
		{"no memory limit", func(m *contract.Manifest) {
			delete(m.Deployments[0].Spec.Template.Spec.Containers[0].Resources.Limits, corev1.ResourceMemory)
		}, "container hub has no memory limit"},
		{"image by tag only", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.Containers[0].Image = "registry.example.com/highbyte/intelligence-hub:4.3.3"
		}, "is not pinned by digest"},
		{"no NetworkPolicy", func(m *contract.Manifest) { m.NetworkPolicies = nil }, "want exactly one NetworkPolicy, got 0"},
		{"NetworkPolicy selects other pods", func(m *contract.Manifest) {
			m.NetworkPolicies[0].Spec.PodSelector.MatchLabels["app.kubernetes.io/instance"] = "other"
		}, "does not select the pods of Deployment hbih"},
		{"NetworkPolicy shuts http", func(m *contract.Manifest) { m.NetworkPolicies[0].Spec.Ingress = m.NetworkPolicies[0].Spec.Ingress[:1] },
			"no ingress rule admits the http port"},
		{"object outside the namespace", func(m *contract.Manifest) { m.Objects[1].Namespace = "default" },
			`metadata.namespace is "default", want "hubkit"`},
		{"settings that are not JSON", func(m *contract.Manifest) { settingsConfigMap(t, m).Data[hub.SettingsFile] = `{"settings": ` },
			"intelligencehub-settings.json is not valid JSON (unexpected end of JSON input)"},
		{"no appData defaults", func(m *contract.Manifest) {
			pod := &m.Deployments[0].Spec.Template.Spec
			pod.InitContainers = slices.DeleteFunc(pod.InitContainers, func(c corev1.Container) bool { return c.Name == "appdata-defaults" })
		}, "no init container appdata-defaults: a fresh claim hides the defaults"},
		{"appData defaults before the settings", func(m *contract.Manifest) {
			slices.Reverse(m.Deployments[0].Spec.Template.Spec.InitContainers)
		}, "runs after appdata-defaults, whose copy of the image's defaults then stands in for its file"},
		{"an init container from another image", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.InitContainers[0].Image = "busybox"
		}, "runs busybox, want the Hub's image"},
		{"an init container with a writable root", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.InitContainers[0].SecurityContext.ReadOnlyRootFilesystem = nil
		}, "securityContext.readOnlyRootFilesystem is not true"},
		{"seeded where managed is promised", func(m *contract.Manifest) {
			initContainer(t, m, "settings-managed").Name = "settings-seeded"
		}, "no init container settings-managed: the overlay's settings are managed"},
		{"certificate store mounted read-write", func(m *contract.Manifest) {
			for i := range initContainer(t, m, "certificate-store").VolumeMounts {
				initContainer(t, m, "certificate-store").VolumeMounts[i].ReadOnly = false
			}
		}, "mounts /hubkit/certificate-store read-write"},
		{"deployment file from a ConfigMap", func(m *contract.Manifest) {
			volumeNamed(t, m, "deployment").VolumeSource = corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "deployment"}}}
		}, "volume deployment at /hubkit/deployment is not of the kind its component mounts"},
		{"no deployment file", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.Containers[0].Env = slices.DeleteFunc(m.Deployments[0].Spec.Template.Spec.Containers[0].Env,
				func(e corev1.EnvVar) bool { return e.Name == hub.DeploymentFileEnv })
		}, "sets HIGHBYTE_DEPLOYMENT_FILE: false, promised: true"},
		{"Git Backup password in the settings", func(m *contract.Manifest) {
			settingsConfigMap(t, m).Data[hub.SettingsFile] = `{"settings": {"gitBackup": {"mode": "scheduled", "password": "hunter2"}}}`
		}, "settings.gitBackup.password does not reference GIT_BACKUP_PASSWORD"},
		{"namespace not restricted", func(m *contract.Manifest) {
			delete(m.Namespaces[0].Labels, "pod-security.kubernetes.io/enforce")
		}, `label pod-security.kubernetes.io/enforce is "", want "restricted"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := renderedProd(t)
			tc.mutate(m)
			got := contract.Check(m, prod.Expect)
			require.NotEmpty(t, got)
			assert.Condition(t, func() bool {
				for _, v := range got {
					if strings.Contains(v, tc.want) {
						return true
					}
				}
				return false
			}, "want a violation containing %q, got %q", tc.want, got)
		})
	}
}

// A NetworkPolicy may admit the http port by its number as well as by name.
func TestNetworkPolicyMayNameTheHTTPPortByNumber(t *testing.T) {
	prod := prodRow(t).Expect
	m := renderedProd(t)
	np := &m.NetworkPolicies[0]
	for i, r := range np.Spec.Ingress {
		for j, p := range r.Ports {
			if p.Port != nil && p.Port.String() == "http" {
				np.Spec.Ingress[i].Ports[j].Port = ptr.To(intstr.FromInt32(45245))
			}
		}
	}
	assert.Empty(t, contract.Check(m, prod))
	np.Spec.Ingress[len(np.Spec.Ingress)-1].Ports[0].Port = ptr.To(intstr.FromInt32(8080))
	assert.Contains(t, contract.Check(m, prod), "NetworkPolicy hbih: no ingress rule admits the http port")
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
