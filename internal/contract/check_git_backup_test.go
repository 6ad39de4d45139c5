package contract_test

import (
	"testing"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/hub"
)

func TestCheckGitBackup(t *testing.T) {
	breaks(t, prodRow(t), "git-backup",
		brokenPromise{"Git Backup password in the settings", func(m *contract.Manifest) {
			settingsConfigMap(t, m).Data[hub.SettingsFile] = `{"settings": {"gitBackup": {"mode": "scheduled", "password": "hunter2"}}}`
		}, "settings.gitBackup.password: Invalid value: does not reference GIT_BACKUP_PASSWORD"},
	)
}
