package doppleremu

import "strings"

// transformers rewrite Doppler's UPPER_SNAKE_CASE names as the download
// API's name_transformer parameter does; "" leaves them.
var transformers = map[string]func(string) string{
	"":            func(n string) string { return n },
	"upper-camel": func(n string) string { return camel(n, true) },
	"camel":       func(n string) string { return camel(n, false) },
	"lower-snake": strings.ToLower,
	"lower-kebab": func(n string) string { return strings.ReplaceAll(strings.ToLower(n), "_", "-") },
	"tf-var":      func(n string) string { return "TF_VAR_" + strings.ToLower(n) },
	"dotnet-env":  func(n string) string { return dotnet(n, "__") },
	"dotnet":      func(n string) string { return dotnet(n, ":") },
}

// Transform returns name as the name_transformer t writes it, such as
// "ApiKey" for API_KEY and "upper-camel", and whether t is one the
// emulator knows.
func Transform(t, name string) (string, bool) {
	f, ok := transformers[t]
	if !ok {
		return "", false
	}
	return f(name), true
}

// camel joins the words of an UPPER_SNAKE name, each capitalized, the
// first too when upper is set: API_KEY is ApiKey or apiKey.
func camel(n string, upper bool) string {
	var b strings.Builder
	first := true
	for _, w := range strings.Split(n, "_") {
		if w == "" {
			continue
		}
		w = strings.ToLower(w)
		if !first || upper {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		b.WriteString(w)
		first = false
	}
	return b.String()
}

// dotnet writes each __-separated section of a name in upper camel case
// and joins them with sep: SMTP__USER_NAME is Smtp__UserName for .NET's
// environment variables, Smtp:UserName for its configuration keys.
func dotnet(n, sep string) string {
	sections := strings.Split(n, "__")
	for i, s := range sections {
		sections[i] = camel(s, true)
	}
	return strings.Join(sections, sep)
}
