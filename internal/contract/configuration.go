package contract

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/hubkit/hubkit/internal/hub"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
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
	haCreateInit           = "ha-create" // reads what the others placed: after them
)

// checkConfiguration holds the Hub's own configuration to the overlay's
// promise: every JSON file in a ConfigMap parses; a fresh claim gets the
// image's appData defaults, after the settings and certificate store have
// been placed; every init container runs the Hub's image as hardened as the
// Hub; and each configuration the overlay promises is wired as its component
// wires it, from a Secret where it may hold a credential, read-only.
func checkConfiguration(f *findings, m *Manifest, d *workload, want Expect) {
	for _, cm := range m.ConfigMaps {
		for key, val := range cm.Data {
			var x any
			if !strings.HasSuffix(key, ".json") {
				continue
			}
			if err := json.Unmarshal([]byte(val), &x); err != nil {
				f.add(checkIDJSON, field.Invalid(object("ConfigMap", cm.Name).Child("data").Key(key), field.OmitValueType{},
					fmt.Sprintf("not valid JSON (%v): fix the file %s that the overlay's configMapGenerator reads", err, key)))
			}
		}
	}
	if d == nil {
		return
	}
	pod := d.Spec.Template.Spec
	app := pod.Containers[0]
	inits := podPath(d).Child("initContainers")
	names := make([]string, len(pod.InitContainers))
	for i, c := range pod.InitContainers {
		names[i] = c.Name
		checkInitContainer(f, d, c, app)
	}
	defaults := slices.Index(names, appDataDefaults)
	if defaults < 0 {
		f.add(checkIDAppDataDefaults, field.Required(inits.Key("name="+appDataDefaults), "a fresh claim hides the defaults the image ships under appData (components/appdata-defaults)"))
	}
	for i, n := range names {
		if n != appDataDefaults && n != haCreateInit && i > defaults && defaults >= 0 {
			f.add(checkIDAppDataDefaults, field.Forbidden(inits.Key("name="+n), fmt.Sprintf("runs after %s, whose copy of the image's defaults then stands in for its file: list components/appdata-defaults before the others", appDataDefaults)))
		}
	}

	for _, stance := range []Stance{Seeded, Managed} {
		name := "settings-" + string(stance)
		has := slices.Contains(names, name)
		switch {
		case has && want.Settings != stance:
			f.add(checkIDSettings, field.Forbidden(inits.Key("name="+name), fmt.Sprintf("the overlay promises settings %q", want.Settings)))
		case !has && want.Settings == stance:
			f.add(checkIDSettings, field.Required(inits.Key("name="+name), fmt.Sprintf("the overlay's settings are %s (components/%s)", stance, name)))
		case has:
			c := pod.InitContainers[slices.Index(names, name)]
			cm, volume := mountedFrom(f, checkIDSettings, d, c, inits.Key("name="+name), "/hubkit/settings", func(s corev1.VolumeSource) string {
				if s.ConfigMap != nil {
					return s.ConfigMap.Name
				}
				return ""
			})
			i := slices.IndexFunc(m.ConfigMaps, func(c corev1.ConfigMap) bool { return c.Name == cm })
			switch {
			case cm == "":
			case i < 0:
				f.add(checkIDSettings, field.Invalid(volume.Child("configMap", "name"), cm, fmt.Sprintf("not a rendered ConfigMap (configMapGenerator %s)", SettingsConfigMap)))
			case !strings.HasPrefix(cm, SettingsConfigMap+"-"):
				f.add(checkIDSettings, field.Invalid(object("ConfigMap", cm).Child("metadata", "name"), cm, "not generated with a content hash: a settings change would not roll the pod"))
			default:
				if _, ok := m.ConfigMaps[i].Data[hub.SettingsFile]; !ok {
					f.add(checkIDSettings, field.Required(object("ConfigMap", cm).Child("data").Key(hub.SettingsFile), "the settings file"))
				}
			}
		}
	}

	certificateStore := inits.Key("name=" + certificateStoreInit)
	if has := slices.Contains(names, certificateStoreInit); has != want.CertificateStore {
		f.add(checkIDCertificateStore, promised(certificateStore, has, "a certificate store (components/certificate-store)"))
	} else if has {
		c := pod.InitContainers[slices.Index(names, certificateStoreInit)]
		if s, volume := mountedFrom(f, checkIDCertificateStore, d, c, certificateStore, "/hubkit/certificate-store", secretName); s != "" && s != CertificateStoreSecret {
			f.add(checkIDCertificateStore, field.Invalid(volume.Child("secret", "secretName"), s, "want "+CertificateStoreSecret))
		}
	}

	env := map[string]corev1.EnvVar{}
	for _, e := range app.Env {
		env[e.Name] = e
	}
	envPath := func(name string) *field.Path { return containerPath(d, app).Child("env").Key("name=" + name) }
	if e, has := env[hub.DeploymentFileEnv]; has != want.DeploymentFile {
		f.add(checkIDProjectFromGit, promised(envPath(hub.DeploymentFileEnv), has, "the project from Git (components/project-from-git)"))
	} else if has {
		i := slices.IndexFunc(app.VolumeMounts, func(vm corev1.VolumeMount) bool { return strings.HasPrefix(e.Value, vm.MountPath+"/") })
		if i < 0 {
			f.add(checkIDProjectFromGit, field.Invalid(envPath(hub.DeploymentFileEnv).Child("value"), e.Value, "under no mount of container "+app.Name))
		} else if s, volume := mountedFrom(f, checkIDProjectFromGit, d, app, containerPath(d, app), app.VolumeMounts[i].MountPath, secretName); s != "" && s != DeploymentSecret {
			f.add(checkIDProjectFromGit, field.Invalid(volume.Child("secret", "secretName"), s, fmt.Sprintf("want %s: the deployment file may hold a Git token", DeploymentSecret)))
		}
	}
	if e, has := env[GitBackupPasswordEnv]; has != want.GitBackup {
		f.add(checkIDGitBackup, promised(envPath(GitBackupPasswordEnv), has, "scheduled Git Backup (components/git-backup)"))
	} else if has {
		ref := envPath(GitBackupPasswordEnv).Child("valueFrom", "secretKeyRef")
		switch {
		case e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil:
			f.add(checkIDGitBackup, field.Required(ref, "read it from Secret "+GitBackupSecret))
		case e.ValueFrom.SecretKeyRef.Name != GitBackupSecret:
			f.add(checkIDGitBackup, field.Invalid(ref.Child("name"), e.ValueFrom.SecretKeyRef.Name, "want "+GitBackupSecret))
		}
	}
	if want.GitBackup {
		checkGitBackupSettings(f, m)
	}
}

