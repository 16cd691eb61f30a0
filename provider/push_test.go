package provider_test

import (
	"testing"

	"github.com/secretsync/secretsync/provider"
)

func TestSetAndDeleteProperty(t *testing.T) {
	tests := []struct {
		existing, property, value, want string
	}{
		{"", "password", "s3cret", `{"password":"s3cret"}`},
		{`{"user":"admin"}`, "password", "s3cret", `{"password":"s3cret","user":"admin"}`},
		{`{"user":"admin"}`, "user", "root", `{"user":"root"}`},
		{`{"a":1}`, "cfg", `{"x":[1,2]}`, `{"a":1,"cfg":{"x":[1,2]}}`},
		{`{}`, "n", "42", `{"n":"42"}`},
	}
	for _, tc := range tests {
		got, err := provider.SetProperty([]byte(tc.existing), tc.property, []byte(tc.value))
		if err != nil || string(got) != tc.want {
			t.Errorf("SetProperty(%s, %s): got %s, %v; want %s", tc.existing, tc.property, got, err, tc.want)
		}
	}
	if _, err := provider.SetProperty([]byte("plain text"), "p", []byte("v")); err == nil {
		t.Error("SetProperty into a secret that is not a JSON object: no error")
	}

	rest, left, err := provider.DeleteProperty([]byte(`{"user":"admin","password":"s3cret"}`), "password")
	if err != nil || !left || string(rest) != `{"user":"admin"}` {
		t.Errorf("DeleteProperty: got %s, %v, %v", rest, left, err)
	}
	if _, left, err := provider.DeleteProperty([]byte(`{"password":"s3cret"}`), "password"); err != nil || left {
		t.Errorf("DeleteProperty of the last property: left %v, %v", left, err)
	}
}
