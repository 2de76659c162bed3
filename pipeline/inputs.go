package pipeline

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// imageExts are the file extensions a folder walk picks up (the formats
// preprocess decodes), compared in lower case.
var imageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true,
	".bmp": true, ".tif": true, ".tiff": true,
}

// IsImageFile reports whether a file name has an image extension.
func IsImageFile(name string) bool { return imageExts[strings.ToLower(filepath.Ext(name))] }

// ExpandImages turns command-line arguments into image paths, in order: a
// folder gives every image file under it (recursively, in lexical order;
// hidden files and folders are skipped), a glob its matches (folders among
// them walked the same way), and any other argument itself — a missing
// file then fails when it is read, reported with the rest. Problems that
// name no file (a glob that is malformed or matches nothing, a folder that
// cannot be read) are returned apart, so that the caller reports them and
// goes on.
func ExpandImages(args []string) (paths []string, problems []error) {
	for _, arg := range args {
		if st, err := os.Stat(arg); err == nil {
			if !st.IsDir() {
				paths = append(paths, arg)
				continue
			}
			found, err := walkImages(arg)
			paths = append(paths, found...)
			if err != nil {
				problems = append(problems, err)
			}
			continue
		}
		if !strings.ContainsAny(arg, `*?[`) {
			paths = append(paths, arg)
			continue
		}
		matches, err := filepath.Glob(arg)
		switch {
		case err != nil:
			problems = append(problems, fmt.Errorf("%s: bad pattern: %w", arg, err))
			continue
		case len(matches) == 0:
			problems = append(problems, fmt.Errorf("%s: no file matches", arg))
			continue
		}
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.IsDir() {
				found, err := walkImages(m)
				paths = append(paths, found...)
				if err != nil {
					problems = append(problems, err)
				}
				continue
			}
			paths = append(paths, m)
		}
	}
	return paths, problems
}

// walkImages lists the image files under dir.
func walkImages(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && IsImageFile(path) {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("read folder %s: %w", dir, err)
	}
	return out, nil
}

// ReadTexts reads a file of texts, one per line (a trailing \r is dropped;
// blank lines are skipped).
func ReadTexts(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read texts: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) != "" {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read texts %s: %w", path, err)
	}
	return out, nil
}

// Unique drops inputs whose key an earlier input has (the same file named
// twice, say), and those in skip (already in a resumed output); skipped
// counts the latter.
func Unique(inputs []Input, skip map[string]bool) (out []Input, skipped int) {
	seen := make(map[string]bool, len(inputs))
	for _, in := range inputs {
		k := in.Key()
		switch {
		case seen[k]:
			continue
		case skip[k]:
			skipped++
		default:
			out = append(out, in)
		}
		seen[k] = true
	}
	return out, skipped
}
