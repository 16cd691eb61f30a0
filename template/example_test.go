package template_test

import (
	"fmt"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/template"
)

func Example() {
	out, err := template.Render(template.Input{
		Template: &externalsecret.Template{
			Type: "kubernetes.io/basic-auth",
			Data: map[string]string{
				"username": "{{ .user }}",
				"password": "{{ .pass }}",
				"dsn":      "postgres://{{ .user }}:{{ .pass | urlquery }}@db:5432/app",
			},
			Metadata: externalsecret.TemplateMetadata{
				Labels: map[string]string{"owner": "{{ .user | upper }}"},
			},
		},
		Data: map[string][]byte{"user": []byte("app"), "pass": []byte("p@ss w0rd")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.Type)
	fmt.Println(string(out.Data["dsn"]))
	fmt.Println(out.Labels["owner"])

	_, err = template.Render(template.Input{
		Template: &externalsecret.Template{Data: map[string]string{"token": "{{ .pass | fail }}"}},
		Data:     map[string][]byte{"pass": []byte("p@ss w0rd")},
	})
	fmt.Println(err)
	// Output:
	// kubernetes.io/basic-auth
	// postgres://app:p%40ss+w0rd@db:5432/app
	// APP
	// template key "token": template: token:1:11: executing "token" at <fail>: error calling fail: [redacted]
}
