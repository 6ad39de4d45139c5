package contract

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/hubkit/hubkit/internal/hub"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Stance is how an overlay's settings file reaches the Hub's appData.
type Stance string

const (
	// Seeded: copied when appData has none; the UI is the truth afterwards.
	Seeded Stance = "seeded"
	// Managed: copied at every start; Git wins.
	Managed Stance = "managed"
)

// The names the configuration components give what they add
// (components/appdata-defaults, settings-*, certificate-store,
// project-from-git, git-backup).
const (
	SettingsConfigMap      = "hbih-settings"
	CertificateStoreSecret = "hbih-certificate-store"
	DeploymentSecret       = "hbih-deployment"
	GitBackupSecret        = "hbih-git-backup"
	GitBackupPasswordEnv   = "GIT_BACKUP_PASSWORD"
	appDataDefaults        = "appdata-defaults"
	certificateStoreInit   = "certificate-store"
)

// checkConfiguration holds the Hub's own configuration to the overlay's
// promise: every JSON file in a ConfigMap parses; a fresh claim gets the
// image's appData defaults, after the settings and certificate store have
// been placed; every init container runs the Hub's image as hardened as the
// Hub; and each configuration the overlay promises is wired as its component
// wires it, from a Secret where it may hold a credential, read-only.
func checkConfiguration(v *violations, m *Manifest, d *appsv1.Deployment, want Expect) {
	for _, cm := range m.ConfigMaps {
		for key, val := range cm.Data {
			var x any
			if !strings.HasSuffix(key, ".json") {
				continue
			}
			if err := json.Unmarshal([]byte(val), &x); err != nil {
				v.add("ConfigMap %s: %s is not valid JSON (%v): fix the file %s that the overlay's configMapGenerator reads", cm.Name, key, err, key)
			}
		}
	}
	if d == nil {
		return
	}
	pod := d.Spec.Template.Spec
	app := pod.Containers[0]
	names := make([]string, len(pod.InitContainers))
	for i, c := range pod.InitContainers {
		names[i] = c.Name
		checkInitContainer(v, d, c, app)
	}
	defaults := slices.Index(names, appDataDefaults)
	if defaults < 0 {
		v.add("Deployment %s: no init container %s: a fresh claim hides the defaults the image ships under appData (components/appdata-defaults)", d.Name, appDataDefaults)
	}
	for i, n := range names {
		if n != appDataDefaults && i > defaults && defaults >= 0 {
			v.add("Deployment %s: init container %s runs after %s, whose copy of the image's defaults then stands in for its file: list components/appdata-defaults before the others", d.Name, n, appDataDefaults)
		}
	}

	for _, stance := range []Stance{Seeded, Managed} {
		name := "settings-" + string(stance)
		has := slices.Contains(names, name)
		switch {
		case has && want.Settings != stance:
			v.add("Deployment %s: init container %s, but the overlay promises settings %q", d.Name, name, want.Settings)
		case !has && want.Settings == stance:
			v.add("Deployment %s: no init container %s: the overlay's settings are %s (components/%s)", d.Name, name, stance, name)
		case has:
			c := pod.InitContainers[slices.Index(names, name)]
			cm := mountedFrom(v, d, c, "/hubkit/settings", func(s corev1.VolumeSource) string {
				if s.ConfigMap != nil {
					return s.ConfigMap.Name
				}
				return ""
			})
			i := slices.IndexFunc(m.ConfigMaps, func(c corev1.ConfigMap) bool { return c.Name == cm })
			if cm != "" && i < 0 {
				v.add("Deployment %s: init container %s reads ConfigMap %s, which is not rendered (configMapGenerator %s)", d.Name, name, cm, SettingsConfigMap)
			} else if cm != "" && !strings.HasPrefix(cm, SettingsConfigMap+"-") {
				v.add("ConfigMap %s: not generated with a content hash: a settings change would not roll the pod", cm)
			} else if i >= 0 {
				if _, ok := m.ConfigMaps[i].Data[hub.SettingsFile]; !ok {
					v.add("ConfigMap %s: no key %s", cm, hub.SettingsFile)
				}
			}
		}
	}

	if has := slices.Contains(names, certificateStoreInit); has != want.CertificateStore {
		v.add("Deployment %s: init container %s present: %t, promised: %t (components/certificate-store)", d.Name, certificateStoreInit, has, want.CertificateStore)
	} else if has {
		c := pod.InitContainers[slices.Index(names, certificateStoreInit)]
		if s := mountedFrom(v, d, c, "/hubkit/certificate-store", secretName); s != "" && s != CertificateStoreSecret {
			v.add("Deployment %s: the certificate store comes from Secret %s, want %s", d.Name, s, CertificateStoreSecret)
		}
	}

	env := map[string]corev1.EnvVar{}
	for _, e := range app.Env {
		env[e.Name] = e
	}
	if e, has := env[hub.DeploymentFileEnv]; has != want.DeploymentFile {
		v.add("Deployment %s: container %s sets %s: %t, promised: %t (components/project-from-git)", d.Name, app.Name, hub.DeploymentFileEnv, has, want.DeploymentFile)
	} else if has {
		i := slices.IndexFunc(app.VolumeMounts, func(vm corev1.VolumeMount) bool { return strings.HasPrefix(e.Value, vm.MountPath+"/") })
		if i < 0 {
			v.add("Deployment %s: %s=%s is under no mount of container %s", d.Name, hub.DeploymentFileEnv, e.Value, app.Name)
		} else if s := mountedFrom(v, d, app, app.VolumeMounts[i].MountPath, secretName); s != "" && s != DeploymentSecret {
			v.add("Deployment %s: the deployment file comes from Secret %s, want %s: it may hold a Git token", d.Name, s, DeploymentSecret)
		}
	}
	if e, has := env[GitBackupPasswordEnv]; has != want.GitBackup {
		v.add("Deployment %s: container %s sets %s: %t, promised: %t (components/git-backup)", d.Name, app.Name, GitBackupPasswordEnv, has, want.GitBackup)
	} else if has && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != GitBackupSecret) {
		v.add("Deployment %s: %s is not read from Secret %s", d.Name, GitBackupPasswordEnv, GitBackupSecret)
	}
	if want.GitBackup {
		checkGitBackupSettings(v, m)
	}
}

