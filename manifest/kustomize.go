package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// LoadInputs reads what a command's -f/-R/-k flags name: the files, directories and stdin first,
// then the rendered kustomization.
func LoadInputs(paths []string, opts Options, kustomization string) (*Result, error) {
	res := &Result{}
	if len(paths) > 0 {
		r, err := Load(paths, opts)
		if err != nil {
			return nil, err
		}
		res = r
	}
	if kustomization != "" {
		r, err := LoadKustomize(kustomization)
		if err != nil {
			return nil, err
		}
		res.Objects = append(res.Objects, r.Objects...)
		res.Problems = append(res.Problems, r.Problems...)
		res.Files = append(res.Files, r.Files...)
	}
	return res, nil
}

// LoadKustomize renders the kustomization in dir in memory (as `kustomize build dir` would, with
// plugins and Helm disabled) and parses the result. Remote bases and resources are refused before
// anything is rendered: lint never uses the network. Positions point into the rendered stream,
// named "<kustomize DIR>".
func LoadKustomize(dir string) (*Result, error) {
	if err := checkLocal(dir, map[string]bool{}); err != nil {
		return nil, err
	}
	opts := krusty.MakeDefaultOptions()
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, &InputError{fmt.Errorf("kustomize build %s: %w", dir, err)}
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, &InputError{fmt.Errorf("kustomize build %s: %w", dir, err)}
	}
	return Parse("<kustomize "+dir+">", out), nil
}

// checkLocal walks a kustomization and its local bases and refuses any remote reference.
func checkLocal(dir string, seen map[string]bool) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return &InputError{err}
	}
	if seen[abs] {
		return nil
	}
	seen[abs] = true
	var data []byte
	var kfile string
	for _, n := range kustomizationNames {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
			data, kfile = b, filepath.Join(dir, n)
			break
		}
	}
	if kfile == "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return inputErrorf("%s: not a directory", dir)
		}
		return inputErrorf("%s: no kustomization.yaml in this directory", dir)
	}
	var k struct {
		Resources  []string `yaml:"resources"`
		Bases      []string `yaml:"bases"`
		Components []string `yaml:"components"`
		HelmCharts []any    `yaml:"helmCharts"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return inputErrorf("%s: %v", kfile, err)
	}
	if len(k.HelmCharts) > 0 {
		return inputErrorf("%s: helmCharts need the helm binary and the network; render with `helm template ... | kubectl svc-doctor lint -f -` instead", kfile)
	}
	for _, group := range [][]string{k.Resources, k.Bases, k.Components} {
		for _, r := range group {
			if isRemote(r) {
				return inputErrorf("%s: remote resource %q is not fetched (lint never uses the network); vendor it into the repository or lint the rendered output with -f -", kfile, r)
			}
			p := filepath.Join(dir, r)
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				if err := checkLocal(p, seen); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func isRemote(r string) bool {
	if strings.Contains(r, "://") || strings.HasPrefix(r, "git@") || strings.Contains(r, "?ref=") || strings.Contains(r, ".git//") {
		return true
	}
	for _, host := range []string{"github.com/", "gitlab.com/", "bitbucket.org/"} {
		if strings.HasPrefix(r, host) {
			return true
		}
	}
	return false
}
