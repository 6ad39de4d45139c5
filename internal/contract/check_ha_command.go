package contract

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Check ha-command forbids an HA member that does not start HighByte's HA
// mode with a stable node id and the JDBC URI kept out of Git, argv and ps.
//
// Reads the Hub's container's command, args and env (POD_NAME,
// HUB_JDBC_URI), and the command and args of every container and init
// container of the pod. Allowed: ... HAMain start -n $(POD_NAME) -j
// ${HUB_JDBC_URI}; POD_NAME from the downward API's metadata.name;
// HUB_JDBC_URI from the Secret hbih-db-app, key jdbc-uri, and never as
// $(HUB_JDBC_URI), which Kubernetes expands into argv; HAMain create only in
// the init container ha-create, which is there.
func init() {
	addCheck(check{
		id:      "ha-command",
		promise: "each member starts HighByte's HA mode with its pod name as node id and the JDBC URI from its Secret, expanded by the Hub alone, created once by ha-create",
		check:   checkHACommand,
	})
}

func checkHACommand(m *Manifest, want Expect) field.ErrorList {
	_, w := hubStatefulSet(m, want)
	if w == nil {
		return nil
	}
	var errs field.ErrorList
	c := w.Spec.Template.Spec.Containers[0]
	path := containerPath(w, c)
	args := append(slices.Clone(c.Command), c.Args...)
	i := slices.Index(args, "com.highbyte.intelligencehub.runtime.HAMain")
	if i < 0 || i+1 >= len(args) || args[i+1] != "start" {
		errs = append(errs, field.Invalid(path.Child("args"), args, "want HighByte's HA command: ... com.highbyte.intelligencehub.runtime.HAMain start -n $(POD_NAME) -j ${HUB_JDBC_URI}"))
		return errs
	}
	flag := func(name string) string {
		j := slices.Index(args[i:], name)
		if j < 0 || i+j+1 >= len(args) {
			return ""
		}
		return args[i+j+1]
	}
	if got := flag("-n"); got != "$("+HANodeIDEnv+")" {
		errs = append(errs, field.Invalid(path.Child("args"), got, "want -n $("+HANodeIDEnv+"): the pod name, a node id stable across restarts"))
	}
	if got := flag("-j"); got != "${"+HAJDBCEnv+"}" {
		// The value is left out: it may be the password.
		errs = append(errs, field.Invalid(path.Child("args"), field.OmitValueType{}, "want -j ${"+HAJDBCEnv+"}, expanded by the Hub: anything else puts the URI in Git or its password in argv"))
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if e := env[HANodeIDEnv]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		errs = append(errs, field.Required(path.Child("env").Key("name="+HANodeIDEnv).Child("valueFrom", "fieldRef"), "the pod's name, metadata.name"))
	}
	if e := env[HAJDBCEnv]; e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
		e.ValueFrom.SecretKeyRef.Name != HADatabaseSecret || e.ValueFrom.SecretKeyRef.Key != HADatabaseKey {
		errs = append(errs, field.Required(path.Child("env").Key("name="+HAJDBCEnv).Child("valueFrom", "secretKeyRef"),
			fmt.Sprintf("from Secret %s, key %s: the URI holds the database's password", HADatabaseSecret, HADatabaseKey)))
	}
	for _, c := range append(slices.Clone(w.Spec.Template.Spec.InitContainers), w.Spec.Template.Spec.Containers...) {
		for _, a := range append(slices.Clone(c.Command), c.Args...) {
			if strings.Contains(a, "$("+HAJDBCEnv+")") {
				errs = append(errs, field.Forbidden(containerPath(w, c), "$("+HAJDBCEnv+") is expanded by Kubernetes into argv, where ps shows the password"))
			}
			if strings.Contains(a, "HAMain create") && c.Name != haCreateInit {
				errs = append(errs, field.Forbidden(containerPath(w, c), "HAMain create runs once, in init container "+haCreateInit))
			}
		}
	}
	if !slices.ContainsFunc(w.Spec.Template.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == haCreateInit }) {
		errs = append(errs, field.Required(podPath(w).Child("initContainers").Key("name="+haCreateInit), "HAMain create, at the preferred primary's first start"))
	}
	return errs
}
