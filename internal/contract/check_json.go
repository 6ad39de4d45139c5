package contract

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Check json forbids a JSON file in a ConfigMap that does not parse.
//
// Reads every rendered ConfigMap's data keys ending in .json. Allowed: any
// valid JSON. The value is left out of the finding: it may hold a secret.
func init() {
	addCheck(check{
		id:      "json",
		promise: "every .json file in a rendered ConfigMap parses as JSON",
		check:   checkJSON,
	})
}

func checkJSON(m *Manifest, _ Expect) field.ErrorList {
	var errs field.ErrorList
	for _, cm := range m.ConfigMaps {
		for key, val := range cm.Data {
			var x any
			if !strings.HasSuffix(key, ".json") {
				continue
			}
			if err := json.Unmarshal([]byte(val), &x); err != nil {
				errs = append(errs, field.Invalid(object("ConfigMap", cm.Name).Child("data").Key(key), field.OmitValueType{},
					fmt.Sprintf("not valid JSON (%v): fix the file %s that the overlay's configMapGenerator reads", err, key)))
			}
		}
	}
	return errs
}
