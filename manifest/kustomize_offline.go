package manifest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
)

// checkKustomization refuses a kustomization that would make kustomize use the network: it walks
// the kustomization in dir and every local base, component, generator and transformer directory
// it references, recursively, and checks every field kustomize loads a file or a directory from.
// Each such reference must be an existing local file or directory and must not look like a URL
// or a git repository; Helm charts are refused.
func checkKustomization(dir string) error {
	if remoteRef(dir) {
		return inputErrorf("%s: remote kustomization is not fetched (svc-doctor never uses the network); clone it and pass the local directory", dir)
	}
	w := &kustWalker{seen: map[string]bool{}}
	return w.dir(dir, false)
}

// kustWalker walks the kustomizations reachable from a root.
type kustWalker struct {
	seen map[string]bool // directories walked, by real path and role
}

// dir checks the kustomization files in dir. plugins is set when the resources of this
// kustomization are generator, transformer or validator configurations.
func (w *kustWalker) dir(dir string, plugins bool) error {
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		if st, serr := os.Stat(dir); serr != nil || !st.IsDir() {
			return inputErrorf("%s: not a directory", dir)
		}
		return &InputError{err}
	}
	if resolved, err = filepath.Abs(resolved); err != nil {
		return &InputError{err}
	}
	key := resolved + "\x00" + strconv.FormatBool(plugins)
	if w.seen[key] {
		return nil
	}
	w.seen[key] = true
	found := false
	for _, n := range kustomizationNames {
		kfile := filepath.Join(dir, n)
		data, err := os.ReadFile(kfile)
		if err != nil {
			continue
		}
		found = true
		if err := w.file(dir, kfile, data, plugins); err != nil {
			return err
		}
	}
	if !found {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return inputErrorf("%s: not a directory", dir)
		}
		return inputErrorf("%s: no kustomization.yaml in this directory", dir)
	}
	return nil
}

// file checks one kustomization file, read with kustomize's own (strict) decoding, so that every
// field kustomize acts on is one of those checked here.
func (w *kustWalker) file(dir, kfile string, data []byte, plugins bool) error {
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return inputErrorf("%s: %v", kfile, err)
	}
	if err := refuseHelm(kfile, &k); err != nil {
		return err
	}
	c := refChecker{dir: dir, kfile: kfile}
	if plugins {
		// this kustomization's output configures generators or transformers: a URL that one of
		// its patches, replacements or generated values writes into a configuration would be
		// fetched, so none may appear anywhere in it
		if err := noURLs(kfile, data); err != nil {
			return err
		}
	}
	if err := w.resources(c, &k, plugins); err != nil {
		return err
	}
	files, err := plainFiles(c, &k)
	if err != nil {
		return err
	}
	for _, f := range files {
		if _, err := c.local(f.field, f.ref); err != nil {
			return err
		}
		if plugins {
			data, err := os.ReadFile(c.join(f.ref))
			if err == nil {
				err = noURLs(c.join(f.ref), data)
			}
			if err != nil {
				return err
			}
		}
	}
	return w.pluginRefs(c, &k)
}

// refuseHelm refuses the fields that only Helm reads (charts, repositories and its
// configuration), a local path as well as a URL.
func refuseHelm(kfile string, k *types.Kustomization) error {
	helm := "Helm charts need the helm binary and the network; render them with `helm template ... | kubectl svc-doctor lint -f -` instead"
	if len(k.HelmCharts) > 0 {
		return inputErrorf("%s: helmCharts: %s", kfile, helm)
	}
	if len(k.HelmChartInflationGenerator) > 0 {
		return inputErrorf("%s: helmChartInflationGenerator: %s", kfile, helm)
	}
	if g := k.HelmGlobals; g != nil {
		for _, f := range []fieldRef{{"chartHome", g.ChartHome}, {"configHome", g.ConfigHome}} {
			if f.ref != "" {
				return inputErrorf("%s: helmGlobals.%s: %s", kfile, f.field, helm)
			}
		}
	}
	return nil
}

// resources walks resources and bases (files, or directories holding a kustomization) and
// components.
func (w *kustWalker) resources(c refChecker, k *types.Kustomization, plugins bool) error {
	for _, group := range []fieldRefs{{"resources", k.Resources}, {"bases", k.Bases}} {
		for i, r := range group.refs {
			isDir, err := c.local(fmt.Sprintf("%s[%d]", group.field, i), r)
			if err != nil {
				return err
			}
			p := c.join(r)
			switch {
			case isDir:
				err = w.dir(p, plugins)
			case plugins:
				err = c.pluginFile(p)
			}
			if err != nil {
				return err
			}
		}
	}
	for i, r := range k.Components {
		isDir, err := c.local(fmt.Sprintf("components[%d]", i), r)
		if err != nil {
			return err
		}
		if isDir {
			if err := w.dir(c.join(r), plugins); err != nil {
				return err
			}
		}
	}
	return nil
}

