package hub

import (
	"os"
	"os/user"
	"path/filepath"
	"strings"
)

// CacheDir returns the Hugging Face hub cache directory, chosen exactly as
// huggingface_hub does: $HF_HUB_CACHE, else the legacy
// $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, where HF_HOME defaults to
// $XDG_CACHE_HOME/huggingface and XDG_CACHE_HOME to ~/.cache. A leading ~
// and $VARS in these values are expanded.
func CacheDir() string {
	if dir := os.Getenv("HF_HUB_CACHE"); dir != "" {
		return expandPath(dir)
	}
	if dir := os.Getenv("HUGGINGFACE_HUB_CACHE"); dir != "" {
		return expandPath(dir)
	}
	return filepath.Join(hfHome(), "hub")
}

// hfHome is huggingface_hub's HF_HOME: where the token file and the hub
// cache live.
func hfHome() string {
	if dir := os.Getenv("HF_HOME"); dir != "" {
		return expandPath(dir)
	}
	xdg := os.Getenv("XDG_CACHE_HOME")
	if xdg == "" {
		xdg = filepath.Join(homeDir(), ".cache")
	}
	return filepath.Join(expandPath(xdg), "huggingface")
}

// expandPath does what Python's os.path.expandvars(os.path.expanduser(p))
// does for the forms people write in environment variables.
func expandPath(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`) {
		p = filepath.Join(homeDir(), p[1:])
	}
	return os.ExpandEnv(p)
}

// homeDir is $HOME, else the user database entry (as Python's expanduser),
// else the temporary directory so that a cache path always exists.
func homeDir() string {
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return h
	}
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		return u.HomeDir
	}
	return os.TempDir()
}

// envToken returns the token huggingface_hub would send: $HF_TOKEN, else the
// legacy $HUGGING_FACE_HUB_TOKEN, else the file at $HF_TOKEN_PATH (default
// $HF_HOME/token, written by `hf auth login`). Empty when there is none.
func envToken() string {
	for _, key := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if t := cleanToken(os.Getenv(key)); t != "" {
			return t
		}
	}
	path := os.Getenv("HF_TOKEN_PATH")
	if path == "" {
		path = filepath.Join(hfHome(), "token")
	}
	b, err := os.ReadFile(expandPath(path))
	if err != nil {
		return ""
	}
	return cleanToken(string(b))
}

func cleanToken(t string) string {
	return strings.TrimSpace(strings.NewReplacer("\r", "", "\n", "").Replace(t))
}

// envOffline reports whether HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set
// to a true value, as huggingface_hub reads it.
func envOffline() bool {
	for _, key := range []string{"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"} {
		switch strings.ToUpper(os.Getenv(key)) {
		case "1", "ON", "YES", "TRUE":
			return true
		}
	}
	return false
}
