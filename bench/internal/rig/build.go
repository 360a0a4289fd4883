package rig

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// WireGuardVersion is the wireguard-go module version the throughput benchmark installs.
const WireGuardVersion = "golang.zx2c4.com/wireguard@v0.0.0-20260522210424-ecfc5a8d5446"

// ModuleRoot returns the directory of the Vigil module the program was started in.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the Vigil module: run from the repository (e.g. go run ./bench/throughput)")
	}
	return filepath.Dir(mod), nil
}

// BuildVigild builds cmd/vigild of the module into dir and returns the binary's path.
func BuildVigild(ctx context.Context, dir string) (string, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "vigild")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/vigild")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/vigild: %w\n%s", err, out)
	}
	return bin, nil
}

// CacheDir is the directory holding tools the benchmarks install (wireguard-go):
// $XDG_CACHE_HOME/vigil-bench or ~/.cache/vigil-bench.
func CacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "vigil-bench"), nil
}

// WireGuardBinary returns the path of the wireguard-go binary ("wireguard") in
// CacheDir()/bin, installing WireGuardVersion there with `go install` if it is missing.
func WireGuardBinary(ctx context.Context) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, "bin")
	path := filepath.Join(bin, "wireguard")
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return path, nil
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "install", WireGuardVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	cmd.Dir = os.TempDir() // outside any module: install exactly that version
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %w\n%s", WireGuardVersion, err, out)
	}
	return path, nil
}
