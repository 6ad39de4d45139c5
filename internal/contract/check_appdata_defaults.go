package contract

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Check appdata-defaults forbids a Hub whose fresh claim would hide the
// defaults its image ships under appData, or whose copy of them would stand
// in for a file another init container places.
//
// Reads the names and order of the Hub's pod's initContainers. Allowed: an
// init container appdata-defaults (components/appdata-defaults), after
// every other but ha-create.
func init() {
	addCheck(check{
		id:      "appdata-defaults",
		promise: "the Hub's init containers copy the image's appData defaults (components/appdata-defaults) after every other but ha-create",
		check:   checkAppDataDefaults,
	})
}

func checkAppDataDefaults(m *Manifest, want Expect) field.ErrorList {
	d := hubWorkload(m, want)
	if d == nil {
		return nil
	}
	var errs field.ErrorList
	inits := podPath(d).Child("initContainers")
	names := initContainerNames(d)
	defaults := slices.Index(names, appDataDefaults)
	if defaults < 0 {
		errs = append(errs, field.Required(inits.Key("name="+appDataDefaults), "a fresh claim hides the defaults the image ships under appData (components/appdata-defaults)"))
	}
	for i, n := range names {
		if n != appDataDefaults && n != haCreateInit && i > defaults && defaults >= 0 {
			errs = append(errs, field.Forbidden(inits.Key("name="+n), fmt.Sprintf("runs after %s, whose copy of the image's defaults then stands in for its file: list components/appdata-defaults before the others", appDataDefaults)))
		}
	}
	return errs
}

// initContainerNames are the names of d's init containers, in order.
func initContainerNames(d *workload) []string {
	names := make([]string, len(d.Spec.Template.Spec.InitContainers))
	for i, c := range d.Spec.Template.Spec.InitContainers {
		names[i] = c.Name
	}
	return names
}
