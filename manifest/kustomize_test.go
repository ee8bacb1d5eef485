package manifest

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// netTrap counts what a kustomize build tries to fetch: requests to a loopback HTTP server, and
// runs of a fake git that only records its arguments (PATH holds nothing else, so no real git
// can run).
type netTrap struct {
	url      string // base URL of the loopback server
	hostPort string
	requests atomic.Int64
	gitLog   string
}

// newNetTrap starts the server and puts the fake git on PATH for the test.
func newNetTrap(t *testing.T) *netTrap {
	t.Helper()
	trap := &netTrap{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trap.requests.Add(1)
		w.Write([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: fetched}\n"))
	}))
	t.Cleanup(srv.Close)
	trap.url = srv.URL
	trap.hostPort = strings.TrimPrefix(srv.URL, "http://")
	bin := t.TempDir()
	trap.gitLog = filepath.Join(bin, "git.log")
	script := "#!/bin/sh\necho \"$@\" >> '" + trap.gitLog + "'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	return trap
}

// gitRuns returns the recorded git invocations.
func (trap *netTrap) gitRuns() []string {
	data, _ := os.ReadFile(trap.gitLog)
	return strings.Fields(strings.ReplaceAll(string(data), " ", "_"))
}

// expand replaces {URL} and {HOST} in s with the trap's address.
func (trap *netTrap) expand(s string) string {
	return strings.NewReplacer("{URL}", trap.url, "{HOST}", trap.hostPort).Replace(s)
}

// writeTree writes files (path relative to dir: content) below dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const testService = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80}]\n"

