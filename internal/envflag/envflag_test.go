package envflag

import (
	"bytes"
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecretNeverPrinted(t *testing.T) {
	key, secretValue := "from-env-key", "from-env-secret"
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	String(fs, &key, "X_CONSUMER_KEY", "consumer key")
	Secret(fs, &secretValue, "X_CONSUMER_SECRET", "consumer secret")
	fs.PrintDefaults()
	assert.Contains(t, out.String(), "-x-consumer-secret")
	assert.Contains(t, out.String(), `(default "from-env-key")`)
	assert.NotContains(t, out.String(), "from-env-secret")

	require.NoError(t, fs.Parse([]string{"-x-consumer-secret", "from-flag"}))
	assert.Equal(t, "from-flag", secretValue, "the flag wins over the environment")
}

func TestName(t *testing.T) {
	assert.Equal(t, "azure-storage-connection-string", Name("AZURE_STORAGE_CONNECTION_STRING"))
}
