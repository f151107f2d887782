package suiteconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kube-netbench/internal/config"
	"kube-netbench/profiles"
)

// allowedProfile is what PROFILE may be.
const allowedProfile = "a readable " + config.ProfileAPIVersion + " " + config.ProfileKind +
	" file (see " + profiles.DefaultName + "), or unset for the default profile built into the suite"

// loadProfile parses the profile PROFILE names (a relative path is tried in
// the working directory, then under root), or the embedded default when it
// is unset, so that a compiled suite judges alike from any directory.
func loadProfile(v, root string) (config.Profile, string, error) {
	name := strings.TrimSpace(v)
	if name == "" {
		p, err := config.ParseProfile(profiles.Default)
		if err != nil {
			return config.Profile{}, "", fmt.Errorf("the embedded %s: %w", profiles.DefaultName, err)
		}
		return p, profiles.DefaultName + " (embedded)", nil
	}
	path := filepath.Clean(name)
	if _, err := os.Stat(path); err != nil && !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return config.Profile{}, "", envError(config.EnvProfile, v, err.Error(), allowedProfile)
	}
	p, err := config.ParseProfile(data)
	if err != nil {
		return config.Profile{}, "", envError(config.EnvProfile, v, fmt.Sprintf("%s: %v", path, err), allowedProfile)
	}
	return p, path, nil
}

// resultsRoot resolves RESULTS_DIR (default config.DefaultResultsDir)
// against root and checks that the suite can create and write it.
func resultsRoot(v, root string) (string, error) {
	dir := strings.TrimSpace(v)
	if dir == "" {
		dir = config.DefaultResultsDir
	}
	if strings.ContainsRune(dir, 0) {
		return "", nil // config.FromEnv names it
	}
	dir = filepath.Clean(dir)
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	if err := writable(dir); err != nil {
		return "", envError(config.EnvResultsDir, v, err.Error(), "a directory the suite can create and write in")
	}
	return dir, nil
}

// writable checks, creating nothing that stays, that dir exists as a
// writable directory or can be created: its nearest existing ancestor must
// be a directory (a file in the way is the usual mistake) that takes a new
// file. A permission check alone would not do: root passes any, a
// read-only file system none.
func writable(dir string) error {
	p := dir
	for {
		fi, err := os.Stat(p)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is not a directory", p)
			}
			break
		}
		up := filepath.Dir(p)
		if up == p {
			return fmt.Errorf("no part of %s exists: %w", dir, err)
		}
		p = up
	}
	f, err := os.CreateTemp(p, ".netbench-write-check-*")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", p, err)
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		return err
	}
	return os.Remove(name)
}
