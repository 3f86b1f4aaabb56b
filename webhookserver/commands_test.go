package webhookserver_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/commands"
	"github.com/moetron/moetron/webhookserver"
)

func TestCommandsFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("commands:\n  - name: a\n    keywords: [moea, \"moe a\"]\n"), 0o600))
	t.Setenv("COMMANDS_FILE", bad)
	cfg := baseConfig(t)
	cfg.CommandsFile = webhookserver.FromLookup(os.Getenv).CommandsFile
	_, err := webhookserver.New(context.Background(), cfg, nil)
	require.ErrorIs(t, err, commands.ErrInvalid)
	assert.Contains(t, err.Error(), bad+`:3: commands[0].keywords: keyword "moe a"`)

	cfg.CommandsFile = "../docs/commands.example.yaml"
	srv, _ := newServer(t, cfg, nil)
	require.NotNil(t, srv)
}
