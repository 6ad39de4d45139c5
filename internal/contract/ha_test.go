package contract_test

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
)

// haCase opens the name of every case that breaks prod-ha's render.
const haCase = "HA: "

// haCases break prod-ha's promises, one each (components/high-availability).
func haCases(t *testing.T) []brokenPromise {
	sts := func(m *contract.Manifest) *appsv1.StatefulSet { return &m.StatefulSets[0] }
	hubC := func(m *contract.Manifest) *corev1.Container { return &sts(m).Spec.Template.Spec.Containers[0] }
	env := func(m *contract.Manifest, name string) *corev1.EnvVar {
		for i, e := range hubC(m).Env {
			if e.Name == name {
				return &hubC(m).Env[i]
			}
		}
		t.Fatalf("the Hub's container has no %s", name)
		return nil
	}
	return []brokenPromise{
		{haCase + "a Deployment beside the group", func(m *contract.Manifest) {
			m.Deployments = append(m.Deployments, appsv1.Deployment{})
			m.Deployments[0].Name = names.Hub
		}, "ha-group", "Deployment[hbih]: Forbidden: an HA group runs as a StatefulSet alone"},
		{haCase + "three replicas", func(m *contract.Manifest) { sts(m).Spec.Replicas = ptr.To[int32](3) },
			"ha-group", "StatefulSet[hbih].spec.replicas: Invalid value: 3: want 2, the member count"},
		{haCase + "no member count", func(m *contract.Manifest) { delete(sts(m).Labels, names.HAMembersLabel) },
			"ha-group", `metadata.labels[hubkit.dev/ha-members]: Invalid value: "": want "2"`},
		{haCase + "OnDelete", func(m *contract.Manifest) { sts(m).Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType },
			"ha-group", `spec.updateStrategy.type: Invalid value: "OnDelete": want RollingUpdate`},
		{haCase + "a claim shared by the members", func(m *contract.Manifest) {
			spec := &sts(m).Spec.Template.Spec
			spec.Volumes = append(spec.Volumes, corev1.Volume{Name: names.AppDataVolume, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: names.AppDataClaim}}})
			m.Claims = append(m.Claims, corev1.PersistentVolumeClaim{})
			m.Claims[0].Name = names.AppDataClaim
		}, "ha-claims", "volumes[name=appdata]: Forbidden: appData from the pod template is one volume for every member: two writers"},
		{haCase + "members on ReadWriteOnce", func(m *contract.Manifest) {
			sts(m).Spec.VolumeClaimTemplates[0].Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
		}, "ha-claims", `volumeClaimTemplates[metadata.name=appdata].spec.accessModes: Invalid value: ["ReadWriteOnce"]: want only ReadWriteOncePod`},
		{haCase + "members on one node", func(m *contract.Manifest) { sts(m).Spec.Template.Spec.Affinity = nil },
			"ha-placement", "podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution: Required value: one member per node"},
		{haCase + "zones required", func(m *contract.Manifest) {
			sts(m).Spec.Template.Spec.TopologySpreadConstraints[0].WhenUnsatisfiable = corev1.DoNotSchedule
		}, "ha-placement", `whenUnsatisfiable: Invalid value: "DoNotSchedule": want ScheduleAnyway`},
		{haCase + "the JDBC URI in argv", func(m *contract.Manifest) {
			args := hubC(m).Args
			args[slices.Index(args, "-j")+1] = "$(HUB_JDBC_URI)"
		}, "ha-command", "Forbidden: $(HUB_JDBC_URI) is expanded by Kubernetes into argv"},
		{haCase + "a fixed node id", func(m *contract.Manifest) {
			args := hubC(m).Args
			args[slices.Index(args, "-n")+1] = "node1Primary"
		}, "ha-command", `Invalid value: "node1Primary": want -n $(POD_NAME)`},
		{haCase + "the JDBC URI in Git", func(m *contract.Manifest) {
			*env(m, contract.HAJDBCEnv) = corev1.EnvVar{Name: contract.HAJDBCEnv, Value: "jdbc:postgresql://db/hub?user=hub&password=hunter2"}
		}, "ha-command", "env[name=HUB_JDBC_URI].valueFrom.secretKeyRef: Required value: from Secret hbih-db-app, key jdbc-uri"},
		{haCase + "create at every start", func(m *contract.Manifest) {
			args := hubC(m).Args
			args[slices.Index(args, "com.highbyte.intelligencehub.runtime.HAMain")+1] = "create"
		}, "ha-command", "want HighByte's HA command"},
		{haCase + "liveness on readyz", func(m *contract.Manifest) { hubC(m).LivenessProbe.HTTPGet.Path = hub.Readyz },
			"ha-probes", `livenessProbe.httpGet.path: Invalid value: "/v2/readyz": want /v2/livez: on /v2/readyz a healthy standby (503) would be restarted forever`},
		{haCase + "readiness on readyz", func(m *contract.Manifest) { hubC(m).ReadinessProbe.HTTPGet.Path = hub.Readyz },
			"ha-probes", `readinessProbe.httpGet.path: Invalid value: "/v2/readyz": want /v2/livez`},
		{haCase + "the Service reaches every member", func(m *contract.Manifest) { delete(m.Services[0].Spec.Selector, names.HARoleLabel) },
			"ha-routing", "Service[hbih].spec.selector[hubkit.dev/ha-role]: Invalid value: \"\": want primary"},
		{haCase + "no labeler", func(m *contract.Manifest) {
			spec := &sts(m).Spec.Template.Spec
			spec.Containers = spec.Containers[:1]
		}, "ha-routing", "containers[name=ha-role]: Required value: the sidecar that labels each member"},
		{haCase + "another labeler", func(m *contract.Manifest) { sts(m).Spec.Template.Spec.Containers[1].Image = "example.com/labeler:1" },
			"ha-routing", `containers[name=ha-role].image: Invalid value: "example.com/labeler:1": want hubkit's ghcr.io/hubkit/ha-role`},
		{haCase + "the labeler told another member count", func(m *contract.Manifest) {
			c := &sts(m).Spec.Template.Spec.Containers[1]
			for k, a := range c.Args {
				if strings.HasPrefix(a, "-members=") {
					c.Args[k] = "-members=3"
				}
			}
		}, "ha-routing", "containers[name=ha-role].args: Invalid value"},
		{haCase + "the Role patches any pod", func(m *contract.Manifest) { m.Roles[0].Rules[0].ResourceNames = nil },
			"ha-routing", "Role[hbih-ha-role].rules[0].resourceNames: Invalid value: null: want the members' pods [hbih-0 hbih-1]"},
		{haCase + "the Hub gets the token", func(m *contract.Manifest) {
			hubC(m).VolumeMounts = append(hubC(m).VolumeMounts, corev1.VolumeMount{Name: "ha-role-token", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"})
		}, "ha-routing", "Forbidden: the Hub needs no API token"},
		{haCase + "no member may go", func(m *contract.Manifest) {
			m.PodDisruptionBudgets[0].Spec.MaxUnavailable = ptr.To(intstr.FromInt32(0))
		}, "ha-disruption", "PodDisruptionBudget[hbih].spec.maxUnavailable: Invalid value"},
		{haCase + "an unhealthy member blocks drains", func(m *contract.Manifest) { m.PodDisruptionBudgets[0].Spec.UnhealthyPodEvictionPolicy = nil },
			"ha-disruption", "spec.unhealthyPodEvictionPolicy: Invalid value: null: want AlwaysAllow"},
	}
}