func TestLoadKustomizeRefusesRemote(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string // below the kustomization directory; {URL} and {HOST} are the trap's
		wantFile  string            // kustomization file named by the error, relative to the directory
		wantField string            // field named by the error
		wantMsg   string
	}{
		{
			name:      "resources: GitHub repository without a scheme, any case",
			files:     map[string]string{"kustomization.yaml": "resources: [GitHub.com/org/repo]\n"},
			wantFile:  "kustomization.yaml",
			wantField: "resources[0]",
			wantMsg:   "remote resource",
		},
		{
			name:      "resources: Azure DevOps scp-like URL",
			files:     map[string]string{"kustomization.yaml": "resources:\n- svc.yaml\n- org@ssh.dev.azure.com:v3/org/proj/repo\n", "svc.yaml": testService},
			wantFile:  "kustomization.yaml",
			wantField: "resources[1]",
			wantMsg:   "remote resource",
		},
		{
			name:      "resources: github scp-like URL without user",
			files:     map[string]string{"kustomization.yaml": "resources: ['github.com:org/repo']\n"},
			wantFile:  "kustomization.yaml",
			wantField: "resources[0]",
		},
		{
			name:      "resources: git over HTTP with ref",
			files:     map[string]string{"kustomization.yaml": "resources: ['{URL}/org/repo//base?ref=v1']\n"},
			wantFile:  "kustomization.yaml",
			wantField: "resources[0]",
		},
		{
			name:      "resources: go-getter git:: prefix",
			files:     map[string]string{"kustomization.yaml": "resources: ['git::{URL}/org/repo']\n"},
			wantFile:  "kustomization.yaml",
			wantField: "resources[0]",
		},
		{
			name:      "resources: ssh URL",
			files:     map[string]string{"kustomization.yaml": "resources: ['ssh://git@{HOST}/org/repo.git']\n"},
			wantFile:  "kustomization.yaml",
			wantField: "resources[0]",
		},
		{
			name:      "resources: file URL of a local repository (still runs git)",
			files:     map[string]string{"kustomization.yaml": "resources: ['file:///tmp/repo.git']\n"},
			wantFile:  "kustomization.yaml",
			wantField: "resources[0]",
		},
		{
			name:      "resources: a file over HTTP",
			files:     map[string]string{"kustomization.yaml": "resources: ['{URL}/svc.yaml']\n"},
			wantFile:  "kustomization.yaml",
			wantField: "resources[0]",
		},
		{
			name:      "resources: a local directory named like a GitHub repository is cloned by kustomize",
			files:     map[string]string{"kustomization.yaml": "resources: [github.com/org/repo]\n", "github.com/org/repo/kustomization.yaml": "resources: []\n"},
			wantFile:  "kustomization.yaml",
			wantField: "resources[0]",
			wantMsg:   "remote resource",
		},
		{
			name:      "bases: host.tld/org/repo that does not exist locally",
			files:     map[string]string{"kustomization.yaml": "bases: [gitlab.example.com/org/repo]\n"},
			wantFile:  "kustomization.yaml",
			wantField: "bases[0]",
			wantMsg:   "remote resource",
		},
		{
			name:      "resources: a path that does not exist",
			files:     map[string]string{"kustomization.yaml": "resources: [missing.yaml]\n"},
			wantFile:  "kustomization.yaml",
			wantField: "resources[0]",
			wantMsg:   "is not a local file or directory",
		},
		{
			name:      "components: URL",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\ncomponents: ['{URL}/org/repo/comp']\n", "svc.yaml": testService},
			wantFile:  "kustomization.yaml",
			wantField: "components[0]",
		},
		{
			name:      "patches: path is a URL",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\npatches:\n- patch: |-\n    - op: add\n      path: /metadata/labels\n      value: {a: b}\n  target: {kind: Service}\n- path: '{URL}/patch.yaml'\n", "svc.yaml": testService},
			wantFile:  "kustomization.yaml",
			wantField: "patches[1].path",
		},
		{
			name:      "patchesStrategicMerge: URL",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\npatchesStrategicMerge: ['{URL}/psm.yaml']\n", "svc.yaml": testService},
			wantFile:  "kustomization.yaml",
			wantField: "patchesStrategicMerge[0]",
		},
		{
			name:      "patchesJson6902: path is a URL",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\npatchesJson6902:\n- target: {version: v1, kind: Service, name: web}\n  path: '{URL}/json.yaml'\n", "svc.yaml": testService},
			wantFile:  "kustomization.yaml",
			wantField: "patchesJson6902[0].path",
		},
		{
			name:      "configurations: URL",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\nconfigurations: ['{URL}/config.yaml']\n", "svc.yaml": testService},
			wantFile:  "kustomization.yaml",
			wantField: "configurations[0]",
		},
		{
			name:      "crds: URL",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\ncrds: ['{URL}/crd.json']\n", "svc.yaml": testService},
			wantFile:  "kustomization.yaml",
			wantField: "crds[0]",
		},
		{
			name:      "openapi: path is a URL",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\nopenapi:\n  path: '{URL}/schema.json'\n", "svc.yaml": testService},
			wantFile:  "kustomization.yaml",
			wantField: "openapi.path",
		},
		{
			name:      "replacements: path is a URL",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\nreplacements:\n- path: '{URL}/replacement.yaml'\n", "svc.yaml": testService},
			wantFile:  "kustomization.yaml",
			wantField: "replacements[0].path",
		},
		{
			name:      "configMapGenerator: files with a key",
			files:     map[string]string{"kustomization.yaml": "configMapGenerator:\n- name: c\n  files: ['conf={URL}/conf.txt']\n"},
			wantFile:  "kustomization.yaml",
			wantField: "configMapGenerator[0].files[0]",
		},
		{
			name:      "configMapGenerator: envs",
			files:     map[string]string{"kustomization.yaml": "configMapGenerator:\n- name: c\n  envs: ['{URL}/app.env']\n"},
			wantFile:  "kustomization.yaml",
			wantField: "configMapGenerator[0].envs[0]",
		},
		{
			name:      "secretGenerator: env",
			files:     map[string]string{"kustomization.yaml": "secretGenerator:\n- name: s\n  env: '{URL}/app.env'\n"},
			wantFile:  "kustomization.yaml",
			wantField: "secretGenerator[0].env",
		},
		{
			name:      "generators: URL",
			files:     map[string]string{"kustomization.yaml": "generators: ['{URL}/gen.yaml']\n"},
			wantFile:  "kustomization.yaml",
			wantField: "generators[0]",
		},
		{
			name:      "transformers: URL",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\ntransformers: ['{URL}/org/repo']\n", "svc.yaml": testService},
			wantFile:  "kustomization.yaml",
			wantField: "transformers[0]",
		},
		{
			name:      "validators: URL",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\nvalidators: ['{URL}/validator.yaml']\n", "svc.yaml": testService},
			wantFile:  "kustomization.yaml",
			wantField: "validators[0]",
		},
		{
			name:      "transformers: a local file whose PatchTransformer loads a URL",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\ntransformers: [patch.yaml]\n", "svc.yaml": testService, "patch.yaml": "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: '{URL}/patch.yaml'\ntarget: {kind: Service}\n"},
			wantFile:  "patch.yaml",
			wantField: "path",
		},
		{
			name:      "transformers: an inline ReplacementTransformer that loads a URL",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: ReplacementTransformer\n  metadata: {name: r}\n  replacements:\n  - path: '{URL}/r.yaml'\n", "svc.yaml": testService},
			wantFile:  "kustomization.yaml",
			wantField: "replacements[0].path",
		},
		{
			name:      "generators: a local directory whose resources are ConfigMapGenerators reading a URL",
			files:     map[string]string{"kustomization.yaml": "generators: [gens]\n", "gens/kustomization.yaml": "resources: [cm.yaml]\n", "gens/cm.yaml": "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: c}\nfiles: ['{URL}/conf.txt']\n"},
			wantFile:  "gens/cm.yaml",
			wantField: "files[0]",
		},
		{
			name: "transformers: a local directory whose patch writes a URL into a PatchTransformer",
			files: map[string]string{
				"kustomization.yaml":       "resources: [svc.yaml]\ntransformers: [trans]\n",
				"svc.yaml":                 testService,
				"trans/kustomization.yaml": "resources: [pt.yaml]\npatches:\n- target: {kind: PatchTransformer}\n  patch: '[{\"op\": \"replace\", \"path\": \"/path\", \"value\": \"{URL}/p.yaml\"}]'\n",
				"trans/pt.yaml":            "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: local.yaml\ntarget: {kind: Service}\n",
			},
			wantFile:  "trans/kustomization.yaml:4",
			wantField: "a URL in a kustomization that configures generators or transformers",
		},
		{
			name:      "generators: an inline HelmChartInflationGenerator",
			files:     map[string]string{"kustomization.yaml": "generators:\n- |\n  apiVersion: builtin\n  kind: HelmChartInflationGenerator\n  metadata: {name: h}\n  name: chart\n"},
			wantFile:  "kustomization.yaml",
			wantField: "HelmChartInflationGenerator",
			wantMsg:   "helm template",
		},
		{
			name:      "helmCharts are refused entirely",
			files:     map[string]string{"kustomization.yaml": "helmCharts:\n- name: minecraft\n  repo: '{URL}/charts'\n  version: 3.1.3\n"},
			wantFile:  "kustomization.yaml",
			wantField: "helmCharts",
			wantMsg:   "helm template ... | kubectl svc-doctor lint -f -",
		},
		{
			name:      "helmChartInflationGenerator is refused entirely",
			files:     map[string]string{"kustomization.yaml": "helmChartInflationGenerator:\n- chartName: minecraft\n  chartRepoUrl: '{URL}/charts'\n"},
			wantFile:  "kustomization.yaml",
			wantField: "helmChartInflationGenerator",
			wantMsg:   "helm template",
		},
		{
			name:      "helmGlobals: chartHome is a URL",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\nhelmGlobals:\n  chartHome: '{URL}/charts'\n", "svc.yaml": testService},
			wantFile:  "kustomization.yaml",
			wantField: "helmGlobals.chartHome",
		},
		{
			name:      "helmGlobals: configHome is a URL",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\nhelmGlobals:\n  configHome: '{URL}/helm'\n", "svc.yaml": testService},
			wantFile:  "kustomization.yaml",
			wantField: "helmGlobals.configHome",
			wantMsg:   "helm template",
		},
		{
			name:      "helmGlobals: configHome is a local directory, refused like any Helm use",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\nhelmGlobals:\n  configHome: helm-config\n", "svc.yaml": testService, "helm-config/repositories.yaml": "repositories: []\n"},
			wantFile:  "kustomization.yaml",
			wantField: "helmGlobals.configHome",
			wantMsg:   "helm template",
		},
		{
			name:      "helmGlobals: chartHome is a local directory",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\nhelmGlobals:\n  chartHome: charts\n", "svc.yaml": testService, "charts/web/Chart.yaml": "name: web\n"},
			wantFile:  "kustomization.yaml",
			wantField: "helmGlobals.chartHome",
			wantMsg:   "helm template",
		},
		{
			name:      "a local base two levels down references a remote",
			files:     map[string]string{"kustomization.yaml": "resources: [overlays/prod]\n", "overlays/prod/kustomization.yaml": "resources: [../../base]\n", "base/kustomization.yaml": "resources:\n- svc.yaml\n- https://github.com/org/repo//base?ref=v1\n", "base/svc.yaml": testService},
			wantFile:  "base/kustomization.yaml",
			wantField: "resources[1]",
		},
		{
			name:      "a local component patches from a URL",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\ncomponents: [comp]\n", "svc.yaml": testService, "comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- path: '{URL}/p.yaml'\n"},
			wantFile:  "comp/kustomization.yaml",
			wantField: "patches[0].path",
		},
		{
			name:      "a remote in a second kustomization file of the same directory",
			files:     map[string]string{"kustomization.yaml": "resources: [svc.yaml]\n", "svc.yaml": testService, "Kustomization": "resources: ['{URL}/svc.yaml']\n"},
			wantFile:  "Kustomization",
			wantField: "resources[0]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trap := newNetTrap(t)
			dir := t.TempDir()
			files := map[string]string{}
			for name, content := range tt.files {
				files[name] = trap.expand(content)
			}
			writeTree(t, dir, files)
			_, err := LoadKustomize(dir)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("LoadKustomize = %v, want an InputError (exit code 2)", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, filepath.Join(dir, tt.wantFile)+":") || !strings.Contains(msg, tt.wantField) || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("error %q does not name %s, field %q and %q", msg, tt.wantFile, tt.wantField, tt.wantMsg)
			}
			if n := trap.requests.Load(); n != 0 {
				t.Errorf("%d HTTP requests were made", n)
			}
			if runs := trap.gitRuns(); len(runs) != 0 {
				t.Errorf("git was run: %v", runs)
			}
		})
	}
}

