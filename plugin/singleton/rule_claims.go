package singleton

import (
	"fmt"
	"slices"
)

// Rule claims: every claim a singleton mounts exists, and is not shared.
//
// Reads the persistentVolumeClaim volumes of each singleton's pod, the claims
// in the input (same namespace) and spec.externalClaims. A volume without
// claimName, or naming a claim that is neither in the input nor external: an
// error in both modes. A ReadWriteMany claim: a warning in both modes.
//
// Why: a missing claim leaves the pod Pending at the first restart, which is
// exactly when durability is needed; a ReadWriteMany claim lets a second pod
// (a stray Job, a copy in another Deployment) write the singleton's state.
func claimsRule() rule {
	return rule{id: "claims", summary: "a singleton's claims are in the input (or declared external) and not ReadWriteMany", check: checkClaims}
}

func checkClaims(ix *index) []finding {
	var out []finding
	for _, w := range ix.singletons {
		for _, v := range w.template.Spec.Volumes {
			if v.PersistentVolumeClaim == nil {
				continue
			}
			f := finding{target: w.ref, item: w.item,
				field: fmt.Sprintf("spec.template.spec.volumes[name=%s].persistentVolumeClaim.claimName", v.Name)}
			name := v.PersistentVolumeClaim.ClaimName
			c := ix.claims[key{w.ref.Namespace, name}]
			switch {
			case name == "":
				f.severity = errorSeverity
				f.message = fmt.Sprintf("volume %s has no claimName; name the PersistentVolumeClaim it mounts", v.Name)
			case c == nil && !ix.isExternalClaim(w.ref.Namespace, name):
				f.severity, f.current = errorSeverity, name
				f.message = fmt.Sprintf("claim %s is not in the input; add the PersistentVolumeClaim, or list it under spec.externalClaims if it is made elsewhere", name)
			case c != nil && slices.Contains(c.accessModes, "ReadWriteMany"):
				f.severity, f.current = warningSeverity, name
				f.message = fmt.Sprintf("claim %s is ReadWriteMany, so another pod can write this singleton's state; use ReadWriteOnce or ReadWriteOncePod", name)
			default:
				continue
			}
			out = append(out, f)
		}
	}
	return out
}