// plainFiles lists the files a kustomization reads as they are: crds, configurations, patches,
// replacements, the OpenAPI schema and the generators' sources (an error for a remote one).
func plainFiles(c refChecker, k *types.Kustomization) ([]fieldRef, error) {
	var files []fieldRef
	add := func(field, ref string) {
		if ref != "" {
			files = append(files, fieldRef{field, ref})
		}
	}
	for _, group := range []fieldRefs{{"crds", k.Crds}, {"configurations", k.Configurations}} {
		for i, r := range group.refs {
			add(fmt.Sprintf("%s[%d]", group.field, i), r)
		}
	}
	for i, p := range k.Patches {
		add(fmt.Sprintf("patches[%d].path", i), p.Path)
	}
	for i, p := range k.PatchesJson6902 {
		add(fmt.Sprintf("patchesJson6902[%d].path", i), p.Path)
	}
	for i, p := range k.PatchesStrategicMerge {
		if !inlineYAML(string(p)) {
			add(fmt.Sprintf("patchesStrategicMerge[%d]", i), string(p))
		}
	}
	for i, r := range k.Replacements {
		add(fmt.Sprintf("replacements[%d].path", i), r.Path)
	}
	if p, ok := k.OpenAPI["path"]; ok {
		add("openapi.path", p)
	}
	gens := []struct {
		field string
		args  []types.GeneratorArgs
	}{{"configMapGenerator", configMapArgs(k.ConfigMapGenerator)}, {"secretGenerator", secretArgs(k.SecretGenerator)}}
	for _, gen := range gens {
		for i, g := range gen.args {
			prefix := fmt.Sprintf("%s[%d].", gen.field, i)
			for j, f := range g.FileSources {
				field := fmt.Sprintf("%sfiles[%d]", prefix, j)
				if remoteRef(f) {
					return nil, c.remote(field, f)
				}
				if _, p, ok := strings.Cut(f, "="); ok { // key=path
					f = p
				}
				add(field, f)
			}
			for j, e := range g.EnvSources {
				add(fmt.Sprintf("%senvs[%d]", prefix, j), e)
			}
			add(prefix+"env", g.EnvSource)
		}
	}
	return files, nil
}

