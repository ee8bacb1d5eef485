package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// LoadKustomize renders the kustomization in dir in memory (as `kustomize build dir` would, with
// plugins and Helm disabled) and parses the result. lint never uses the network: before anything
// is rendered, every kustomization reachable from dir is checked (checkKustomization), and a
// reference that is not a local file or directory is refused with an InputError; the build
// itself then runs with git and HTTP cut off (buildOffline). Objects point into the files they
// came from where kustomize's origin tracking tells (see renderKustomize), else into the
// rendered stream, named "<kustomize DIR>".
func LoadKustomize(dir string) (*Result, error) {
	return LoadInputs(nil, Options{}, dir)
}

// kustOutput is a rendered kustomization.
type kustOutput struct {
	name    string // "<kustomize DIR>"
	data    []byte
	origins *originMap
}

// renderKustomize checks and renders the kustomization in dir. The build runs with kustomize's
// origin tracking turned on (buildMetadata: [originAnnotations] is added to the root
// kustomization as it is read, see originFS), so that each rendered object can be mapped back to
// the file it came from; the annotations are then removed again unless the kustomization asked
// for them itself.
func renderKustomize(dir string) (*kustOutput, error) {
	if err := checkKustomization(dir); err != nil {
		return nil, err
	}
	// an absolute path is never taken for a git URL by kustomize's loader
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, &InputError{err}
	}
	fsys := &originFS{FileSystem: filesys.MakeFsOnDisk(), root: resolved(abs)}
	m, err := buildOffline(abs, fsys)
	if err != nil {
		return nil, &InputError{fmt.Errorf("kustomize build %s: %w", dir, err)}
	}
	origins := &originMap{dir: dir, byDoc: map[int]resource.Origin{}, files: map[string][]*Object{}}
	for i, r := range m.Resources() {
		if o, err := r.GetOrigin(); err == nil && o != nil {
			origins.byDoc[i+1] = *o
		}
	}
	if !fsys.userOrigins {
		if err := m.RemoveOriginAnnotations(); err != nil {
			return nil, &InputError{fmt.Errorf("kustomize build %s: %w", dir, err)}
		}
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, &InputError{fmt.Errorf("kustomize build %s: %w", dir, err)}
	}
	return &kustOutput{name: "<kustomize " + dir + ">", data: out, origins: origins}, nil
}

// resolved returns path with symbolic links resolved, or path when that fails.
func resolved(path string) string {
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	return path
}

// originFS is the file system kustomize reads from, with one change: the root kustomization is
// read with buildMetadata: [originAnnotations], which makes kustomize record in each object the
// path of the file it was read from (config.kubernetes.io/origin). userOrigins reports whether
// the kustomization asked for them itself.
type originFS struct {
	filesys.FileSystem
	root        string
	userOrigins bool
}

// ReadFile reads a file, adding the build metadata to the root kustomization.
func (f *originFS) ReadFile(path string) ([]byte, error) {
	data, err := f.FileSystem.ReadFile(path)
	if err != nil || !slices.Contains(kustomizationNames, filepath.Base(path)) || resolved(filepath.Dir(path)) != f.root {
		return data, err
	}
	out, had, ok := withOriginAnnotations(data)
	if !ok {
		return data, nil // kustomize reports what is wrong with the file
	}
	f.userOrigins = f.userOrigins || had
	return out, nil
}

// withOriginAnnotations adds originAnnotations to the buildMetadata of a kustomization file.
func withOriginAnnotations(data []byte) (out []byte, had, ok bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false, false
	}
	root := doc.Content[0]
	bm := lookupKey(root, "buildMetadata")
	switch {
	case bm == nil:
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "buildMetadata"},
			&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: types.OriginAnnotations}}})
	case bm.Kind == yaml.SequenceNode:
		for _, v := range bm.Content {
			if v.Value == types.OriginAnnotations {
				return data, true, true
			}
		}
		bm.Content = append(bm.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: types.OriginAnnotations})
	default:
		return nil, false, false
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, false, false
	}
	return out, false, true
}

// originMap maps the documents of a rendered kustomization (by index) to where kustomize read
// them, and objects to their document in that file.
type originMap struct {
	dir   string
	byDoc map[int]resource.Origin
	mu    sync.Mutex
	files map[string][]*Object // objects of the source files read so far
}

// locate points an object of rendered document doc at its source: the document of the file it
// was read from that defines it (same kind; the same name, or the longest name contained in the
// rendered one, which a namePrefix or nameSuffix extends), whose text the lines of its fields then
// come from. An object that cannot be told apart from others of its file points at the file
// without a line; an object a generator made points at the kustomization file that configures
// it. Objects without an origin (none is known to kustomize) keep their place in the rendered
// stream.
func (m *originMap) locate(doc int, o *Object) {
	or, ok := m.byDoc[doc]
	if !ok || or.Repo != "" {
		return
	}
	switch {
	case or.Path != "":
		file := filepath.Join(m.dir, or.Path)
		src := m.sourceObjects(file)
		if c := matchSource(src, o); c != nil {
			o.File, o.Doc, o.Item, o.Line = c.File, c.Doc, c.Item, c.Line
			o.pos = &position{text: c.text, textLine: c.textLine, item: c.item}
			if c.pos != nil {
				o.pos = c.pos
			}
			return
		}
		o.File, o.Doc, o.Item, o.Line, o.pos = file, 0, 0, 0, &position{item: -1}
	case or.ConfiguredIn != "":
		file := filepath.Join(m.dir, or.ConfiguredIn)
		o.File, o.Doc, o.Item, o.Line, o.pos = file, 1, 0, generatorLine(file, or.ConfiguredBy.Kind), &position{item: -1}
	}
}

