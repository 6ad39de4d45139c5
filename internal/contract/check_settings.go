package contract

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/hubkit/hubkit/internal/hub"
)

// Check settings forbids a Hub whose settings file reaches appData
// otherwise than the overlay's row says (settings: seeded, managed, or
// none).
//
// Reads the Hub's pod's init containers settings-seeded and
// settings-managed, the mount at /hubkit/settings of the one there is, the
// ConfigMap volume behind it, and that ConfigMap's data. Allowed: the init
// container of the row's stance alone (none for none), its mount read-only,
// from a rendered ConfigMap generated from hbih-settings with a content
// hash, holding the settings file.
func init() {
	addCheck(check{
		id:      "settings",
		promise: "the Hub's settings file reaches appData as the overlay's stance says, read-only from a hash-named ConfigMap",
		check:   checkSettings,
	})
}

func checkSettings(m *Manifest, want Expect) field.ErrorList {
	d := hubWorkload(m, want)
	if d == nil {
		return nil
	}
	var errs field.ErrorList
	pod := d.Spec.Template.Spec
	inits := podPath(d).Child("initContainers")
	names := initContainerNames(d)
	for _, stance := range []Stance{Seeded, Managed} {
		name := "settings-" + string(stance)
		has := slices.Contains(names, name)
		switch {
		case has && want.Settings != stance:
			errs = append(errs, field.Forbidden(inits.Key("name="+name), fmt.Sprintf("the overlay promises settings %q", want.Settings)))
		case !has && want.Settings == stance:
			errs = append(errs, field.Required(inits.Key("name="+name), fmt.Sprintf("the overlay's settings are %s (components/%s)", stance, name)))
		case has:
			c := pod.InitContainers[slices.Index(names, name)]
			cm, volume, mountErrs := mountedFrom(d, c, inits.Key("name="+name), "/hubkit/settings", func(s corev1.VolumeSource) string {
				if s.ConfigMap != nil {
					return s.ConfigMap.Name
				}
				return ""
			})
			errs = append(errs, mountErrs...)
			i := slices.IndexFunc(m.ConfigMaps, func(c corev1.ConfigMap) bool { return c.Name == cm })
			switch {
			case cm == "":
			case i < 0:
				errs = append(errs, field.Invalid(volume.Child("configMap", "name"), cm, fmt.Sprintf("not a rendered ConfigMap (configMapGenerator %s)", SettingsConfigMap)))
			case !strings.HasPrefix(cm, SettingsConfigMap+"-"):
				errs = append(errs, field.Invalid(object("ConfigMap", cm).Child("metadata", "name"), cm, "not generated with a content hash: a settings change would not roll the pod"))
			default:
				if _, ok := m.ConfigMaps[i].Data[hub.SettingsFile]; !ok {
					errs = append(errs, field.Required(object("ConfigMap", cm).Child("data").Key(hub.SettingsFile), "the settings file"))
				}
			}
		}
	}
	return errs
}
