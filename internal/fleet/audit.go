package fleet

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/hubkit/hubkit/plugin/singleton"
)

// AuditConfig is the singleton function's audit gate, as make render runs
// it on every overlay's render.
const AuditConfig = "functions/singleton/audit.yaml"

// gate is the singleton function in audit mode, run in this process: it
// changes nothing and fails on anything its enforce mode would fix.
type gate struct{ config *yaml.RNode }

func newGate(root string) (gate, error) {
	b, err := os.ReadFile(filepath.Join(root, AuditConfig))
	if err != nil {
		return gate{}, fmt.Errorf("the audit gate: %w", err)
	}
	config, err := yaml.Parse(string(b))
	if err != nil {
		return gate{}, fmt.Errorf("the audit gate %s: %w", AuditConfig, err)
	}
	return gate{config: config}, nil
}

// check runs the gate on a render.
func (g gate) check(render []byte) error {
	items, err := (&kio.ByteReader{Reader: bytes.NewReader(render)}).Read()
	if err != nil {
		return fmt.Errorf("the audit gate: read the render: %w", err)
	}
	var stderr strings.Builder
	rl := &framework.ResourceList{Items: items, FunctionConfig: g.config.Copy()}
	if err := (singleton.Processor{Stderr: &stderr}).Process(rl); err != nil {
		return fmt.Errorf("the audit gate (%s) fails it: %s", AuditConfig, strings.TrimSpace(stderr.String()))
	}
	return nil
}
