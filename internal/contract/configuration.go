package contract

import (
	"fmt"
	"os"
	"slices"

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

// promised is the finding for what is at path (has) where the overlay
// promises otherwise.
func promised(path *field.Path, has bool, what string) *field.Error {
	if has {
		return field.Forbidden(path, "the overlay does not promise "+what)
	}
	return field.Required(path, "the overlay promises "+what)
}

// mountedFrom is the name of the object (by source) behind the mount at
// mountPath of container c (at path), which must be read-only, the path of
// its volume, and what is wrong with the mount.
func mountedFrom(d *workload, c corev1.Container, path *field.Path, mountPath string, source func(corev1.VolumeSource) string) (string, *field.Path, field.ErrorList) {
	var errs field.ErrorList
	i := slices.IndexFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == mountPath })
	if i < 0 {
		errs = append(errs, field.Required(path.Child("volumeMounts"), "mounts nothing at "+mountPath))
		return "", nil, errs
	}
	vm := c.VolumeMounts[i]
	if !vm.ReadOnly {
		errs = append(errs, field.Invalid(path.Child("volumeMounts").Key("name="+vm.Name).Child("readOnly"), false,
			fmt.Sprintf("want true: %s is configuration from Git or a Secret, mounted read-only", mountPath)))
	}
	volume := podPath(d).Child("volumes").Key("name=" + vm.Name)
	j := slices.IndexFunc(d.Spec.Template.Spec.Volumes, func(vol corev1.Volume) bool { return vol.Name == vm.Name })
	if j < 0 {
		errs = append(errs, field.Invalid(path.Child("volumeMounts").Key("name="+vm.Name).Child("name"), vm.Name, "the pod has no such volume"))
		return "", nil, errs
	}
	name := source(d.Spec.Template.Spec.Volumes[j].VolumeSource)
	if name == "" {
		errs = append(errs, field.Invalid(volume, field.OmitValueType{}, fmt.Sprintf("mounted at %s, is not of the kind its component mounts", mountPath)))
	}
	return name, volume, errs
}

func secretName(s corev1.VolumeSource) string {
	if s.Secret != nil {
		return s.Secret.SecretName
	}
	return ""
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
