package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
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
