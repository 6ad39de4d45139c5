package contract

import (
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Check certificate-store forbids a certificate store where the overlay's
// row promises none, and where it promises one, a store from anywhere but
// its Secret, or mounted writable.
//
// Reads the Hub's pod's init container certificate-store, its mount at
// /hubkit/certificate-store and the volume behind it. Allowed: with
// certificateStore, the init container, its mount read-only, from the
// Secret hbih-certificate-store; without, no such init container.
func init() {
	addCheck(check{
		id:      "certificate-store",
		promise: "the certificate store is placed only where the overlay promises it, read-only from the Secret hbih-certificate-store",
		check:   checkCertificateStore,
	})
}

func checkCertificateStore(m *Manifest, want Expect) field.ErrorList {
	d := hubWorkload(m, want)
	if d == nil {
		return nil
	}
	names := initContainerNames(d)
	path := podPath(d).Child("initContainers").Key("name=" + certificateStoreInit)
	has := slices.Contains(names, certificateStoreInit)
	if has != want.CertificateStore {
		return field.ErrorList{promised(path, has, "a certificate store (components/certificate-store)")}
	}
	if !has {
		return nil
	}
	c := d.Spec.Template.Spec.InitContainers[slices.Index(names, certificateStoreInit)]
	s, volume, errs := mountedFrom(d, c, path, "/hubkit/certificate-store", secretName)
	if s != "" && s != CertificateStoreSecret {
		errs = append(errs, field.Invalid(volume.Child("secret", "secretName"), s, "want "+CertificateStoreSecret))
	}
	return errs
}
