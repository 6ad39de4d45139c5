package contract

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/hubkit/hubkit/internal/hub"
)

// Check project-from-git forbids a deployment file where the overlay's row
// promises none, and where it promises one, a file from anywhere but its
// Secret, or mounted writable.
//
// Reads the Hub's container's env HIGHBYTE_DEPLOYMENT_FILE, the mount its
// value lies under, and the volume behind it. Allowed: with
// deploymentFile, the variable, under a read-only mount of the Secret
// hbih-deployment; without, no such variable.
func init() {
	addCheck(check{
		id:      "project-from-git",
		promise: "the Hub reads a deployment file only where the overlay promises it, read-only from the Secret hbih-deployment",
		check:   checkProjectFromGit,
	})
}

func checkProjectFromGit(m *Manifest, want Expect) field.ErrorList {
	d := hubWorkload(m, want)
	if d == nil {
		return nil
	}
	app := d.Spec.Template.Spec.Containers[0]
	path := containerPath(d, app).Child("env").Key("name=" + hub.DeploymentFileEnv)
	e, has := envVar(app, hub.DeploymentFileEnv)
	if has != want.DeploymentFile {
		return field.ErrorList{promised(path, has, "the project from Git (components/project-from-git)")}
	} else if !has {
		return nil
	}
	j := slices.IndexFunc(app.VolumeMounts, func(vm corev1.VolumeMount) bool { return strings.HasPrefix(e.Value, vm.MountPath+"/") })
	if j < 0 {
		return field.ErrorList{field.Invalid(path.Child("value"), e.Value, "under no mount of container "+app.Name)}
	}
	s, volume, errs := mountedFrom(d, app, containerPath(d, app), app.VolumeMounts[j].MountPath, secretName)
	if s != "" && s != DeploymentSecret {
		errs = append(errs, field.Invalid(volume.Child("secret", "secretName"), s, fmt.Sprintf("want %s: the deployment file may hold a Git token", DeploymentSecret)))
	}
	return errs
}

// envVar is c's environment variable name (the last, as Kubernetes takes it).
func envVar(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for i := len(c.Env) - 1; i >= 0; i-- {
		if c.Env[i].Name == name {
			return c.Env[i], true
		}
	}
	return corev1.EnvVar{}, false
}
