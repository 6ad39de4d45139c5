package hubctl

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hubkit/hubkit/internal/names"
	"github.com/hubkit/hubkit/internal/restorepoint"
)

func TestPruningKeepsTheNewestAndTheLastBeforeAnUpgrade(t *testing.T) {
	manual := func(name string) restorepoint.Point {
		return restorepoint.Point{Name: name, Ready: true, TakenBy: names.RestorePointManual}
	}
	upgrade := func(name string) restorepoint.Point {
		return restorepoint.Point{Name: name, Ready: true, TakenBy: names.RestorePointUpgrade}
	}
	for _, tc := range []struct {
		name   string
		points []restorepoint.Point // newest first
		keep   int
		want   []string
	}{
		{"all but the newest two", []restorepoint.Point{manual("d"), manual("c"), manual("b"), manual("a")}, 2, []string{"b", "a"}},
		{"fewer than kept: none", []restorepoint.Point{manual("b"), manual("a")}, 3, nil},
		{"the newest before an upgrade survives, an older one does not", []restorepoint.Point{manual("d"), upgrade("c"), manual("b"), upgrade("a")}, 1, []string{"b", "a"}},
		{"one still being taken survives; a failed one goes", []restorepoint.Point{manual("c"), {Name: "b"}, {Name: "a", Error: "the driver failed"}}, 1, []string{"a"}},
		{"a failed one before an upgrade is not the one a rollback needs", []restorepoint.Point{manual("c"), {Name: "b", TakenBy: names.RestorePointUpgrade, Error: "failed"}, upgrade("a")}, 1, []string{"b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, rp := range pruned(tc.points, tc.keep) {
				got = append(got, rp.Name)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