func TestLoadKustomizeRefusesRemoteRoot(t *testing.T) {
	tests := []struct {
		name string
		dir  string
	}{
		{name: "GitHub repository", dir: "github.com/org/repo//base?ref=v1"},
		{name: "https URL", dir: "https://example.com/org/repo"},
		{name: "scp-like URL", dir: "git@example.com:org/repo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trap := newNetTrap(t)
			_, err := LoadKustomize(tt.dir)
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), "remote kustomization is not fetched") {
				t.Errorf("LoadKustomize(%q) = %v, want an InputError refusing the remote", tt.dir, err)
			}
			if n, runs := trap.requests.Load(), trap.gitRuns(); n != 0 || len(runs) != 0 {
				t.Errorf("%d HTTP requests, git runs %v", n, runs)
			}
		})
	}
}

// TestLoadKustomizeLocal: everything that references local files still renders, without the
// network, and the environment is restored afterwards.
func TestLoadKustomizeLocal(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		wantObjs []string // kind/name
	}{
		{
			name: "overlay, base, component, patches, generators and transformers from local files",
			files: map[string]string{
				"kustomization.yaml": "resources: [../base]\ncomponents: [comp]\nnamePrefix: prod-\n" +
					"patches:\n- path: patch.yaml\n- patch: |-\n    - op: add\n      path: /metadata/annotations\n      value: {docs: 'https://example.com/docs'}\n  target: {kind: Service}\n" +
					"patchesStrategicMerge:\n- |\n  apiVersion: v1\n  kind: Service\n  metadata: {name: web, labels: {tier: front}}\n" +
					"configMapGenerator:\n- name: conf\n  files: [app=conf.txt]\n  envs: [app.env]\n" +
					"replacements:\n- path: replacement.yaml\n" +
					"transformers: [labels.yaml]\n" +
					"commonAnnotations: {source: 'https://github.com/org/repo'}\n",
				"patch.yaml":                 "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: NodePort\n",
				"conf.txt":                   "x=1\n",
				"app.env":                    "MODE=prod\n",
				"replacement.yaml":           "source: {kind: ConfigMap, name: conf, fieldPath: metadata.name}\ntargets:\n- select: {kind: Service}\n  fieldPaths: [metadata.annotations.conf]\n  options: {create: true}\n",
				"labels.yaml":                "apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: l}\nlabels: {team: web}\nfieldSpecs:\n- path: metadata/labels\n  create: true\n",
				"comp/kustomization.yaml":    "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [pod.yaml]\n",
				"comp/pod.yaml":              "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: nginx}]\n",
				"../base/kustomization.yaml": "resources: [svc.yaml]\n",
				"../base/svc.yaml":           testService,
			},
			wantObjs: []string{"ConfigMap/prod-conf-", "Service/prod-web", "Pod/prod-p"},
		},
		{
			name: "generators from a local directory and an inline transformer",
			files: map[string]string{
				"kustomization.yaml":      "resources: [svc.yaml]\ngenerators: [gens]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: AnnotationsTransformer\n  metadata: {name: a}\n  annotations: {docs: 'https://example.com/docs'}\n  fieldSpecs: [{path: metadata/annotations, create: true}]\n",
				"svc.yaml":                testService,
				"gens/kustomization.yaml": "resources: [cm.yaml]\n",
				"gens/cm.yaml":            "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: generated}\nliterals: [a=b]\n",
			},
			wantObjs: []string{"Service/web", "ConfigMap/generated-"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trap := newNetTrap(t)
			root := t.TempDir()
			dir := filepath.Join(root, "overlay")
			files := map[string]string{}
			for name, content := range tt.files {
				files[filepath.Join("overlay", name)] = content
			}
			writeTree(t, root, files)
			transport, path := http.DefaultTransport, os.Getenv("PATH")
			res, err := LoadKustomize(dir)
			if err != nil {
				t.Fatal(err)
			}
			var objs []string
			for _, o := range res.Objects {
				objs = append(objs, o.Kind+"/"+o.Name)
			}
			got := strings.Join(objs, ",")
			for _, want := range tt.wantObjs {
				if !strings.Contains(got, want) {
					t.Errorf("objects %v lack %s", objs, want)
				}
			}
			if http.DefaultTransport != transport || os.Getenv("PATH") != path {
				t.Error("the build did not restore http.DefaultTransport and PATH")
			}
			if n, runs := trap.requests.Load(), trap.gitRuns(); n != 0 || len(runs) != 0 {
				t.Errorf("%d HTTP requests, git runs %v", n, runs)
			}
		})
	}
}

