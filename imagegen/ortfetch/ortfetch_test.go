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
	x64 := ortfetch.Builds["linux/amd64"].Member
	arm := ortfetch.Builds["linux/arm64"].Member
	tgz := tarball(t, map[string]string{
		x64:                 "x64 library",
		arm:                 "arm64 library",
		"package/README.md": "ignored",
	})
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if r.URL.Path != "/onnxruntime-node/-/onnxruntime-node-1.29.0.tgz" {
			http.NotFound(w, r)
			return
		}
		w.Write(tgz)
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "ort")
	o := ortfetch.Options{Registry: srv.URL, Dir: dir, Platform: "linux/amd64", LibSum: sum("x64 library")}
	path, err := ortfetch.Fetch(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "libonnxruntime.so"), path)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "x64 library", string(b), "the member for the platform asked for")
	_, err = ortfetch.Fetch(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, 1, hits, "an intact copy is not downloaded again")
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, left, 1, "no staging directory is left behind")

	// The other platform's member.
	armDir := filepath.Join(t.TempDir(), "ort")
	path, err = ortfetch.Fetch(context.Background(), ortfetch.Options{Registry: srv.URL, Dir: armDir, Platform: "linux/arm64", LibSum: sum("arm64 library")})
	require.NoError(t, err)
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "arm64 library", string(b))

	// The pinned sums refuse this tarball, and nothing is installed.
	dir2 := filepath.Join(t.TempDir(), "ort")
	_, err = ortfetch.Fetch(context.Background(), ortfetch.Options{Registry: srv.URL, Dir: dir2, Platform: "linux/amd64"})
	require.ErrorIs(t, err, ortfetch.ErrChecksum)
	_, statErr := os.Stat(filepath.Join(dir2, "libonnxruntime.so"))
	assert.True(t, os.IsNotExist(statErr))

	// A platform the package does not build for.
	_, err = ortfetch.Fetch(context.Background(), ortfetch.Options{Registry: srv.URL, Dir: t.TempDir(), Platform: "darwin/arm64"})
	require.ErrorIs(t, err, ortfetch.ErrPlatform)
	assert.ErrorContains(t, err, "set ORT_LIB")

	// A tarball without the library.
	tgz = tarball(t, map[string]string{"package/README.md": "x"})
	_, err = ortfetch.Fetch(context.Background(), ortfetch.Options{Registry: srv.URL, Dir: t.TempDir(), Platform: "linux/amd64"})
	assert.ErrorContains(t, err, "lacks "+x64)

	// Not a tarball at all.
	tgz = []byte("<html>proxy error</html>")
	_, err = ortfetch.Fetch(context.Background(), ortfetch.Options{Registry: srv.URL, Dir: t.TempDir(), Platform: "linux/amd64"})
	assert.ErrorContains(t, err, "not a gzip tarball")
}

// The pinned sum is the installed library's (make ort fetched it): it is
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
