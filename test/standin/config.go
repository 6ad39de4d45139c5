package standin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hubkit/hubkit/internal/hub"
)

// The Hub's configuration contract (internal/hub), as far as the stand-in
// keeps it:
//
//   - the settings file is read at start from HIGHBYTE_SETTINGS_FILE, else
//     from appData; changes made in the UI are written back to that file;
//   - HIGHBYTE_DEPLOYMENT_FILE names a deployment file whose repositories and
//     fragments are layered into the project at start; any error in it stops
//     the start;
//   - the certificate store in appData holds the key that encrypts the
//     secrets in the configuration; it is created when absent.
//
// The stand-in fetches no repository: it checks the deployment file as the
// Hub would have to read it (JSON, version 0, a list of fragments) and
// reports what it found.

// Loaded is what the stand-in loaded at start. GET /debug/standin reports
// it: paths and digests, never the contents, which may hold credentials.
type Loaded struct {
	SettingsFile            string `json:"settingsFile,omitempty"`
	SettingsSHA256          string `json:"settingsSHA256,omitempty"`
	DeploymentFile          string `json:"deploymentFile,omitempty"`
	DeploymentSHA256        string `json:"deploymentSHA256,omitempty"`
	DeploymentRepos         int    `json:"deploymentRepos,omitempty"`
	DeploymentFragments     int    `json:"deploymentFragments,omitempty"`
	CertificateStoreSHA256  string `json:"certificateStoreSHA256"`
	CertificateStoreCreated bool   `json:"certificateStoreCreated,omitempty"`
}

// String says what was loaded, by path and digest: what the stand-in logs.
func (l Loaded) String() string {
	settings := "settings: the Hub's defaults"
	if l.SettingsFile != "" {
		settings = fmt.Sprintf("settings: %s (sha256 %.12s)", l.SettingsFile, l.SettingsSHA256)
	}
	dep := "no deployment file"
	if l.DeploymentFile != "" {
		dep = fmt.Sprintf("deployment file: %s (%d repositories, %d fragments)", l.DeploymentFile, l.DeploymentRepos, l.DeploymentFragments)
	}
	store := "found"
	if l.CertificateStoreCreated {
		store = "created"
	}
	return fmt.Sprintf("%s; %s; certificate store %s (sha256 %.12s)", settings, dep, store, l.CertificateStoreSHA256)
}

// deployment is the part of a deployment file the stand-in checks.
type deployment struct {
	Version   *int              `json:"version"`
	Repos     []json.RawMessage `json:"repos"`
	Fragments []json.RawMessage `json:"fragments"`
}

// LoadConfig reads the settings, the deployment file and the certificate
// store as the Hub does at start. An error is a start the Hub refuses.
func LoadConfig(cfg Config) (Loaded, error) {
	var l Loaded
	settings := cfg.settingsPath()
	switch b, err := os.ReadFile(settings); {
	case errors.Is(err, fs.ErrNotExist) && cfg.SettingsFile == "":
		// No settings in appData: the Hub's defaults.
	case err != nil:
		return l, fmt.Errorf("settings: %w", err)
	default:
		if err := hub.CheckJSONObject(b); err != nil {
			return l, fmt.Errorf("settings %s: %w", settings, err)
		}
		l.SettingsFile, l.SettingsSHA256 = settings, Digest(b)
	}

	if path := cfg.DeploymentFile; path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return l, fmt.Errorf("%s: %w", hub.DeploymentFileEnv, err)
		}
		var d deployment
		if err := hub.CheckJSONObject(b); err != nil {
			return l, fmt.Errorf("%s %s: %w", hub.DeploymentFileEnv, path, err)
		}
		if err := json.Unmarshal(b, &d); err != nil || d.Version == nil || *d.Version != 0 || d.Fragments == nil {
			return l, fmt.Errorf("%s %s: want an object with \"version\": 0 and a list of \"fragments\"", hub.DeploymentFileEnv, path)
		}
		l.DeploymentFile, l.DeploymentSHA256 = path, Digest(b)
		l.DeploymentRepos, l.DeploymentFragments = len(d.Repos), len(d.Fragments)
	}

	store := filepath.Join(cfg.AppData, hub.CertificateStoreFile)
	b, err := os.ReadFile(store)
	if errors.Is(err, fs.ErrNotExist) {
		// The Hub generates its key on first start.
		b = make([]byte, 64)
		if _, err := rand.Read(b); err != nil {
			return l, fmt.Errorf("certificate store: %w", err)
		}
		if err := writeFileSync(store, b, 0o600); err != nil {
			return l, fmt.Errorf("certificate store: %w", err)
		}
		l.CertificateStoreCreated = true
	} else if err != nil {
		return l, fmt.Errorf("certificate store: %w", err)
	}
	l.CertificateStoreSHA256 = Digest(b)
	return l, nil
}

// settingsPath is where the settings are read from and written back to.
func (c Config) settingsPath() string {
	if c.SettingsFile != "" {
		return c.SettingsFile
	}
	return filepath.Join(c.AppData, hub.SettingsFile)
}

// Digest is how GET /debug/standin names a file it loaded: the sha256 of
// its contents, in hex.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// writeFileSync replaces path's contents with b, durably: a temporary file
// beside it, fsynced, renamed over it.
func writeFileSync(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
