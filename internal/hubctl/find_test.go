package hubctl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Hub is found from what the function declared to the guard: the keys
// of the namespace's hubkit-singletons ConfigMap, as the renders carry them.
func TestTheHubIsWhatTheGuardsParametersDeclare(t *testing.T) {
	for _, tc := range []struct {
		name string
		data map[string]string
		want []Hub
		err  string
	}{
		{
			name: "prod: a Deployment on its claim",
			data: map[string]string{"deployment.hbih": "mounts ReadWriteOncePod claim hbih-appdata", "claim.hbih-appdata": "Deployment/hbih"},
			want: []Hub{{Namespace: "hubkit", Kind: "Deployment", Name: "hbih", Members: 1, Claims: []string{"hbih-appdata"}}},
		},
		{
			name: "prod-ha: a StatefulSet of two members, a claim each",
			data: map[string]string{"ha.statefulset.hbih": "2", "ha.claim.appdata-hbih": "hbih"},
			want: []Hub{{Namespace: "hubkit", Kind: "StatefulSet", Name: "hbih", Members: 2, Claims: []string{"appdata-hbih-0", "appdata-hbih-1"}}},
		},
		{
			name: "two singletons, each with its own claim",
			data: map[string]string{"statefulset.b": "why", "deployment.a": "why", "claim.a-data": "Deployment/a", "claim.b-data": "StatefulSet/b"},
			want: []Hub{
				{Namespace: "hubkit", Kind: "Deployment", Name: "a", Members: 1, Claims: []string{"a-data"}},
				{Namespace: "hubkit", Kind: "StatefulSet", Name: "b", Members: 1, Claims: []string{"b-data"}},
			},
		},
		{name: "a key of no workload", data: map[string]string{"daemonset.x": "why"}, err: "key daemonset.x names no workload"},
		{name: "an HA group of one", data: map[string]string{"ha.statefulset.hbih": "1"}, err: `key ha.statefulset.hbih is "1", want the group's members, 2 or more`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hubsOf("hubkit", tc.data)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
