package contract_test

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckHACommand(t *testing.T) {
	breaks(t, haRow(t), "ha-command",
		brokenPromise{"the JDBC URI in argv", func(m *contract.Manifest) {
			args := haHub(m).Args
			args[slices.Index(args, "-j")+1] = "$(HUB_JDBC_URI)"
		}, "Forbidden: $(HUB_JDBC_URI) is expanded by Kubernetes into argv"},
		brokenPromise{"a fixed node id", func(m *contract.Manifest) {
			args := haHub(m).Args
			args[slices.Index(args, "-n")+1] = "node1Primary"
		}, `Invalid value: "node1Primary": want -n $(POD_NAME)`},
		brokenPromise{"the JDBC URI in Git", func(m *contract.Manifest) {
			*haEnv(t, m, contract.HAJDBCEnv) = corev1.EnvVar{Name: contract.HAJDBCEnv, Value: "jdbc:postgresql://db/hub?user=hub&password=hunter2"}
		}, "env[name=HUB_JDBC_URI].valueFrom.secretKeyRef: Required value: from Secret hbih-db-app, key jdbc-uri"},
		brokenPromise{"create at every start", func(m *contract.Manifest) {
			args := haHub(m).Args
			args[slices.Index(args, "com.highbyte.intelligencehub.runtime.HAMain")+1] = "create"
		}, "want HighByte's HA command"},
	)
}
