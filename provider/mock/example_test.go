package mock_test

import (
	"context"
	"fmt"

	"go.uber.org/mock/gomock"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/mock"
)

// A test expects exactly the provider calls the code under test should
// make. Regenerate the mocks with go generate ./provider/...
func Example() {
	ctrl := gomock.NewController(reporter{}) // in a test: gomock.NewController(t)
	client := mock.NewMockClient(ctrl)
	client.EXPECT().
		GetSecret(gomock.Any(), provider.Ref{Key: "db"}).
		Return(provider.NewJSONSecret([]byte(`{"user":"app"}`)), nil).
		Times(1)

	s, _ := client.GetSecret(context.Background(), provider.Ref{Key: "db"})
	user, _ := s.Property("user")
	fmt.Println(string(user))
	ctrl.Finish()
	// Output: app
}

// reporter stands in for *testing.T outside a test.
type reporter struct{}

func (reporter) Errorf(format string, args ...any) { fmt.Printf(format+"\n", args...) }
func (reporter) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
