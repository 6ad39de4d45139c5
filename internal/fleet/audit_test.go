package fleet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTheAuditGateHoldsASiteToTheFunctionsRules: prod's committed render
// passes the gate every site's render passes; the same render asking for
// two replicas fails it, naming the rule.
func TestTheAuditGateHoldsASiteToTheFunctionsRules(t *testing.T) {
	root := filepath.Join("..", "..")
	g, err := newGate(root)
	require.NoError(t, err)
	render, err := os.ReadFile(filepath.Join(root, "deploy", "prod", "hub.yaml"))
	require.NoError(t, err)
	require.NoError(t, g.check(render))
	require.Contains(t, string(render), "  replicas: 1\n")
	err = g.check([]byte(strings.Replace(string(render), "  replicas: 1\n", "  replicas: 2\n", 1)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "replicas")
}