// checkInitContainer wants an init container to run the Hub's image, as
// hardened as the Hub: no privilege escalation, no capability, a read-only
// root, bounded resources.
func checkInitContainer(v *violations, d *appsv1.Deployment, c, app corev1.Container) {
	if c.Image != app.Image {
		v.add("Deployment %s: init container %s runs %s, want the Hub's image %s", d.Name, c.Name, c.Image, app.Image)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		v.add("Deployment %s: init container %s: securityContext.readOnlyRootFilesystem is not true", d.Name, c.Name)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if _, ok := c.Resources.Limits[r]; !ok {
			v.add("Deployment %s: init container %s has no %s limit", d.Name, c.Name, r)
		}
	}
}

// mountedFrom is the name of the object (by source) behind c's mount at
// path, which must be read-only.
func mountedFrom(v *violations, d *appsv1.Deployment, c corev1.Container, path string, source func(corev1.VolumeSource) string) string {
	i := slices.IndexFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == path })
	if i < 0 {
		v.add("Deployment %s: container %s mounts nothing at %s", d.Name, c.Name, path)
		return ""
	}
	vm := c.VolumeMounts[i]
	if !vm.ReadOnly {
		v.add("Deployment %s: container %s mounts %s read-write: configuration from Git or a Secret is read-only", d.Name, c.Name, path)
	}
	j := slices.IndexFunc(d.Spec.Template.Spec.Volumes, func(vol corev1.Volume) bool { return vol.Name == vm.Name })
	if j < 0 {
		v.add("Deployment %s: container %s mounts volume %s, which the pod does not have", d.Name, c.Name, vm.Name)
		return ""
	}
	name := source(d.Spec.Template.Spec.Volumes[j].VolumeSource)
	if name == "" {
		v.add("Deployment %s: volume %s at %s is not of the kind its component mounts", d.Name, vm.Name, path)
	}
	return name
}

func secretName(s corev1.VolumeSource) string {
	if s.Secret != nil {
		return s.Secret.SecretName
	}
	return ""
}

// checkGitBackupSettings wants the settings to turn scheduled Git Backup on
// with the password from the environment variable the Secret fills.
func checkGitBackupSettings(v *violations, m *Manifest) {
	for _, cm := range m.ConfigMaps {
		raw, ok := cm.Data[hub.SettingsFile]
		if !ok {
			continue
		}
		var s struct {
			Settings struct {
				GitBackup struct {
					Mode     string `json:"mode"`
					Password string `json:"password"`
				} `json:"gitBackup"`
			} `json:"settings"`
		}
		if json.Unmarshal([]byte(raw), &s) != nil {
			return // reported above
		}
		gb := s.Settings.GitBackup
		if gb.Mode != "scheduled" {
			v.add("ConfigMap %s: settings.gitBackup.mode is %q, want scheduled", cm.Name, gb.Mode)
		}
		if !strings.Contains(gb.Password, GitBackupPasswordEnv) {
			v.add("ConfigMap %s: settings.gitBackup.password does not reference %s: a password in Git is a password leaked", cm.Name, GitBackupPasswordEnv)
		}
		return
	}
	v.add("no ConfigMap with %s: Git Backup is promised but no settings turn it on", hub.SettingsFile)
}

// CheckJSONFile wants the file at path to hold one JSON object: a settings
// or deployment file kept beside an overlay, checked before it is applied.
func CheckJSONFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := hub.CheckJSONObject(b); err != nil {
		return fmt.Errorf("%s is %w", path, err)
	}
	return nil
}