// promised is the finding for what is at path (has) where the overlay
// promises otherwise.
func promised(path *field.Path, has bool, what string) *field.Error {
	if has {
		return field.Forbidden(path, "the overlay does not promise "+what)
	}
	return field.Required(path, "the overlay promises "+what)
}

// checkInitContainer wants an init container to run the Hub's image, as
// hardened as the Hub: no privilege escalation, no capability, a read-only
// root, bounded resources.
func checkInitContainer(f *findings, d *workload, c, app corev1.Container) {
	path := podPath(d).Child("initContainers").Key("name=" + c.Name)
	if c.Image != app.Image {
		f.add(checkIDInitContainers, field.Invalid(path.Child("image"), c.Image, "want the Hub's image "+app.Image))
	}
	var readOnly *bool
	if c.SecurityContext != nil {
		readOnly = c.SecurityContext.ReadOnlyRootFilesystem
	}
	if readOnly == nil || !*readOnly {
		f.add(checkIDInitContainers, wantBool(path.Child("securityContext", "readOnlyRootFilesystem"), readOnly, true, "hardened as the Hub"))
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if _, ok := c.Resources.Limits[r]; !ok {
			f.add(checkIDInitContainers, field.Required(path.Child("resources", "limits").Key(string(r)), "an unbounded pod can starve its node"))
		}
	}
}

// mountedFrom is the name of the object (by source) behind the mount at
// mountPath of container c (at path), which must be read-only, and the path
// of its volume; check is the ID its findings carry.
func mountedFrom(f *findings, check string, d *workload, c corev1.Container, path *field.Path, mountPath string, source func(corev1.VolumeSource) string) (string, *field.Path) {
	i := slices.IndexFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == mountPath })
	if i < 0 {
		f.add(check, field.Required(path.Child("volumeMounts"), "mounts nothing at "+mountPath))
		return "", nil
	}
	vm := c.VolumeMounts[i]
	if !vm.ReadOnly {
		f.add(check, field.Invalid(path.Child("volumeMounts").Key("name="+vm.Name).Child("readOnly"), false,
			fmt.Sprintf("want true: %s is configuration from Git or a Secret, mounted read-only", mountPath)))
	}
	volume := podPath(d).Child("volumes").Key("name=" + vm.Name)
	j := slices.IndexFunc(d.Spec.Template.Spec.Volumes, func(vol corev1.Volume) bool { return vol.Name == vm.Name })
	if j < 0 {
		f.add(check, field.Invalid(path.Child("volumeMounts").Key("name="+vm.Name).Child("name"), vm.Name, "the pod has no such volume"))
		return "", nil
	}
	name := source(d.Spec.Template.Spec.Volumes[j].VolumeSource)
	if name == "" {
		f.add(check, field.Invalid(volume, field.OmitValueType{}, fmt.Sprintf("mounted at %s, is not of the kind its component mounts", mountPath)))
	}
	return name, volume
}

func secretName(s corev1.VolumeSource) string {
	if s.Secret != nil {
		return s.Secret.SecretName
	}
	return ""
}

// checkGitBackupSettings wants the settings to turn scheduled Git Backup on
// with the password from the environment variable the Secret fills.
func checkGitBackupSettings(f *findings, m *Manifest) {
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
		gitBackup := object("ConfigMap", cm.Name).Child("data").Key(hub.SettingsFile).Child("settings", "gitBackup")
		gb := s.Settings.GitBackup
		if gb.Mode != "scheduled" {
			f.add(checkIDGitBackup, field.Invalid(gitBackup.Child("mode"), gb.Mode, "want scheduled"))
		}
		if !strings.Contains(gb.Password, GitBackupPasswordEnv) {
			// The value is left out: it may be the password.
			f.add(checkIDGitBackup, field.Invalid(gitBackup.Child("password"), field.OmitValueType{},
				fmt.Sprintf("does not reference %s: a password in Git is a password leaked", GitBackupPasswordEnv)))
		}
		return
	}
	f.add(checkIDGitBackup, field.Required(field.NewPath("ConfigMap"), fmt.Sprintf("none holds %s: Git Backup is promised but no settings turn it on", hub.SettingsFile)))
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
