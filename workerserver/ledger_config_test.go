package workerserver_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/workerserver"
)

const testConn = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=S3CRETKEY==;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;"

// Which ledger each queue backend and WORKER_LEDGER value gets.
func TestLedgerConfig(t *testing.T) {
	for _, tc := range []struct {
		name, backend, ledger, want string
	}{
		{"azure queue defaults to the table", "azure", "", workerserver.LedgerAzure},
		{"azure queue, explicit table ledger", "azure", "azure", workerserver.LedgerAzure},
		{"azure queue with a file", "azure", "/var/lib/moetron/ledger.db", "/var/lib/moetron/ledger.db"},
		{"azure queue with mem", "azure", "mem", workerserver.LedgerMem},
		{"named table", "azure", "azure:ledgerprod", "azure:ledgerprod"},
		{"sqlite queue with the table", "sqlite", "azure", workerserver.LedgerAzure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := validEnv()
			env["QUEUE_BACKEND"] = tc.backend
			env["QUEUE_NAME"] = "moetron-jobs"
			env["AZURE_STORAGE_CONNECTION_STRING"] = testConn
			if tc.ledger != "" {
				env["WORKER_LEDGER"] = tc.ledger
			}
			cfg := workerserver.FromLookup(lookup(env))
			require.NoError(t, cfg.Validate())
			assert.Equal(t, tc.want, cfg.WithDefaults().Ledger)
			s := cfg.String()
			assert.Contains(t, s, "ledger="+tc.want)
			if strings.HasPrefix(tc.want, "azure") {
				assert.Regexp(t, `ledger=azure:ledger[a-zA-Z0-9]+`, s, "the table is named")
			}
			assert.NotContains(t, s, "S3CRETKEY")
		})
	}

	// The SQLite queue keeps its file default.
	env := validEnv()
	env["QUEUE_PATH"] = "/data/queue.db"
	assert.Equal(t, filepath.Join("/data", "moetron-ledger.db"), workerserver.FromLookup(lookup(env)).WithDefaults().Ledger)
}

func TestLedgerConfigErrors(t *testing.T) {
	env := validEnv()
	env["WORKER_LEDGER"] = "azure"
	err := workerserver.FromLookup(lookup(env)).Validate()
	require.ErrorIs(t, err, workerserver.ErrConfig)
	assert.Contains(t, err.Error(), `WORKER_LEDGER "azure" needs AZURE_STORAGE_CONNECTION_STRING`)

	env["AZURE_STORAGE_CONNECTION_STRING"] = testConn
	env["WORKER_LEDGER"] = "azure:bad-name"
	err = workerserver.FromLookup(lookup(env)).Validate()
	require.ErrorIs(t, err, workerserver.ErrConfig)
	assert.Contains(t, err.Error(), "bad-name")
	assert.NotContains(t, err.Error(), "S3CRETKEY")

	// The azure queue names the missing connection string once, itself.
	env = validEnv()
	env["QUEUE_BACKEND"] = "azure"
	err = workerserver.FromLookup(lookup(env)).Validate()
	require.Error(t, err)
	assert.Equal(t, 1, strings.Count(err.Error(), "AZURE_STORAGE_CONNECTION_STRING"), err.Error())
}