// sourceObjects parses a source file once.
func (m *originMap) sourceObjects(file string) []*Object {
	m.mu.Lock()
	defer m.mu.Unlock()
	if objs, ok := m.files[file]; ok {
		return objs
	}
	var objs []*Object
	if data, err := os.ReadFile(file); err == nil {
		objs = Parse(file, data).Objects
	}
	m.files[file] = objs
	return objs
}

// matchSource finds the object of a source file that a rendered object came from.
func matchSource(src []*Object, o *Object) *Object {
	var best, sole *Object
	bestScore, tie, sameKind := -1, false, 0
	for _, c := range src {
		if c.Kind != o.Kind {
			continue
		}
		sameKind++
		sole = c
		score := -1
		switch {
		case c.Name == o.Name && c.Namespace == o.Namespace:
			score = 1 << 21
		case c.Name == o.Name:
			score = 1 << 20
		case c.Name != "" && strings.Contains(o.Name, c.Name):
			score = len(c.Name)
		}
		switch {
		case score < 0:
		case score > bestScore:
			best, bestScore, tie = c, score, false
		case score == bestScore:
			tie = true
		}
	}
	switch {
	case best == nil && sameKind == 1:
		return sole // no name matches (a replacement renamed it): the sole object of the kind is it
	case best == nil || tie:
		return nil
	}
	return best
}

// generatorLine returns the line of the generator field that makes objects of kind in a
// kustomization file (configMapGenerator for ConfigMapGenerator), 0 when not found.
func generatorLine(file, kind string) int {
	data, err := os.ReadFile(file)
	if err != nil || kind == "" {
		return 0
	}
	key := strings.ToLower(kind[:1]) + kind[1:] + ":"
	for i, l := range bytes.Split(data, []byte("\n")) {
		if bytes.HasPrefix(l, []byte(key)) {
			return i + 1
		}
	}
	return 0
}

// buildMu serialises kustomize builds: buildOffline changes process-wide state while one runs.
var buildMu sync.Mutex

// errOffline is what an HTTP request made during a kustomize build fails with.
var errOffline = errors.New("svc-doctor never uses the network: remote kustomize resources are not fetched")

// offlineTransport refuses every request.
type offlineTransport struct{}

// RoundTrip fails without sending anything.
func (offlineTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return nil, errOffline
}

// buildOffline runs kustomize on dir with the network cut off, as a second line behind
// checkKustomization. kustomize v0.21.2 offers no hook for this: krusty always builds its loader
// with a cloner that runs the git found on PATH, and fetches URLs with an http.Client that uses
// http.DefaultTransport, both private to its internal loader. So for the duration of the build,
// PATH is emptied (git cannot be found, so nothing is cloned) and http.DefaultTransport refuses
// every request. Both are process-wide: builds are serialised, and nothing else in the process
// may use the network or run programs meanwhile (the commands read their inputs before they do).
func buildOffline(dir string, fsys filesys.FileSystem) (resmap.ResMap, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	savedTransport := http.DefaultTransport
	savedPath, hadPath := os.LookupEnv("PATH")
	http.DefaultTransport = offlineTransport{}
	if err := os.Setenv("PATH", ""); err != nil {
		http.DefaultTransport = savedTransport
		return nil, err
	}
	defer func() {
		http.DefaultTransport = savedTransport
		if hadPath {
			_ = os.Setenv("PATH", savedPath)
		} else {
			_ = os.Unsetenv("PATH")
		}
	}()
	opts := krusty.MakeDefaultOptions()
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	return krusty.MakeKustomizer(opts).Run(fsys, dir)
}

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
	helm := "Helm charts need the helm binary and the network; render them with `helm template ... | kubectl svc-doctor lint -f -` instead"
	if len(k.HelmCharts) > 0 {
		return inputErrorf("%s: helmCharts: %s", kfile, helm)
	}
	if len(k.HelmChartInflationGenerator) > 0 {
		return inputErrorf("%s: helmChartInflationGenerator: %s", kfile, helm)
	}
	if g := k.HelmGlobals; g != nil {
		// only Helm reads these (charts, repositories and its configuration): refused like any
		// other Helm use, a local path as well as a URL
		for _, f := range []fieldRef{{"chartHome", g.ChartHome}, {"configHome", g.ConfigHome}} {
			if f.ref != "" {
				return inputErrorf("%s: helmGlobals.%s: %s", kfile, f.field, helm)
			}
		}
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
	// resources and bases: files, or directories holding a kustomization
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
	// files read as they are
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
					return c.remote(field, f)
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
	// generators, transformers and validators: inline configurations, files holding
	// configurations, or directories whose kustomization produces them
	for _, group := range []fieldRefs{{"generators", k.Generators}, {"transformers", k.Transformers}, {"validators", k.Validators}} {
		for i, g := range group.refs {
			field := fmt.Sprintf("%s[%d]", group.field, i)
			if inlineYAML(g) {
				if err := c.pluginConfig(kfile+": "+field, []byte(g)); err != nil {
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