// pluginRefs checks generators, transformers and validators: inline configurations, files holding
// configurations, or directories whose kustomization produces them.
func (w *kustWalker) pluginRefs(c refChecker, k *types.Kustomization) error {
	for _, group := range []fieldRefs{{"generators", k.Generators}, {"transformers", k.Transformers}, {"validators", k.Validators}} {
		for i, g := range group.refs {
			field := fmt.Sprintf("%s[%d]", group.field, i)
			if inlineYAML(g) {
				if err := c.pluginConfig(c.kfile+": "+field, []byte(g)); err != nil {
					return err
				}
				continue
			}
			isDir, err := c.local(field, g)
			if err != nil {
				return err
			}
			if isDir {
				err = w.dir(c.join(g), true)
			} else {
				err = c.pluginFile(c.join(g))
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// fieldRef is one reference of a kustomization and the field it is in.
type fieldRef struct{ field, ref string }

// fieldRefs is a list field of a kustomization.
type fieldRefs struct {
	field string
	refs  []string
}

// configMapArgs returns the generator arguments of configMapGenerator entries.
func configMapArgs(args []types.ConfigMapArgs) []types.GeneratorArgs {
	out := make([]types.GeneratorArgs, len(args))
	for i, a := range args {
		out[i] = a.GeneratorArgs
	}
	return out
}

// secretArgs returns the generator arguments of secretGenerator entries.
func secretArgs(args []types.SecretArgs) []types.GeneratorArgs {
	out := make([]types.GeneratorArgs, len(args))
	for i, a := range args {
		out[i] = a.GeneratorArgs
	}
	return out
}

// inlineYAML reports whether an entry of generators, transformers, validators or
// patchesStrategicMerge is the YAML of a configuration or patch rather than a path.
func inlineYAML(s string) bool {
	t := strings.TrimSpace(s)
	if strings.Contains(t, "\n") || strings.HasPrefix(t, "{") {
		return true
	}
	var n yaml.Node
	return yaml.Unmarshal([]byte(t), &n) == nil && len(n.Content) > 0 && n.Content[0].Kind == yaml.MappingNode
}

// refChecker checks the references of one kustomization file.
type refChecker struct {
	dir   string // the kustomization's directory, which references are relative to
	kfile string // the kustomization file, for messages
}

// local checks that a reference is an existing local file or directory that kustomize will not
// take for a URL or a git repository, and reports whether it is a directory.
func (c refChecker) local(field, ref string) (isDir bool, err error) {
	if remoteRef(ref) {
		return false, c.remote(field, ref)
	}
	st, err := os.Stat(c.join(ref))
	if err != nil {
		if hostRepoPath.MatchString(ref) {
			return false, c.remote(field, ref)
		}
		return false, inputErrorf("%s: %s: %q is not a local file or directory (-k reads only local files; remote resources are never fetched)", c.kfile, field, ref)
	}
	return st.IsDir(), nil
}

// join returns the path of a reference relative to the kustomization.
func (c refChecker) join(ref string) string {
	if filepath.IsAbs(ref) {
		return ref
	}
	return filepath.Join(c.dir, ref)
}

// remote is the error for a reference to something on the network.
func (c refChecker) remote(field, ref string) error {
	return inputErrorf("%s: %s: remote resource %q is not fetched (svc-doctor never uses the network); vendor it into the repository, or render the kustomization elsewhere and lint the output with -f -", c.kfile, field, ref)
}

// noURLs refuses a file that contains a URL anywhere.
func noURLs(where string, data []byte) error {
	i := bytes.Index(data, []byte("://"))
	if i < 0 {
		return nil
	}
	line := 1 + bytes.Count(data[:i], []byte("\n"))
	return inputErrorf("%s:%d: a URL in a kustomization that configures generators or transformers could make kustomize fetch it (svc-doctor never uses the network); vendor what it names into the repository", where, line)
}

// pluginFile checks a file of generator, transformer or validator configurations.
func (c refChecker) pluginFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return &InputError{err}
	}
	return c.pluginConfig(path, data)
}

// pluginPathKeys are the fields of kustomize's builtin generators and transformers that name a
// file to load (PatchTransformer path, PatchStrategicMergeTransformer paths, ConfigMapGenerator
// files/envs/env, ReplacementTransformer replacements[].path, ValueAddTransformer
// targetFilePath, Helm values files).
var pluginPathKeys = map[string]bool{
	"path": true, "paths": true, "files": true, "envs": true, "env": true, "targetFilePath": true,
	"valuesFile": true, "additionalValuesFiles": true, "chartHome": true, "configHome": true, "repo": true,
}

// pluginConfig checks generator, transformer or validator configurations (a YAML stream) for
// references to the network, and refuses the Helm generator.
func (c refChecker) pluginConfig(where string, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return inputErrorf("%s: cannot be read to check it for remote references: %v", where, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if kind, _ := scalarAt(root, "kind"); kind == "HelmChartInflationGenerator" {
			return inputErrorf("%s: HelmChartInflationGenerator: Helm charts need the helm binary and the network; render them with `helm template ... | kubectl svc-doctor lint -f -` instead", where)
		}
		if ref, field := remoteInConfig(root, "", 0); ref != "" {
			return inputErrorf("%s: %s: remote resource %q is not fetched (svc-doctor never uses the network); vendor it into the repository", where, field, ref)
		}
	}
}

// remoteInConfig returns the first value of a pluginPathKeys field under n that is remote, and
// the field's path.
func remoteInConfig(n *yaml.Node, path string, depth int) (ref, field string) {
	if n == nil || depth > 100 {
		return "", ""
	}
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, e := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			if ref, field := remoteInConfig(e, p, depth+1); ref != "" {
				return ref, field
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinPath(path, k.Value)
			if pluginPathKeys[k.Value] {
				vals := []*yaml.Node{v}
				if v.Kind == yaml.SequenceNode {
					vals = v.Content
				}
				for j, e := range vals {
					if e.Kind == yaml.ScalarNode && remoteRef(e.Value) {
						if v.Kind == yaml.SequenceNode {
							p = fmt.Sprintf("%s[%d]", p, j)
						}
						return e.Value, p
					}
				}
			}
			if ref, field := remoteInConfig(v, p, depth+1); ref != "" {
				return ref, field
			}
		}
	}
	return "", ""
}

// scpLike matches git's scp-like syntax, user@host:path.
var scpLike = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]*@[^/:\s]+:`)

// hostRepoPath matches host.tld/org/repo: a reference that does not exist locally and looks like
// a repository on a git host is reported as remote.
var hostRepoPath = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(:[0-9]+)?/[^/]+/[^/]+`)

// remoteRef reports whether kustomize would fetch a reference from the network (or clone it with
// git): a URL, anything kustomize's own parser takes for a git repository, git's scp-like
// user@host:path, or go-getter's git:: prefix.
func remoteRef(ref string) bool {
	r := strings.TrimSpace(ref)
	if strings.Contains(r, "://") || scpLike.MatchString(r) || strings.HasPrefix(strings.ToLower(r), "git::") {
		return true
	}
	return kustomizeGitRepo(r)
}

// kustomizeGitRepo reports whether kustomize's loader takes ref for a git repository to clone. Its
// parser (git.NewRepoSpecFromURL) is internal; resource.Origin.Append calls it and fills Repo
// exactly when it accepts the reference, without touching the network.
func kustomizeGitRepo(ref string) (repo bool) {
	defer func() {
		if recover() != nil {
			repo = true // a reference the parser chokes on is not one to hand to kustomize
		}
	}()
	return (&resource.Origin{}).Append(ref).Repo != ""
}
