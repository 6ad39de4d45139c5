package singleton

import (
	"fmt"
	"slices"
)

// Rule ha-claims: each member of an HA group has its own claims.
//
// Reads spec.volumeClaimTemplates and the persistentVolumeClaim volumes of
// the pod template of each HA group StatefulSet. No volumeClaimTemplates: an
// error in both modes. A persistentVolumeClaim volume in the pod template (one
// claim that every member mounts), unless it is readOnly or a claim template
// of the same name replaces it: an error in both modes. A claim template
// that is ReadWriteMany: a warning in both modes.
//
// Why: each member keeps its own state (HighByte: each node its own appData,
// never on a network share); one claim in the pod template is one volume
// that every member writes at once, two writers on one state. A
// ReadWriteMany claim lets any other pod write a member's state.
func haClaimsRule() rule {
	return rule{id: "ha-claims", summary: "each member of an HA group has its own claims (volumeClaimTemplates), none shared", check: checkHAClaims}
}

func checkHAClaims(ix *index) []finding {
	var out []finding
	for _, g := range ix.haGroups() {
		if !g.valid() {
			continue // ha-members says why
		}
		templates := g.claimTemplates()
		names := make([]string, len(templates))
		for i, t := range templates {
			names[i] = t.Metadata.Name
		}
		if len(templates) == 0 {
			out = append(out, finding{target: g.ref, item: g.item, field: "spec.volumeClaimTemplates", severity: errorSeverity,
				message: fmt.Sprintf("%s has no volumeClaimTemplates, so its members keep no state of their own; add one (ReadWriteOncePod) for the members' data", g)})
		}
		var volumes []struct {
			Name                  string `yaml:"name"`
			PersistentVolumeClaim *struct {
				ClaimName string `yaml:"claimName"`
				ReadOnly  bool   `yaml:"readOnly"`
			} `yaml:"persistentVolumeClaim"`
		}
		_ = decodeField(g.node(), &volumes, "spec", "template", "spec", "volumes") // the index decoded them already
		for _, v := range volumes {
			if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ReadOnly || slices.Contains(names, v.Name) {
				continue
			}
			out = append(out, finding{target: g.ref, item: g.item, severity: errorSeverity, current: v.PersistentVolumeClaim.ClaimName,
				field:   fmt.Sprintf("spec.template.spec.volumes[name=%s].persistentVolumeClaim.claimName", v.Name),
				message: fmt.Sprintf("volume %s mounts claim %s in every member of %s: two writers on one state; move it to spec.volumeClaimTemplates so that each member gets its own (or mount it readOnly)", v.Name, v.PersistentVolumeClaim.ClaimName, g)})
		}
		for _, t := range templates {
			if slices.Contains(t.Spec.AccessModes, "ReadWriteMany") {
				out = append(out, finding{target: g.ref, item: g.item, severity: warningSeverity, current: "ReadWriteMany",
					field:   fmt.Sprintf("spec.volumeClaimTemplates[metadata.name=%s].spec.accessModes", t.Metadata.Name),
					message: fmt.Sprintf("claim template %s is ReadWriteMany, so another pod can write a member's state; use ReadWriteOncePod", t.Metadata.Name)})
			}
		}
	}
	return out
}
