package ortfetch_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/imagegen/ortfetch"
)

func tarball(t *testing.T, members map[string]string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for name, body := range members {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return b.Bytes()
}

func sum(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// Offline: a local registry serves a tarball shaped like the npm package.
func TestFetchFromLocalRegistry(t *testing.T) {
	tgz := tarball(t, map[string]string{
		"package/Plugins/Linux/x64/libonnxruntime.so":                  "main library",
		"package/Plugins/Linux/x64/libonnxruntime_providers_shared.so": "providers",
		"package/README.md": "ignored",
	})
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if r.URL.Path != "/com.github.asus4.onnxruntime/-/com.github.asus4.onnxruntime-0.4.9.tgz" {
			http.NotFound(w, r)
			return
		}
		w.Write(tgz)
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "ort")
	o := ortfetch.Options{Registry: srv.URL, Dir: dir, LibSum: sum("main library"), SharedSum: sum("providers")}
	path, err := ortfetch.Fetch(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "libonnxruntime.so"), path)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "main library", string(b))
	_, err = ortfetch.Fetch(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, 1, hits, "an intact copy is not downloaded again")

	// The pinned sums refuse this tarball, and nothing is installed.
	dir2 := filepath.Join(t.TempDir(), "ort")
	_, err = ortfetch.Fetch(context.Background(), ortfetch.Options{Registry: srv.URL, Dir: dir2})
	require.ErrorIs(t, err, ortfetch.ErrChecksum)
	_, statErr := os.Stat(filepath.Join(dir2, "libonnxruntime.so"))
	assert.True(t, os.IsNotExist(statErr))

	// A tarball without the libraries.
	tgz = tarball(t, map[string]string{"package/README.md": "x"})
	_, err = ortfetch.Fetch(context.Background(), ortfetch.Options{Registry: srv.URL, Dir: t.TempDir()})
	assert.ErrorContains(t, err, "the tarball lacks")
}

// The pinned sums are the script's: an installed library (make ort) is
// taken as it is, without a download.
func TestPinnedSumsMatchInstalledLibrary(t *testing.T) {
	lib := os.Getenv("ORT_LIB")
	if lib == "" {
		t.Skip("ORT_LIB not set")
	}
	if _, err := os.Stat(lib); err != nil {
		t.Skipf("no library at %s", lib)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("downloaded %s although the library is intact", r.URL)
		http.Error(w, "no", 500)
	}))
	defer srv.Close()
	path, err := ortfetch.Fetch(context.Background(), ortfetch.Options{Registry: srv.URL, Dir: filepath.Dir(lib)})
	require.NoError(t, err)
	assert.Equal(t, lib, path)
}
