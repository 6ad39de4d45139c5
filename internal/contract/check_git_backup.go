package contract

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/hubkit/hubkit/internal/hub"
)

// Check git-backup forbids scheduled Git Backup where the overlay's row
// promises none, and where it promises it, a password from anywhere but its
// Secret, or settings that do not turn it on.
//
// Reads the Hub's container's env GIT_BACKUP_PASSWORD and, with gitBackup,
// settings.gitBackup (mode, password) of the first rendered ConfigMap that
// holds the settings file. Allowed: with gitBackup, the variable from a
// secretKeyRef to the Secret hbih-git-backup, mode scheduled, a password
// that references the variable; without, no such variable.
func init() {
	addCheck(check{
		id:      "git-backup",
		promise: "scheduled Git Backup is on only where the overlay promises it, its password from the Secret hbih-git-backup and never in Git",
		check:   checkGitBackup,
	})
}

func checkGitBackup(m *Manifest, want Expect) field.ErrorList {
	d := hubWorkload(m, want)
	if d == nil {
		return nil
	}
	var errs field.ErrorList
	app := d.Spec.Template.Spec.Containers[0]
	path := containerPath(d, app).Child("env").Key("name=" + GitBackupPasswordEnv)
	if e, has := envVar(app, GitBackupPasswordEnv); has != want.GitBackup {
		errs = append(errs, promised(path, has, "scheduled Git Backup (components/git-backup)"))
	} else if has {
		ref := path.Child("valueFrom", "secretKeyRef")
		switch {
		case e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil:
			errs = append(errs, field.Required(ref, "read it from Secret "+GitBackupSecret))
		case e.ValueFrom.SecretKeyRef.Name != GitBackupSecret:
			errs = append(errs, field.Invalid(ref.Child("name"), e.ValueFrom.SecretKeyRef.Name, "want "+GitBackupSecret))
		}
	}
	if want.GitBackup {
		errs = append(errs, gitBackupSettings(m)...)
	}
	return errs
}

// gitBackupSettings wants the settings to turn scheduled Git Backup on
// with the password from the environment variable the Secret fills.
func gitBackupSettings(m *Manifest) field.ErrorList {
	var errs field.ErrorList
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
			return nil // check json reports it
		}
		gitBackup := object("ConfigMap", cm.Name).Child("data").Key(hub.SettingsFile).Child("settings", "gitBackup")
		gb := s.Settings.GitBackup
		if gb.Mode != "scheduled" {
			errs = append(errs, field.Invalid(gitBackup.Child("mode"), gb.Mode, "want scheduled"))
		}
		if !strings.Contains(gb.Password, GitBackupPasswordEnv) {
			// The value is left out: it may be the password.
			errs = append(errs, field.Invalid(gitBackup.Child("password"), field.OmitValueType{},
				fmt.Sprintf("does not reference %s: a password in Git is a password leaked", GitBackupPasswordEnv)))
		}
		return errs
	}
	return field.ErrorList{field.Required(field.NewPath("ConfigMap"), fmt.Sprintf("none holds %s: Git Backup is promised but no settings turn it on", hub.SettingsFile))}
}
