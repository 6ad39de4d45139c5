package hubctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestEachExitCodeMeansOneThing(t *testing.T) {
	assert.Equal(t, Done, CodeOf(nil))
	assert.Equal(t, Failed, CodeOf(errors.New("the apiserver said no")))
	assert.Equal(t, Refused, CodeOf(fmt.Errorf("stop: %w", refuse("a reason"))), "wrapped, a refusal is still one")
	assert.Equal(t, TimedOut, CodeOf(&Error{Code: TimedOut, Err: errors.New("late")}))
	assert.Equal(t, Unhealthy, CodeOf(&Error{Code: Unhealthy, Err: errors.New("not serving")}))
}

// An apiserver that does not answer is an error that names what was
// asked of it; a flag's bad value is refused before the cluster is asked.
func TestMainSaysWhyOnStandardError(t *testing.T) {
	nobody := filepath.Join(t.TempDir(), "kubeconfig")
	assert.NoError(t, os.WriteFile(nobody, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c}}]
current-context: c
`), 0o600))
	for _, tc := range []struct {
		args   []string
		code   Code
		stderr string
	}{
		{[]string{"--kubeconfig", nobody, "status"}, Failed, "error: read the Hub's declaration, ConfigMap hubkit/hubkit-singletons: "},
		{[]string{"--kubeconfig", nobody, "-n", "plant", "stop"}, Failed, "error: read the Hub's declaration, ConfigMap plant/hubkit-singletons: "},
		{[]string{"--kubeconfig", nobody, "status", "-o", "yaml"}, Refused, "refused, nothing changed: -o yaml: status writes text (the default) or json"},
		{[]string{"no-such-command"}, Failed, `error: unknown command "no-such-command"`},
	} {
		var out, errOut bytes.Buffer
		code := Main(context.Background(), tc.args, genericiooptions.IOStreams{Out: &out, ErrOut: &errOut})
		assert.Equal(t, tc.code, code, "%v: %s", tc.args, errOut.String())
		assert.Contains(t, errOut.String(), tc.stderr, tc.args)
	}
}