// TestBuildOfflineCutsTheNetwork checks the second line of defence on its own: a kustomization
// that checkKustomization would refuse is handed straight to buildOffline, which must fail
// without any request or git run. The same build without the guard shows that the trap sees a
// fetch when one happens.
func TestBuildOfflineCutsTheNetwork(t *testing.T) {
	tests := []struct {
		name          string
		kustomization string
		wantFetch     string // what the unguarded build does: "http" or "git"
	}{
		{name: "resource file over HTTP", kustomization: "resources: ['{URL}/svc.yaml']\n", wantFetch: "http"},
		{name: "patch over HTTP", kustomization: "resources: [svc.yaml]\npatches:\n- path: '{URL}/patch.yaml'\n", wantFetch: "http"},
		{name: "configMapGenerator file over HTTP", kustomization: "configMapGenerator:\n- name: c\n  files: ['{URL}/conf.txt']\n", wantFetch: "http"},
		{name: "GitHub repository", kustomization: "resources: [GitHub.com/org/repo]\n", wantFetch: "git"},
		{name: "Azure DevOps scp-like URL", kustomization: "resources: ['org@ssh.dev.azure.com:v3/org/proj/repo']\n", wantFetch: "git"},
		{name: "git over HTTP (kustomize tries it as a file first)", kustomization: "resources: ['{URL}/org/repo.git//base']\n", wantFetch: "http"},
		{name: "component from git", kustomization: "resources: [svc.yaml]\ncomponents: ['git@example.com:org/repo']\n", wantFetch: "git"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trap := newNetTrap(t)
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{"kustomization.yaml": trap.expand(tt.kustomization), "svc.yaml": testService, "patch.yaml": testService})
			if _, err := buildOffline(dir, filesys.MakeFsOnDisk()); err == nil {
				t.Error("buildOffline succeeded, want an error")
			}
			if n, runs := trap.requests.Load(), trap.gitRuns(); n != 0 || len(runs) != 0 {
				t.Fatalf("guarded build: %d HTTP requests, git runs %v", n, runs)
			}
			// the control: kustomize alone does fetch (only from the loopback server and the fake git)
			opts := krusty.MakeDefaultOptions()
			opts.PluginConfig = types.DisabledPluginConfig()
			_, _ = krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
			switch n, runs := trap.requests.Load(), trap.gitRuns(); {
			case tt.wantFetch == "http" && n == 0:
				t.Error("the unguarded build made no HTTP request: the trap does not work")
			case tt.wantFetch == "git" && len(runs) == 0:
				t.Error("the unguarded build did not run git: the trap does not work")
			}
		})
	}
}

