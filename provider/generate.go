package provider

//go:generate go run go.uber.org/mock/mockgen@v0.4.0 -source=provider.go -destination=mock/mock.go -package=mock
