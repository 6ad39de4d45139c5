package standin

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The stand-in reads its configuration as the Hub does, and refuses the
// starts the Hub refuses.
func TestLoadConfig(t *testing.T) {
	const settings = `{"settings": {"gitBackup": {"mode": "scheduled"}}}`
	const dep = `{"version": 0, "repos": [{"type": "git", "name": "project"}], "fragments": [{"details": {"type": "git"}}, {"details": {"type": "dir"}}]}`
	for _, tc := range []struct {
		name       string
		appData    map[string]string // files in appData
		settings   string            // HIGHBYTE_SETTINGS_FILE's contents, when set
		deployment string            // HIGHBYTE_DEPLOYMENT_FILE's contents, when set
		check      func(t *testing.T, l Loaded, appData string)
		wantErr    string
	}{
		{name: "a fresh appData: the Hub's defaults, a new certificate store", check: func(t *testing.T, l Loaded, appData string) {
			assert.Empty(t, l.SettingsFile)
			assert.True(t, l.CertificateStoreCreated)
			b, err := os.ReadFile(filepath.Join(appData, hub.CertificateStoreFile))
			require.NoError(t, err)
			assert.Equal(t, Digest(b), l.CertificateStoreSHA256)
		}},
		{name: "settings in appData", appData: map[string]string{hub.SettingsFile: settings}, check: func(t *testing.T, l Loaded, appData string) {
			assert.Equal(t, filepath.Join(appData, hub.SettingsFile), l.SettingsFile)
			assert.Equal(t, Digest([]byte(settings)), l.SettingsSHA256)
		}},
		{name: "HIGHBYTE_SETTINGS_FILE wins over appData", appData: map[string]string{hub.SettingsFile: `{}`}, settings: settings, check: func(t *testing.T, l Loaded, _ string) {
			assert.Equal(t, Digest([]byte(settings)), l.SettingsSHA256)
		}},
		{name: "a certificate store in appData is used, never replaced", appData: map[string]string{hub.CertificateStoreFile: "key"}, check: func(t *testing.T, l Loaded, _ string) {
			assert.False(t, l.CertificateStoreCreated)
			assert.Equal(t, Digest([]byte("key")), l.CertificateStoreSHA256)
		}},
		{name: "a deployment file: its repositories and fragments counted", deployment: dep, check: func(t *testing.T, l Loaded, _ string) {
			assert.Equal(t, 1, l.DeploymentRepos)
			assert.Equal(t, 2, l.DeploymentFragments)
		}},
		{name: "settings that are not JSON stop the start", appData: map[string]string{hub.SettingsFile: `{"settings": `}, wantErr: "intelligencehub-settings.json: not a JSON object: unexpected end of JSON input"},
		{name: "a deployment file that is not JSON stops the start", deployment: `version: 0`, wantErr: "HIGHBYTE_DEPLOYMENT_FILE"},
		{name: "a deployment file without fragments stops the start", deployment: `{"version": 0}`, wantErr: `want an object with "version": 0 and a list of "fragments"`},
		{name: "a deployment file of another version stops the start", deployment: `{"version": 1, "fragments": []}`, wantErr: `"version": 0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{AppData: filepath.Join(dir, "appData")}
			require.NoError(t, os.Mkdir(cfg.AppData, 0o750))
			for name, body := range tc.appData {
				require.NoError(t, os.WriteFile(filepath.Join(cfg.AppData, name), []byte(body), 0o640))
			}
			if tc.settings != "" {
				cfg.SettingsFile = filepath.Join(dir, "settings.json")
				require.NoError(t, os.WriteFile(cfg.SettingsFile, []byte(tc.settings), 0o440))
			}
			if tc.deployment != "" {
				cfg.DeploymentFile = filepath.Join(dir, "deployment.json")
				require.NoError(t, os.WriteFile(cfg.DeploymentFile, []byte(tc.deployment), 0o440))
			}
			l, err := LoadConfig(cfg)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, l, cfg.AppData)
			assert.NotContains(t, l.String(), "scheduled", "what is logged names files, never their contents")
		})
	}
}