func TestRemoteRef(t *testing.T) {
	tests := []struct {
		ref  string
		want bool
	}{
		{ref: "GitHub.com/org/repo", want: true},
		{ref: "github.com:org/repo", want: true},
		{ref: "org@ssh.dev.azure.com:v3/org/proj/repo", want: true},
		{ref: "git@gitlab.com:org/repo.git", want: true},
		{ref: "https://dev.azure.com/org/proj/_git/repo", want: true},
		{ref: "git::https://example.com/org/repo", want: true},
		{ref: "HTTP://example.com/x.yaml", want: true},
		{ref: "../base", want: false},
		{ref: "svc.yaml", want: false},
		{ref: "overlays/prod", want: false},
		{ref: "base.v2/app/deploy.yaml", want: false},
		{ref: "/abs/path/base", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			if got := remoteRef(tt.ref); got != tt.want {
				t.Errorf("remoteRef(%q) = %v, want %v", tt.ref, got, tt.want)
			}
		})
	}
}

// TestKustomizeObjectsPointAtTheirFiles: the objects of a rendered kustomization point at the
// file and document they were read from (kustomize's origin tracking, turned on for the build and
// its annotations removed again), at the lines of their fields there; a generated object points
// at the generator in its kustomization; an object that cannot be told apart from another of its
// file points at the file only.
func TestKustomizeObjectsPointAtTheirFiles(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"base/kustomization.yaml":            "resources: [app.yaml]\n",
		"base/app.yaml":                      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n",
		"overlay/kustomization.yaml":         "namePrefix: prod-\nnamespace: shop\nresources: [../base]\nconfigMapGenerator:\n- name: settings\n  literals: [A=b]\n",
		"overlay/unrelated/readme.yaml":      "not: used\n",
		"overlay/../base/ignored.txt":        "",
		"overlay-origins/kustomization.yaml": "resources: [../base]\nbuildMetadata: [originAnnotations]\n",
	})
	res, err := LoadKustomize(filepath.Join(root, "overlay"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range res.Objects {
		line, _ := o.FieldLine("spec.ports[0].port")
		got[o.Kind+"/"+o.Name] = fmt.Sprintf("%s doc %d line %d port line %d", filepath.ToSlash(strings.TrimPrefix(o.File, root)), o.Doc, o.Line, line)
		if strings.Contains(string(o.JSON), "config.kubernetes.io/origin") {
			t.Errorf("%s/%s keeps the origin annotation svc-doctor asked for: %s", o.Kind, o.Name, o.JSON)
		}
	}
	want := map[string]string{
		"Service/prod-web":        "/base/app.yaml doc 2 line 5 port line 11",
		"ConfigMap/prod-other":    "/base/app.yaml doc 1 line 1 port line 1",
		"ConfigMap/prod-settings": "/overlay/kustomization.yaml doc 1 line 4 port line 4",
	}
	for k, w := range want {
		var g string
		for name, v := range got {
			if strings.HasPrefix(name, k) {
				g = v
			}
		}
		if g != w {
			t.Errorf("%s: %q, want %q", k, g, w)
		}
	}
	// a kustomization that asks for origin annotations keeps them
	res, err = LoadKustomize(filepath.Join(root, "overlay-origins"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) == 0 || !strings.Contains(string(res.Objects[0].JSON), "config.kubernetes.io/origin") {
		t.Errorf("the kustomization's own buildMetadata was dropped")
	}
}

func TestMatchSource(t *testing.T) {
	obj := func(kind, name, ns string) *Object { return &Object{Kind: kind, Name: name, Namespace: ns} }
	src := []*Object{obj("Service", "web", ""), obj("Service", "web-admin", ""), obj("Secret", "p", ""), obj("Secret", "r", ""),
		obj("ConfigMap", "a", ""), obj("Deployment", "api", "x"), obj("Deployment", "api", "y")}
	tests := []struct {
		name string
		o    *Object
		want int // index in src, -1 for none
	}{
		{name: "same name", o: obj("Service", "web", "shop"), want: 0},
		{name: "prefixed: the longest contained name", o: obj("Service", "prod-web-admin", "shop"), want: 1},
		{name: "two names contained equally: ambiguous", o: obj("Secret", "prod-p", ""), want: -1},
		{name: "the only object of its kind, renamed", o: obj("ConfigMap", "settings", ""), want: 4},
		{name: "same name, the namespace decides", o: obj("Deployment", "api", "y"), want: 6},
		{name: "same name in two namespaces, neither kept: ambiguous", o: obj("Deployment", "api", "z"), want: -1},
		{name: "no object of the kind", o: obj("Ingress", "web", ""), want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := matchSource(src, tt.o)
			want := (*Object)(nil)
			if tt.want >= 0 {
				want = src[tt.want]
			}
			if got != want {
				t.Errorf("matchSource = %+v, want %+v", got, want)
			}
		})
	}
}
