package imageref

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/relkit/relkit/release/testtool"
)

func TestDistributionRegistry(t *testing.T) {
	host := testtool.ServeDockerRegistry(t, testtool.RegistryOptions{})
	digest := push(t, host, "team/app", "1.0.0")
	c := newChecker(t, Options{Mirrors: map[string]string{"registry.example.org": host}})
	want := map[string]Status{
		host + "/team/app:1.0.0":              Exists,
		host + "/team/app:1.0.1":              Missing,
		host + "/team/none:1.0.0":             Missing,
		host + "/team/app@" + digest:          Exists,
		"registry.example.org/team/app:1.0.0": Exists,
	}
	var refs []Ref
	for s := range want {
		refs = append(refs, mustParse(t, s))
	}
	for _, r := range c.CheckAll(context.Background(), refs) {
		if r.Status != want[r.Ref] {
			t.Errorf("%s (via %s): status %s (err %v); expected %s", r.Ref, r.Contacted, r.Status, r.Err, want[r.Ref])
		}
	}
}

func TestDistributionRegistryAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	host := testtool.ServeDockerRegistry(t, testtool.RegistryOptions{Htpasswd: "relkit:" + string(hash) + "\n"})
	dockerConfig(t, host, "relkit", "s3cret")
	push(t, host, "team/app", "1.0.0")
	wantAuthOutcomes(t, host)
}
