package overlays_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/overlays"
	"github.com/hubkit/hubkit/test/render"
	"github.com/hubkit/hubkit/test/testenv"
)

// overlays/prod/secrets makes the three Secrets prod's pod reads, from files
// that are git-ignored: filled in from the examples, it renders them under
// the names the components mount, in prod's namespace, and the credentials
// it reads can never be committed.
func TestProdSecretsFromIgnoredFiles(t *testing.T) {
	root := testenv.RepoRoot(t)
	src := filepath.Join(root, "overlays", "prod", "secrets")
	files := map[string]string{
		"deployment.json":        "",
		hub.CertificateStoreFile: "not really a pkcs12",
		"git-backup-password":    "hunter2",
	}
	for name := range files {
		out, err := exec.Command("git", "-C", root, "check-ignore", "-q", filepath.Join(src, name)).CombinedOutput()
		assert.NoError(t, err, "%s must be git-ignored: it holds a credential %s", name, out)
	}

	dir := filepath.Join(t.TempDir(), "secrets")
	require.NoError(t, os.CopyFS(dir, os.DirFS(src)))
	example, err := os.ReadFile(filepath.Join(src, "deployment.example.json"))
	require.NoError(t, err)
	require.True(t, json.Valid(example), "deployment.example.json is JSON")
	files["deployment.json"] = string(example)
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	out, err := render.Krusty(dir)
	require.NoError(t, err)

	prod, err := overlays.Find(table(t, root), "prod")
	require.NoError(t, err)
	got := map[string][]string{}
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		var s corev1.Secret
		require.NoError(t, yaml.UnmarshalStrict(doc, &s))
		assert.Equal(t, prod.Namespace, s.Namespace, "in prod's namespace")
		for k := range s.Data {
			got[s.Name] = append(got[s.Name], k)
		}
	}
	assert.Equal(t, map[string][]string{
		contract.DeploymentSecret:       {"deployment.json"},
		contract.CertificateStoreSecret: {hub.CertificateStoreFile},
		contract.GitBackupSecret:        {"password"},
	}, got, "the names and keys the components mount")
}
